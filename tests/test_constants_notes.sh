#!/bin/bash
# ctest-labels: theory
# linmass constants says which batch size its hyper-parameters are for, and warns where the
# theory does not apply: data that are not interpolated (the least-squares floor, against numpy's
# lstsq on a small csv), mu/L below 1e-8, and a rate that rounds to 1; interpolated data and a
# well-conditioned population give no warning.
set -uo pipefail
bin=${LINMASS_BIN:-build/linmass}
py=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
"$py" -c "import numpy" 2>/dev/null || { echo "constants notes: SKIPPED (no numpy for $py)"; exit 77; }

"$bin" constants --data synth:linreg:n=200,d=8 >"$dir/out" 2>"$dir/err" || no "constants on synth:linreg failed"
grep -q "^batch m = 1 (--batch): the constants, steps and rates below are for mini-batches of 1; linmass train's" "$dir/out" &&
    grep -q "default --batch is 64" "$dir/out" && ok || { no "constants does not say its batch size"; cat "$dir/out"; }
[ ! -s "$dir/err" ] && ok || { no "warnings on interpolated, well-conditioned data:"; cat "$dir/err"; }
"$bin" constants --data synth:linreg:n=200,d=8 --batch 64 --json 2>/dev/null | "$py" -c '
import json, sys
o = json.load(sys.stdin)
assert o["batch"] == 64 and o["warnings"] == [] and o["ls_floor"] <= 1e-12 * o["ls_loss_at_zero"], o' && ok ||
    no "constants --json on interpolated data"

# 7 rows in R^2 whose targets no line through 0 fits (the last 20% is the test split: 6 train rows)
printf 'a,b,y\n1,0,1\n0,1,2\n1,1,2.5\n2,-1,0.25\n-1,3,6\n0.5,0.5,2\n9,9,9\n' >"$dir/d.csv"
"$bin" constants --data "csv:$dir/d.csv" --json >"$dir/json" 2>"$dir/err" || no "constants on the csv failed"
"$py" - "$dir/json" <<'PY' && ok || no "the least-squares floor of the csv"
import json, sys
import numpy as np
o = json.load(open(sys.argv[1]))
X = np.array([[1, 0], [0, 1], [1, 1], [2, -1], [-1, 3], [0.5, 0.5]], float)
y = np.array([1, 2, 2.5, 0.25, 6, 2], float)
w = np.linalg.lstsq(X, y, rcond=None)[0]
floor, zero = ((X @ w - y) ** 2).sum() / 12, (y ** 2).sum() / 12
assert abs(o["ls_floor"] - floor) <= 1e-12 * floor and abs(o["ls_loss_at_zero"] - zero) <= 1e-15 * zero, (o, floor, zero)
assert len(o["warnings"]) == 1 and o["warnings"][0].startswith("no interpolation"), o["warnings"]
print("constants: least-squares floor %.6g as numpy's lstsq" % floor)
PY
grep -q "^linmass constants: warning: no interpolation" "$dir/err" && ok || { no "no warning on stderr"; cat "$dir/err"; }

"$bin" constants --population gaussian:cond=1e9,d=4 >/dev/null 2>"$dir/err" || no "constants on the population failed"
grep -q "warning: mu/L = 1e-09 is below 1e-8" "$dir/err" && grep -q "warning: the SGD rate 1 - 1/kappa_m = 1 - 3.33e-10 rounds to 1" "$dir/err" &&
    ! grep -q "MaSS rate" "$dir/err" && ok || { no "the population with cond 1e9:"; cat "$dir/err"; }

echo "constants notes: $pass passed, $fail failed"
[ $fail = 0 ]
