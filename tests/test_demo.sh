#!/bin/bash
# ctest-labels: slow
# `linmass demo --quick`: the tour runs, prints where its report is, and writes the report with
# its three pictures (PNG and SVG only when gnuplot is installed) and the FCN run folders.
set -euo pipefail
bin=${LINMASS_BIN:-build/linmass}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
check() { # description command...
    local what=$1; shift
    if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $what"; fi
}
start=$(date +%s)
if ! "$bin" demo --quick --threads 2 --out "$dir/demo" >"$dir/out" 2>"$dir/err"; then
    echo "FAIL: linmass demo --quick exited non-zero"; cat "$dir/err"; exit 1
fi
secs=$(( $(date +%s) - start ))
echo "linmass demo --quick: ${secs} s"
check "prints where the report is" grep -q "report: $dir/demo/report.md" "$dir/out"
check "report.md" test -s "$dir/demo/report.md"
for section in "## 1\\." "## 2\\." "## 3\\." "## Timing"; do
    check "report section $section" grep -q "^$section" "$dir/demo/report.md"
done
for opt in sgd nesterov adam mass; do
    check "FCN run folder $opt" test -s "$dir/demo/fcn/$opt/metrics.jsonl"
done
# the three figures: scripts and data (and with gnuplot the PNG, its SVG and its place in the
# report); the Hessian sweep over several initialisations draws its band and the slope -1/2 as
# a dashed reference, the simulated means of the linear regression are points
source "$(dirname "$0")/figure_checks.sh"
check_figure "$dir/demo" hessian_width band,ref
check_figure "$dir/demo" mean_sq_error points
check_figure "$dir/demo" fcn_train_loss -
check_no_other_figures "$dir/demo/plots"
# --json: one object last on stdout, with the measured numbers of every part
"$bin" demo --quick --threads 2 --json --out "$dir/demo2" >"$dir/json" 2>/dev/null
check "--json object" /usr/bin/python3 -c '
import json, sys
o = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
assert o["report"].endswith("report.md")
for part in ("hessian", "linear_regression", "fcn"):
    assert "measured" in o[part], part
assert o["hessian"]["measured"]["linear_slope"] < o["hessian"]["measured"]["tanh_slope"]
' "$dir/json"
echo "demo: $pass passed, $fail failed"
[ $fail = 0 ]
