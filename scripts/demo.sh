#!/bin/bash
# The README's first command: set up, build and run `linmass demo`. Extra arguments go to demo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec ./build/linmass demo "$@"
