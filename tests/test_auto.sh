#!/bin/bash
# ctest-labels: optim theory
# --auto (docs/theory.md §2.2): on synth:linreg:n=500,d=20,cond=100 with batch 8, the linear model
# trained by MaSS and by SGD with hyper-parameters from the data converges in 20 epochs (the
# final train loss below 1e-6 of the initial one: the first logged step's batch loss at w0),
# MaSS ends below SGD, and config.json records the choice (sgd lr = 1/L_m; mass eta1 = 1/L_m
# with eta2 and gamma). A small Gaussian-kernel machine with --auto trains in the RKHS without
# diverging, with L1 = 1.
# --auto with a model outside the theory, another optimizer, or an explicit step size exits 2
# with one line.
set -uo pipefail
bin=${LINMASS_BIN:-build/linmass}
py=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); echo "ok: $1"; }
bad() { fail=$((fail+1)); echo "FAIL: $1"; }

data=synth:linreg:n=500,d=20,cond=100
for opt in mass sgd; do
    if "$bin" train --data $data --model linear --optim $opt --auto --batch 8 --epochs 20 --json \
        --log-every 1 --out "$dir/$opt" >"$dir/$opt.json" 2>"$dir/$opt.err"; then
        ok "linear --optim $opt --auto runs"
    else
        bad "linear --optim $opt --auto exits $?"; cat "$dir/$opt.err"
    fi
done

# loss ratios, the MaSS-below-SGD order and the recorded hyper-parameters
if $py - "$dir" <<'PY'; then ok "convergence, order and config.json"; else bad "convergence, order or config.json"; fi
import json, math, sys
d = sys.argv[1]
final, good = {}, True
for opt in ("mass", "sgd"):
    first = json.loads(open(f"{d}/{opt}/metrics.jsonl").readline())["train_loss"]
    final[opt] = json.loads(open(f"{d}/{opt}.json").read().strip().splitlines()[-1])["train_loss"]
    ratio = final[opt] / first
    print(f"  {opt}: initial loss {first:.4g}, final {final[opt]:.3g}, ratio {ratio:.2e}")
    good &= ratio < 1e-6
    a = json.load(open(f"{d}/{opt}/config.json"))["resolved"]["auto"]
    L_m = a["L_m"]
    if opt == "sgd":
        good &= abs(a["lr"] * L_m - 1) < 1e-12
    else:
        s = 1 / math.sqrt(a["kappa_m"] * a["kappa_tilde_m"])
        good &= abs(a["eta1"] * L_m - 1) < 1e-12
        good &= abs(a["gamma"] - (1 - s) / (1 + s)) < 1e-12
        good &= abs(a["eta2"] - a["eta1"] * (1 - 1 / a["kappa_tilde_m"]) / (1 + s)) < 1e-12
    good &= a["batch"] == 8 and a["samples"] == 500 and a["features"] == 20
print(f"  mass final {final['mass']:.3g} < sgd final {final['sgd']:.3g}")
good &= final["mass"] < final["sgd"]
sys.exit(0 if good else 1)
PY
grep -q "mass eta1" "$dir/mass.err" && ok "--auto prints its choice" || bad "no --auto line on stderr"

# a kernel machine in the RKHS: centres from the training inputs, constants from the kernel
# matrix of a subsample of 100 (L1 = 1: a Gaussian kernel has k(x, x) = 1)
if "$bin" train --data synth:linreg:n=300,d=5 --model kernel:gaussian:2 --optim mass --auto --auto-samples 100 \
    --batch 16 --epochs 3 --json --out "$dir/kernel" >"$dir/kernel.json" 2>"$dir/kernel.err" &&
    $py -c 'import json,sys; j=json.loads(open(sys.argv[1]).read().splitlines()[-1]); c=json.load(open(sys.argv[2]))["resolved"]; sys.exit(not (j["num_params"] == 300 and c["model_spec"] == "kernelfeat:gaussian:2:300:rkhs,flatten,dense:1:nobias" and c["auto"]["features"] == 100 and abs(c["auto"]["L1"] - 1) < 1e-6 and j["train_loss"] < 1))' \
        "$dir/kernel.json" "$dir/kernel/config.json"; then
    ok "kernel:gaussian --auto"
else
    bad "kernel:gaussian --auto"; cat "$dir/kernel.err"
fi

usage() { # words... -- args...
    local words=(); while [ "$1" != "--" ]; do words+=("$1"); shift; done; shift
    "$bin" "$@" >"$dir/out" 2>"$dir/err"; local rc=$?
    local good=1
    [ $rc = 2 ] && [ "$(wc -l <"$dir/err")" = 1 ] || good=0
    for w in "${words[@]}"; do grep -qF -- "$w" "$dir/err" || good=0; done
    if [ $good = 1 ]; then ok "exit 2: $*"; else bad "linmass $* (exit $rc)"; cat "$dir/err"; fi
}
usage "--auto" "fcn" -- train --model fcn --auto --out "$dir/no"
usage "auto belongs to" "adam" -- train --data $data --model linear --optim adam --auto --out "$dir/no"
usage "--auto" "--lr" -- train --data $data --model linear --optim sgd --auto --lr 0.1 --out "$dir/no"
usage "--auto" "--eta1" -- train --data $data --model linear --optim mass --auto --eta1 0.1 --eta2 0 --gamma 0.5 --out "$dir/no"
usage "linmass train expands" -- train --data $data --model "linear,relu" --out "$dir/no"
usage "bandwidth" -- train --data $data --model kernel:gaussian:-1 --out "$dir/no"
[ ! -e "$dir/no" ] && ok "refused runs write nothing" || bad "a refused run wrote $dir/no"

echo "auto: $pass passed, $fail failed"
[ $fail = 0 ]
