#!/bin/bash
# The example program (examples/train_xor.c, built as example_train next to the linmass binary)
# trains XOR and exits 0 only when its final loss is small.
set -euo pipefail
exe="$(dirname "$LINMASS_BIN")/example_train"
[ -x "$exe" ] || { echo "example_train not found at $exe" >&2; exit 1; }
"$exe"
