#!/bin/bash
# ctest-labels: python
# The Python package (python/linmass) over this build's liblinmass.so: python/tests with pytest
# (the torch tests skip without torch), then `pip install` of python/ into a temporary folder,
# offline, and an import of the installed copy. Exits 77 (skipped) without a python3 that has
# numpy and pytest, when every test skipped, and in a sanitizer build (an ASan-built library
# cannot be loaded into a python that was not started with libasan preloaded; scripts/test.sh's
# sanitizer pass also leaves out the label "python").
set -euo pipefail
bin=${LINMASS_BIN:-build/linmass}
if grep -q "^LINMASS_SANITIZE:BOOL=ON" "$(dirname "$bin")/CMakeCache.txt" 2>/dev/null; then
    echo "skipped: a sanitizer build's library does not load into python" >&2; exit 77
fi
export LINMASS_LIBRARY="$(cd "$(dirname "$bin")" && pwd)/liblinmass.so"
[ -f "$LINMASS_LIBRARY" ] || { echo "no $LINMASS_LIBRARY" >&2; exit 1; }
py=""
for cand in ${PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$cand" >/dev/null && "$cand" -c "import numpy, pytest" 2>/dev/null; then py=$cand; break; fi
done
[ -n "$py" ] || { echo "skipped: no python3 with numpy and pytest (apt-get install python3-numpy python3-pytest)" >&2; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PYTHONPATH="$PWD/python" PYTHONDONTWRITEBYTECODE=1
set +e
"$py" -m pytest -q -rs -p no:cacheprovider python/tests 2>&1 | tee "$tmp/out"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 0 ] || exit 1
summary=$(tail -n 1 "$tmp/out")
if ! grep -q " passed" <<<"$summary"; then echo "skipped: every test skipped" >&2; exit 77; fi

# pip install, offline (no build isolation: Debian's setuptools builds the wheel)
if "$py" -m pip --version >/dev/null 2>&1; then
    cp -r python "$tmp/src"
    "$py" -m pip install -q --no-build-isolation --no-deps --no-index --target "$tmp/site" "$tmp/src" 2>&1 |
        grep -v "WARNING: Running pip as the 'root' user" || true
    (cd "$tmp" && PYTHONPATH="$tmp/site" "$py" -c "
import linmass, numpy
assert linmass.__file__.startswith('$tmp/site'), linmass.__file__
m = linmass.Model('dense:3,tanh,dense:1', (2,))
assert linmass.ntk(m, numpy.eye(2)).shape == (2, 2)
print('pip install: ok,', linmass.__file__)")
else
    echo "pip install: not checked (no pip for $py)"
fi
