#!/bin/bash
# The README's second command: set up, build, run every test, then run the suite again under
# AddressSanitizer and UndefinedBehaviorSanitizer (leaving out the tests labelled slow, and the
# Python package's, labelled python: python cannot load an ASan-built library without libasan
# preloaded), and in CI fuzz every parser for 30 s each (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh --test
jobs=$(nproc 2>/dev/null || echo 2)

echo "== tests (Release)"
(cd build && ctest --output-on-failure -j"$jobs")

echo "== tests under ASan + UBSan (slow and python tests left out)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLINMASS_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs" 2>&1 | grep -E "error|warning" || true
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j"$jobs" -LE 'slow|python')

# Fuzzing: every parser for 30 s under ASan + UBSan (about 3 minutes on two cores). In CI, or
# locally with LINMASS_FUZZ=1; scripts/fuzz.sh SECONDS runs it alone.
if [ "${CI:-}" = true ] || [ "${LINMASS_FUZZ:-0}" = 1 ]; then
    echo "== fuzz (30 s per target)"
    bash scripts/fuzz.sh 30
fi
