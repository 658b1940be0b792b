#!/bin/bash
# linmass probe hessian --density --block --gauss-newton --diagonal --widths and probe ntk
# --output block / --matrix-free from the command line (docs/theory.md §7.4-7.9):
#   - the JSON keys and their invariants: each density's weights sum to 1, its nodes span
#     [lambda_min, lambda_max], the smoothed density integrates to about 1; the blocks in state_dict
#     order covering every parameter; the model Hessian's block of the output layer's weights is 0
#     (the output is linear in them); the Gauss-Newton part's top eigenvalues are >= 0 and the
#     three traces add up; the loss Hessian's diagonal has one entry per parameter, the output
#     bias's entry is exactly 1 (MSE with one output: d2L/db2 = 1), and a block's exact trace is
#     the sum of its diagonal entries;
#   - multiplicities: the linear model on Fashion-MNIST under the MSE has the loss Hessian
#     I_10 (x) X^T X / N, so its top eigenvalue comes ten times (skipped without the data set);
#   - the block kernel saved as .npy: its diagonal blocks add up to the summed kernel, the
#     catapult step of the summed kernel's run is 2/lambda_max of the block kernel; the
#     matrix-free lambda_max and trace equal the formed kernel's;
#   - a width sweep's JSON; bad options exit 2 with one line.
set -uo pipefail
bin=${LINMASS_BIN:-build/linmass}
py=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
mlp=dense:16,tanh,dense:16,tanh,dense:1

ok() { pass=$((pass+1)); }
ko() { fail=$((fail+1)); echo "FAIL: $*"; }

json_check() { # 'python expression over j (the JSON) and d (the folder)' args...
    local expr=$1; shift
    if "$bin" "$@" --json >"$dir/out" 2>"$dir/err" &&
       "$py" -c "import json,sys,numpy as np; d='$dir'; j=json.loads(open('$dir/out').read().strip().splitlines()[-1]); sys.exit(0 if ($expr) else 1)"; then ok
    else ko "linmass $* --json: wants $expr"; tail -5 "$dir/err"; fi
}

bad() { # args...: exit 2, one line on stderr, nothing on stdout
    "$bin" "$@" >"$dir/out" 2>"$dir/err"; local rc=$?
    local lines; lines=$(wc -l <"$dir/err")
    if [ $rc = 2 ] && [ "$lines" = 1 ] && [ ! -s "$dir/out" ]; then ok
    else ko "($rc, $lines lines) linmass $*"; cat "$dir/err"; fi
}

# ---- the spectra of one model
density_ok="lambda D: abs(sum(D['weights']) - 1) < 1e-12 and len(D['nodes']) == len(D['weights']) == sum(D['count'])
            and D['probes'] == 10 and D['steps'] == 80 and min(D['nodes']) == D['lambda_min'] and max(D['nodes']) == D['lambda_max']
            and len(D['grid']) == len(D['density']) == 400 and D['sigma'] > 0
            and 0.99 < np.trapz(D['density'], D['grid']) <= 1 + 1e-9"
json_check "($density_ok)(j['density']) and ($density_ok)(j['model_density'])
            and [b['name'] for b in j['blocks']] == ['0', '2', '4'] == [b['name'] for b in j['model_blocks']]
            and sum(b['params'] for b in j['blocks']) == j['num_params'] and j['blocks'][1]['offset'] == j['blocks'][0]['params']
            and all(len(b['top']) == 3 and b['top'] == sorted(b['top'], reverse=True) for b in j['blocks'] + j['model_blocks'])
            and j['model_blocks'][2]['norm'] == 0 and j['model_blocks'][2]['trace'] == 0
            and min(j['gauss_newton']['top']) >= -1e-12 * j['gauss_newton']['norm']
            and abs(j['loss_hessian']['trace'] - j['gauss_newton']['trace'] - j['residual_part']['trace']) <= 1e-9 * j['gauss_newton']['norm'] * j['num_params']
            and len(j['diagonal']) == j['num_params'] and j['diagonal_exact'] and abs(j['diagonal'][-1] - 1) < 1e-12
            and abs(j['blocks'][2]['trace'] - sum(j['diagonal'][j['blocks'][2]['offset']:])) <= 1e-12 * j['blocks'][2]['norm'] * 17
            and j['blocks'][2]['trace_exact'] and len(j['blocks'][2]['density']['nodes']) > 0
            and abs(sum(j['diagonal']) - j['loss_hessian']['trace']) <= 4 * j['loss_hessian']['trace_se']
            and len(j['loss_hessian']['top']) == len(j['loss_hessian']['top_residual']) == 3" \
    probe hessian --model $mlp --inputs 6 --density --block layer --gauss-newton --diagonal --loss-top 3 --hutchinson 40 --out "$dir/sp"
for f in hessian_density_loss hessian_density_model hessian_blocks; do
    if command -v gnuplot >/dev/null 2>&1; then [ -s "$dir/sp/plots/$f.png" ] && ok || ko "no plot $f.png"; fi
    [ -s "$dir/sp/plots/$f.dat" ] && ok || ko "no data $f.dat"
done
grep -q "Gauss-Newton split H = G + R" "$dir/sp/report.md" && grep -q "spectral density (stochastic Lanczos quadrature" "$dir/sp/report.md" &&
    grep -q "per-layer spectra" "$dir/sp/report.md" && ok || ko "the report names the spectra"
# per-tensor blocks, Gaussian vectors
json_check "[b['name'] for b in j['blocks']] == ['0.weight', '0.bias', '2.weight', '2.bias', '4.weight', '4.bias'] and j['density']['vectors'] == 'gaussian'
            and j['model_blocks'][5]['norm'] == j['model_blocks'][4]['norm'] == 0 < j['model_blocks'][2]['norm']" \
    probe hessian --model $mlp --inputs 4 --block tensor --block-top 1 --density --vectors gaussian --probes 3 --lanczos-steps 20 --loss-top 0 --hutchinson 0 --out "$dir/sp2"

# ---- multiplicities: I_10 (x) X^T X / N
if [ -d "${LINMASS_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}" ]; then
    json_check "(lambda t, r: max(t[:10]) - min(t[:10]) <= 1e-9 * t[0] and t[10] < t[9] * (1 - 1e-3) and abs(t[10] - t[11]) <= 1e-9 * t[0]
                 and max(r) <= 1e-7 * t[0])(j['loss_hessian']['top'], j['loss_hessian']['top_residual']) and j['loss_hessian']['converged']" \
        probe hessian --model linear --data fashion-mnist --param standard --inputs 100 --loss-top 12 --hutchinson 0 --out "$dir/lin"
else
    echo "no Fashion-MNIST: the multiplicity check is skipped"
fi

# ---- the block kernel, the catapult step of several outputs, the matrix-free extremes
three=dense:16,tanh,dense:3
json_check "j['kernel'] == 'block' and j['dim'] == 36 and abs(j['lr_catapult'] * j['lambda_max'] - 2) < 1e-12
            and (lambda K: K.shape == (36, 36) and np.array_equal(K, K.T)
                 and abs(np.linalg.eigvalsh(K)[-1] - j['lambda_max']) <= 1e-10 * j['lambda_max'])(np.load(d + '/Kb.npy'))" \
    probe ntk --model $three --inputs 12 --output block --save "$dir/Kb.npy" --out "$dir/nb"
json_check "j['kernel'] == 'sum over outputs' and j['lr_catapult_kernel'] == 'block'
            and abs(j['block_lambda_max'] - np.linalg.eigvalsh(np.load(d + '/Kb.npy'))[-1]) <= 1e-8 * j['block_lambda_max']
            and abs(j['lr_catapult'] * j['block_lambda_max'] - 2) < 1e-12
            and (lambda Kb, K: np.abs(sum(Kb[k::3, k::3] for k in range(3)) - K).max() <= 1e-12 * np.abs(K).max())(np.load(d + '/Kb.npy'), np.load(d + '/Ks.npy'))" \
    probe ntk --model $three --inputs 12 --save "$dir/Ks.npy" --out "$dir/ns"
json_check "j['method'] == 'matrix-free' and j['dim'] == 36 and abs(j['trace'] - np.trace(np.load(d + '/Kb.npy'))) <= 1e-12 * j['trace']
            and abs(j['lambda_max'] - np.linalg.eigvalsh(np.load(d + '/Kb.npy'))[-1]) <= 1e-8 * j['lambda_max']
            and abs(j['lambda_min'] - np.linalg.eigvalsh(np.load(d + '/Kb.npy'))[0]) <= j['lambda_min_residual'] + 1e-10 * j['lambda_max']" \
    probe ntk --model $three --inputs 12 --output block --matrix-free --steps 36 --out "$dir/nm"
json_check "j['lr_catapult_kernel'] == 'this' and 'block_lambda_max' not in j" \
    probe ntk --model $three --inputs 12 --output 1 --out "$dir/n1"

# ---- a width sweep
json_check "[r['width'] for r in j['sweep']] == [8, 16, 32] and all(r['gauss_newton']['norm'] > 0 and r['residual_part']['norm'] > 0 for r in j['sweep'])
            and all([b['name'] for b in r['model_blocks']] == ['0', '2', '4'] for r in j['sweep'])
            and j['sweep'][2]['num_params'] == 32 * 20 + 32 + 32 * 32 + 32 + 33 and 'residual part' in ' '.join(j['fits'])" \
    probe hessian --model dense:W,tanh,dense:W,tanh,dense:1 --widths 8,16,32 --inputs 4 --gauss-newton --block layer --loss-top 1 --hutchinson 10 --out "$dir/sw"

# ---- bad input: exit 2, one line
bad probe hessian --block rows --out "$dir/b"
bad probe hessian --density --vectors sobol --out "$dir/b"
bad probe hessian --density --probes 0 --out "$dir/b"
bad probe hessian --density --grid 1 --out "$dir/b"
bad probe hessian --block layer --block-top 40 --out "$dir/b"
bad probe hessian --model dense:W,tanh,dense:1 --widths 16 --gauss-newton --out "$dir/b"
bad probe hessian --model dense:W,tanh,dense:1 --widths 16,32 --out "$dir/b"
bad probe hessian --model dense:W,tanh,dense:1 --widths 16,32 --gauss-newton --density --out "$dir/b"
bad probe hessian --model $mlp --widths 16,32 --gauss-newton --out "$dir/b"
bad probe hessian --output block --out "$dir/b"
bad probe ntk --matrix-free --save "$dir/K.npy" --out "$dir/b"
bad probe ntk --matrix-free --steps -1 --out "$dir/b"

echo "probe-spectra-cli: $pass passed, $fail failed"
[ $fail = 0 ]
