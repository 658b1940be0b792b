#!/bin/bash
# Set-up on Debian 12: installs the missing Debian packages (as root; otherwise prints what to
# install) and builds linmass into build/. (clang, libclang-rt-14-dev and libomp-dev build the
# fuzzers of scripts/fuzz.sh; valgrind runs tests/test_valgrind.sh.) Sourced by demo.sh and test.sh.
# With --test (test.sh) it also installs what only the tests need: pytest and PyTorch for the
# Python package's tests (tests/test_python.sh), so that demo.sh does not pull in PyTorch.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKAGES="build-essential cmake pkg-config libopenblas-dev libcjson-dev zlib1g-dev gnuplot-nox
dataset-fashion-mnist python3 python3-numpy libopenmpi-dev openmpi-bin
clang libclang-rt-14-dev libomp-dev valgrind"
TEST_PACKAGES="python3-pytest python3-torch"
[ "${1:-}" = --test ] && PACKAGES="$PACKAGES $TEST_PACKAGES"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "setup: installing$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    else
        echo "setup: please install these Debian packages first:" >&2
        echo "  sudo apt-get install$missing" >&2
        exit 1
    fi
fi

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs" 2>&1 | grep -E "error|warning" || true
test -x build/linmass
