#!/bin/bash
# ctest-labels: mpi
# Data-parallel training over MPI (mpirun -np 2): two ranks sharing a global batch of B give the
# weights of one rank with batch B (to 1e-6 relative; dropout, augmentation and an uneven split
# included); two launches of the same job are bit-identical; a rank killed mid-run fails the
# whole job and leaves the last checkpoint intact; --resume finishes it with 1 or 2 ranks.
# Skipped, with a note, when mpirun is missing.
set -euo pipefail
bin=${LINMASS_BIN:-build/linmass}
command -v mpirun >/dev/null || { echo "mpi: SKIPPED (no mpirun; apt-get install openmpi-bin)"; exit 0; }
mpi=(mpirun -np 2 --oversubscribe)
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
# Open MPI's leaks are not ours: keep the sanitizer build's leak check off for the ranks
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# a build without MPI must refuse to run as 2 independent copies
if ! "${mpi[@]}" "$bin" train --help >"$dir/help" 2>&1; then
    grep -q "built without MPI" "$dir/help" || { cat "$dir/help"; echo "FAIL: mpirun run refused without a reason"; exit 1; }
    echo "mpi: SKIPPED (this linmass is built without MPI; it refuses mpirun with a clear message)"
    exit 0
fi

# 500 samples, batch 45: 12 steps an epoch, the last of 5 samples (2 + 3 on two ranks)
common=(--data fashion-mnist --max-train 500 --model "dense:32,relu,dropout:0.5,dense:10" --batch 45 --steps 20
        --augment --log-every 1 --ckpt-every 7 --seed 5 --optim sgd --lr 0.05 --momentum 0.9)
compare() { # compare A B TOL: the weights of checkpoint A within TOL (relative) of B's, the
             # optimizer state (a sum of gradients, noisier) within 10 TOL; TOL 0: bit-identical
    /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import sys
import numpy as np
sys.path.insert(0, "tools")
from read_checkpoint import load
a, b, tol = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3])
assert sorted(a) == sorted(b), (sorted(a), sorted(b))
same = all(a[k].tobytes() == b[k].tobytes() for k in a)
worst = {"weights": 0.0, "optimizer state": 0.0}
for k in a:
    x, y = a[k].astype(np.float64), b[k].astype(np.float64)
    kind = "optimizer state" if k.startswith("optim.") else "weights"
    worst[kind] = max(worst[kind], np.abs(x - y).max() / max(np.abs(x).max(), 1e-30))
print("  %d tensors, %s; largest difference relative to the tensor's largest entry: weights %.3g, "
      "optimizer state %.3g" % (len(a), "bit-identical" if same else "not bit-identical", worst["weights"],
                                worst["optimizer state"]))
assert same if tol == 0 else worst["weights"] <= tol and worst["optimizer state"] <= 10 * tol, \
    "the checkpoints differ more than %g" % tol
PY
}
ckpt() { echo "$dir/$1/checkpoints/last.safetensors"; }

echo "1 rank with batch 45 against 2 ranks sharing it (20 steps, dropout, augmentation):"
"$bin" train "${common[@]}" --out "$dir/one" >/dev/null
"${mpi[@]}" "$bin" train "${common[@]}" --out "$dir/two" >/dev/null
compare "$(ckpt one)" "$(ckpt two)" 1e-6
[ "$(wc -l <"$dir/two/metrics.jsonl")" = 20 ] || { echo "FAIL: rank 0 should write 20 metrics lines"; exit 1; }
echo "2 ranks, launched twice (ordered reduction):"
"${mpi[@]}" "$bin" train "${common[@]}" --out "$dir/two-again" >/dev/null
compare "$(ckpt two)" "$(ckpt two-again)" 0
echo "2 ranks with --reduce mpi (MPI_Allreduce) against 1 rank:"
"${mpi[@]}" "$bin" train "${common[@]}" --reduce mpi --out "$dir/two-mpi" >/dev/null
compare "$(ckpt one)" "$(ckpt two-mpi)" 1e-6

echo "rank 1 killed at step 16 (the last checkpoint is step 14):"
if LINMASS_KILL_AT_STEP=16 LINMASS_KILL_RANK=1 "${mpi[@]}" "$bin" train "${common[@]}" --out "$dir/cut" \
    >/dev/null 2>"$dir/cut.err"; then
    echo "FAIL: the job went on without rank 1"; exit 1
fi
grep -qi "rank 1" "$dir/cut.err" || { cat "$dir/cut.err"; echo "FAIL: no message names the dead rank"; exit 1; }
echo "  the job failed: $(grep -i -m1 'rank 1' "$dir/cut.err" | sed 's/^ *//')"
/usr/bin/python3 - "$(ckpt cut)" <<'PY'
import sys
sys.path.insert(0, "tools")
from read_checkpoint import load_with_metadata
t, meta = load_with_metadata(sys.argv[1])
step = int(meta.get("step", -1))
assert step == 14, "the last checkpoint is at step %s, not 14" % step
print("  the last checkpoint is intact: %d tensors at step %d" % (len(t), step))
PY
cp -r "$dir/cut" "$dir/cut1"
echo "resumed with 1 rank, against the uninterrupted 1-rank run:"
"$bin" train "${common[@]}" --out "$dir/cut1" --resume >/dev/null
compare "$(ckpt one)" "$(ckpt cut1)" 1e-6
echo "resumed with 2 ranks, against the uninterrupted 2-rank run:"
"${mpi[@]}" "$bin" train "${common[@]}" --out "$dir/cut" --resume >/dev/null
compare "$(ckpt two)" "$(ckpt cut)" 0
[ "$(wc -l <"$dir/cut/metrics.jsonl")" = 20 ] || { echo "FAIL: expected 20 metrics lines after resume"; exit 1; }

echo "the tangent kernel split across 2 ranks (tests/test_dist_ntk.c):"
"${mpi[@]}" "$(dirname "$bin")/test_dist_ntk" | grep -v "^check:" | sed 's/^/  /'

# other commands refuse to run as several copies
if "${mpi[@]}" "$bin" eval --help >"$dir/eval.err" 2>&1 || ! grep -q "runs as one process" "$dir/eval.err"; then
    cat "$dir/eval.err"; echo "FAIL: eval under mpirun should be refused"; exit 1
fi
echo "mpi: 7 passed, 0 failed"
