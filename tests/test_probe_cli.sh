#!/bin/bash
# linmass probe hessian|ntk|linearity|plstar and linmass sweep width from the command line:
# finite positive Hessian norms with max >= mean; a kernel saved as a valid .npy (size N*N*8 plus
# its header, symmetric, the printed lambda_min, positive for an over-parameterized net, the same
# by the Gram identity and per-sample); GD loss ratios below 1 - lr lambda_min and PL ratios above
# lambda_min; the catapult warning; a width sweep's slope and PNG; probing a training run folder;
# run folders (config.json, result.json, report.md, plots); bad input exits 2 with one line.
set -uo pipefail
bin=${LINMASS_BIN:-build/linmass}
py=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
mlp=dense:32,tanh,dense:32,tanh,dense:1
wide=dense:256,tanh,dense:1

ok() { pass=$((pass+1)); }
ko() { fail=$((fail+1)); echo "FAIL: $*"; }

# json_check 'python expression over j (the JSON object) and d (the temporary folder)' args...
json_check() {
    local expr=$1; shift
    if "$bin" "$@" --json >"$dir/out" 2>"$dir/err" &&
       "$py" -c "import json,sys,os,numpy as np; d='$dir'; j=json.loads(open('$dir/out').read().strip().splitlines()[-1]); sys.exit(0 if ($expr) else 1)"; then ok
    else ko "linmass $* --json: wants $expr"; cat "$dir/out" "$dir/err"; fi
}

bad() { # args...: exit 2, one line on stderr, nothing on stdout
    "$bin" "$@" >"$dir/out" 2>"$dir/err"; local rc=$?
    local lines; lines=$(wc -l <"$dir/err")
    if [ $rc = 2 ] && [ "$lines" = 1 ] && [ ! -s "$dir/out" ]; then ok
    else ko "($rc, $lines lines) linmass $*"; cat "$dir/err"; fi
}

run_folder() { # DIR PNG...: config.json, result.json (valid JSON), report.md and the plots
    local d=$1; shift
    local f
    for f in config.json result.json report.md "$@"; do
        [ -s "$d/$f" ] || { ko "run folder $d lacks $f"; return; }
    done
    "$py" -c "import json; json.load(open('$d/config.json')); json.load(open('$d/result.json'))" || { ko "$d: bad JSON"; return; }
    ok
}
have_gnuplot=0
command -v gnuplot >/dev/null 2>&1 && have_gnuplot=1
plots() { [ $have_gnuplot = 1 ] && printf 'plots/%s ' "$@"; } # no gnuplot: no PNG, by design

# ---- probe hessian: finite positive norms, max >= mean, the averaged model's is at most the mean
json_check "j['probe'] == 'hessian' and 0 < j['mean_norm'] <= j['max_norm'] < float('inf') and 0 < j['avg_norm'] <= j['mean_norm'] * (1 + 1e-12)
            and len(j['per_input']) == 4 and abs(max(j['per_input']) - j['max_norm']) <= 1e-15 * j['max_norm']
            and j['unconverged'] == 0 and len(j['loss_hessian']['top']) == 2 and j['loss_hessian']['top'][0] >= j['loss_hessian']['top'][1]
            and j['loss_hessian']['samples'] == 10 and j['num_params'] == 1761" \
    probe hessian --model $mlp --inputs 4 --loss-top 2 --hutchinson 10 --out "$dir/ph"
run_folder "$dir/ph" $(plots hessian_per_input.png)
# the text names each norm
"$bin" probe hessian --model $mlp --inputs 3 --loss-top 0 --hutchinson 0 --out "$dir/ph2" >"$dir/out" 2>/dev/null &&
    grep -q "averaged model" "$dir/out" && grep -q "max_i ||H(f(x_i))||" "$dir/out" && grep -q "mean_i ||H(f(x_i))||" "$dir/out" && ok || ko "probe hessian text"
# power iteration agrees with Lanczos on the averaged model's norm
json_check "abs(j['avg_norm'] - json.load(open(d + '/ph/result.json'))['avg_norm']) <= 1e-6 * j['avg_norm']" \
    probe hessian --model $mlp --inputs 4 --method power --steps 2000 --tol 1e-13 --loss-top 0 --hutchinson 0 --out "$dir/ph3"

# ---- probe ntk: the .npy file, its size, its spectrum
n=24
json_check "j['method'] == 'gram' and j['lambda_min'] > 0 and j['lambda_max'] >= j['lambda_min'] and j['npy'] == d + '/K.npy'
            and (lambda raw: raw[:6] == b'\\x93NUMPY' and raw[6] == 1 and raw[7] == 0
                 and len(raw) == $n * $n * 8 + 10 + raw[8] + 256 * raw[9] and (10 + raw[8] + 256 * raw[9]) % 64 == 0)(open(d + '/K.npy', 'rb').read())
            and (lambda K: K.shape == ($n, $n) and K.dtype == np.float64 and np.array_equal(K, K.T)
                 and abs(np.linalg.eigvalsh(K)[0] - j['lambda_min']) <= 1e-9 * j['lambda_max']
                 and abs(np.trace(K) - j['trace']) <= 1e-12 * j['trace'])(np.load(d + '/K.npy'))" \
    probe ntk --model $wide --inputs $n --save "$dir/K.npy" --out "$dir/pn"
run_folder "$dir/pn" $(plots ntk_spectrum.png)
json_check "j['method'] == 'per-sample' and np.abs(np.load(d + '/K2.npy') - np.load(d + '/K.npy')).max() <= 1e-10 * j['lambda_max']" \
    probe ntk --model $wide --inputs $n --method per-sample --save "$dir/K2.npy" --out "$dir/pn2"
# over the memory cap: exit 1 (a runtime refusal, not bad input), naming the size needed
"$bin" probe ntk --model $wide --inputs 600 --max-memory 1 --out "$dir/pn3" >/dev/null 2>"$dir/err"; rc=$?
[ $rc = 1 ] && grep -q "needs [0-9]* bytes" "$dir/err" && grep -q "raise --max-memory" "$dir/err" && ok || { ko "ntk over --max-memory: rc $rc"; cat "$dir/err"; }

# ---- probe linearity / plstar: loss ratios below their bounds, PL ratios above lambda_min
json_check "not j['catapult'] and j['all_below_bound'] and j['pl_ratio_ge_lambda_min'] and len(j['records']) == 6
            and all(r['loss_ratio'] <= r['bound'] < 1 for r in j['records'])
            and all(r['pl_ratio'] >= r['lambda_min'] > 0 for r in j['records'])
            and j['records'][-1]['loss'] < 0.5 * j['loss0'] and j['records'][-1]['kernel_change'] > 0
            and all('lin_gap_max' in r for r in j['records']) and abs(j['lr'] * j['lambda_max0'] - 1) < 1e-12" \
    probe linearity --model $wide --inputs 8 --steps 50 --record-every 10 --held-out 8 --out "$dir/pl"
run_folder "$dir/pl" $(plots loss.png kernel_change.png)
json_check "j['probe'] == 'plstar' and '1/2 ||F(w) - y||^2' in j['convention'] and 0 < j['mu'] <= j['lambda_min0']
            and j['records'][-1]['loss'] * j['records'][-1]['loss_ratio'] <= j['pl_rate_bound']" \
    probe plstar --model $wide --inputs 8 --steps 40 --out "$dir/pp"
run_folder "$dir/pp" $(plots loss.png plstar.png)
grep -q "L = 1/2 ||F - y||^2\|L(w) = 1/2 ||F(w) - y||^2" "$dir/pp/report.md" && ok || ko "plstar report states the convention"
# above 2/lambda_max(K_0): the catapult warning on stderr
"$bin" probe linearity --model $wide --inputs 8 --steps 3 --lr 1 --out "$dir/pc" >/dev/null 2>"$dir/err"
grep -q "warning: lr 1 > 2/lambda_max(K_0)" "$dir/err" && ok || { ko "no catapult warning"; cat "$dir/err"; }

# ---- sweep width: three small widths, a slope with its interval, the PNG
json_check "j['widths'] == [16, 32, 64] and len(j['values']) == 3 and all(len(v) == 2 and min(v) > 0 for v in j['values'])
            and j['ci95'][0] <= j['slope'] <= j['ci95'][1] and j['dof'] == 4 and -2 < j['slope'] < 0.5
            and (j['plot'] is None or open(j['plot'], 'rb').read(8) == b'\\x89PNG\\r\\n\\x1a\\n')" \
    sweep width --probe hessian --widths 16,32,64 --seeds 2 --inputs 3 --out "$dir/sw"
grep -q "log-log slope -\?[0-9.]*, 95% interval" "$dir/err" && ok || ko "sweep prints the slope"
run_folder "$dir/sw" $(plots sweep.png)
json_check "j['probe'] == 'linearity' and j['value'] == 'kernel' and j['slope'] < 0" \
    sweep width --probe linearity --widths 16,64 --seeds 1 --inputs 4 --steps 20 --out "$dir/sw2"

# ---- a training run folder: probed with its own model, data and weights
"$bin" train --data synth:teacher --model dense:16,tanh,dense:1 --param ntk --steps 10 --batch 50 --lr 0.05 --out "$dir/tr" >/dev/null 2>&1 || ko "train a run to probe"
json_check "j['checkpoint'] == d + '/tr/checkpoints/last.safetensors' and j['model'] == 'dense:16,tanh,dense:1' and j['mean_norm'] > 0" \
    probe hessian --run "$dir/tr" --inputs 2 --loss-top 1 --hutchinson 0 --out "$dir/prun"

# ---- bad input: exit 2, one line
bad probe
bad probe foo
bad probe hessian --inputs 0 --out "$dir/b"
bad probe ntk --inputs 0 --out "$dir/b"
bad probe hessian --checkpoint "$dir/tr/checkpoints/last.safetensors" --model dense:8,tanh,dense:1 --out "$dir/b"
bad probe hessian --run "$dir/tr" --model $mlp --out "$dir/b"
bad probe hessian --run "$dir/nothing" --out "$dir/b"
bad probe ntk --output 3 --model $wide --out "$dir/b"
bad probe ntk --method fast --out "$dir/b"
bad probe hessian --method qr --out "$dir/b"
bad probe hessian --param mup --out "$dir/b"
bad probe hessian --data synth:nothing --out "$dir/b"
bad probe hessian --inputs 100000 --out "$dir/b"
bad probe linearity --lr -1 --out "$dir/b"
bad probe linearity --steps 0 --out "$dir/b"
bad sweep width --probe curvature
bad sweep width --template dense:64,tanh,dense:1
bad sweep width --widths 64,abc
bad sweep width --widths 64,-2
bad sweep width --widths 64
bad sweep width --inputs 0
bad sweep width --value lambda-min
bad sweep width --template dense:W,tanh,dense:1,wobble
bad sweep depth
bad sweep

# ---- --help: every option with its default
"$bin" probe ntk --help >"$dir/help" && grep -q -e "--inputs N .*\[default: 128\]" "$dir/help" && ok || ko "probe ntk --help"
"$bin" sweep width --help >"$dir/help" && grep -q "dense:W,tanh,dense:1,tanh,dense:W,tanh,dense:1" "$dir/help" && ok || ko "sweep --help shows a bottleneck"
"$bin" probe --help >"$dir/help" && grep -q "plstar" "$dir/help" && ok || ko "probe --help"

echo "probe-cli: $pass passed, $fail failed"
[ $fail = 0 ]
