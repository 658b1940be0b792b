#!/bin/bash
# ctest-labels: slow
# Every claim of `linmass repro` in its quick setting: it runs, writes report.md, result.json and
# its plots, and its verdict is the expected one (from the science; a claim that is expected
# not to hold here is listed with false, and the report says why).
set -euo pipefail
bin=${LINMASS_BIN:-build/linmass}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
expect() { # claim expected-holds
    if ! "$bin" repro "$1" --quick --json --out "$dir" >"$dir/$1.json" 2>"$dir/$1.err"; then
        fail=$((fail+1)); echo "FAIL: linmass repro $1 --quick exited non-zero"; cat "$dir/$1.err"; return
    fi
    got=$(/usr/bin/python3 -c 'import json,sys; print(str(json.load(open(sys.argv[1]))["holds"]).lower())' "$dir/$1.json")
    if [ "$got" = "$2" ] && [ -s "$dir/$1/report.md" ] && [ -s "$dir/$1/result.json" ]; then pass=$((pass+1))
    else fail=$((fail+1)); echo "FAIL: $1: holds=$got, expected $2"; cat "$dir/$1.json"; fi
}
expect nesterov-diverges true
expect nesterov-no-acceleration true
expect mass-rate true
expect batch-regimes true
# the training claims in their quick settings (a few epochs on Fashion-MNIST subsets, narrow
# networks for the CNN and the ResNet), as measured: MaSS does not end ahead of the others there
# (the reports give the numbers and say that this disagrees with the paper). The kernel machine,
# trained in the RKHS (docs/theory.md §2.1), neither: Nesterov (gamma 0.9 at SGD's step 1/L_m)
# ends lowest, MaSS second (measured 5.7e-5 against 1.5e-4 after 30 epochs on 1000 points)
expect mass-vs-baselines-fcn false
expect kernel-regression false
expect mass-vs-baselines-cnn false
expect resnet false
# transition to linearity and PL* (science.md 4-5). nonlinear-output does not hold in the quick
# setting, as measured: the CNN with a tanh output still shows a falling ||H_f|| (slope about
# -0.38) because its output at initialization is tiny, so the O(1) term |tanh''(f~)| K(x,x) is
# about 0.03 against ||H_f|| of about 0.18 at 128 channels (the report gives the numbers)
expect hessian-scaling true
expect nonlinear-output false
expect bottleneck true
expect kernel-drift true
expect plstar-rate true
echo "repro: $pass passed, $fail failed"
[ $fail = 0 ]
