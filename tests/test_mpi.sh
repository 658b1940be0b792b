#!/bin/bash
# ctest-labels: mpi
# Data-parallel training over MPI (mpirun -np 2): two ranks sharing a global batch of B give the
# weights of one rank with batch B (to 1e-6 relative; dropout, augmentation and an uneven split
# included; and a kernel machine trained in the RKHS, each rank's share giving its part of the
# gradient), and with --sync-bn so does a model with batch norm (weights, running statistics and
# the test loss; an empty share included), while without it the weights differ; two launches
# of the same job are bit-identical; a rank killed mid-run fails the whole job and leaves the
# last checkpoint intact; --resume finishes it with 1 or 2 ranks; SIGTERM on one rank stops
# every rank after the same step with a checkpoint, from which --resume ends bit-identically.
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

echo "a kernel machine in the RKHS (MaSS, --auto), 1 rank against 2 ranks sharing batches of 45:"
kern=(--data synth:linreg:n=300,d=5 --model kernel:gaussian:2 --batch 45 --steps 14 --seed 5 --optim mass --auto
      --auto-samples 100)
"$bin" train "${kern[@]}" --out "$dir/k1" >/dev/null 2>&1
"${mpi[@]}" "$bin" train "${kern[@]}" --out "$dir/k2" >/dev/null 2>&1
compare "$(ckpt k1)" "$(ckpt k2)" 1e-6

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

echo "SIGTERM to rank 1 alone at step 9: both ranks stop after the same step, with a checkpoint:"
LINMASS_KILL_AT_STEP=9 LINMASS_KILL_RANK=1 LINMASS_KILL_SIGNAL=15 "${mpi[@]}" "$bin" train "${common[@]}" --out "$dir/term" \
    >/dev/null 2>"$dir/term.err" && { echo "FAIL: the job went on after SIGTERM"; exit 1; }
grep -q "stopped by SIGTERM after step 10; checkpoint $dir/term/checkpoints/last.safetensors" "$dir/term.err" &&
    grep -q "^resume with: mpirun -np 2 linmass train --resume --out $dir/term\$" "$dir/term.err" ||
    { cat "$dir/term.err"; echo "FAIL: rank 0 does not say where the checkpoint is and how to resume"; exit 1; }
echo "  $(grep -m1 'stopped by' "$dir/term.err")"
echo "resumed with only --resume --out, against the uninterrupted 2-rank run:"
"${mpi[@]}" "$bin" train --resume --out "$dir/term" >/dev/null
compare "$(ckpt two)" "$(ckpt term)" 0
[ "$(wc -l <"$dir/term/metrics.jsonl")" = 20 ] || { echo "FAIL: expected 20 metrics lines after resume"; exit 1; }

echo "the tangent kernel split across 2 ranks (tests/test_dist_ntk.c):"
"${mpi[@]}" "$(dirname "$bin")/test_dist_ntk" | grep -v "^check:" | sed 's/^/  /'

# ---- the probes over several ranks (src/probe: distribute) ----
echo "Hessian-vector products split across 2 ranks (tests/test_dist_hessian.c):"
"${mpi[@]}" "$(dirname "$bin")/test_dist_hessian" | grep -v "^check:" | sed 's/^/  /'
# the same probe with and without mpirun: rank 0 alone prints one JSON object, with the numbers
# of one process (per-input norms and the kernel bit-identical, split sums to 1e-12 relative)
probe_pair() { # probe_pair NAME PROBE ARGS...: runs one process and mpirun -np 2, JSON in $dir/NAME-{1,2}.json
    local name=$1; shift
    "$bin" probe "$@" --threads 1 --json --out "$dir/$name-1" >"$dir/$name-1.json" 2>"$dir/$name-1.err" ||
        { cat "$dir/$name-1.err"; echo "FAIL: probe $1 (one process)"; exit 1; }
    "${mpi[@]}" "$bin" probe "$@" --threads 1 --json --out "$dir/$name-2" >"$dir/$name-2.json" 2>"$dir/$name-2.err" ||
        { cat "$dir/$name-2.err"; echo "FAIL: probe $1 under mpirun"; exit 1; }
    [ "$(wc -l <"$dir/$name-2.json")" = 1 ] || { cat "$dir/$name-2.json"; echo "FAIL: rank 0 alone should print"; exit 1; }
}
probe_compare() { # probe_compare NAME 'exact keys' 'close keys': one process against two ranks
    /usr/bin/python3 - "$dir/$1-1.json" "$dir/$1-2.json" "$2" "$3" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["ranks"] == 1 and b["ranks"] == 2, (a["ranks"], b["ranks"])
def get(d, k):
    for part in k.split("."):
        d = d[part]
    return d if isinstance(d, list) else [d]
worst = 0.0
for k in sys.argv[3].split():
    assert get(a, k) == get(b, k), "%s: %s vs %s" % (k, get(a, k), get(b, k))
for k in sys.argv[4].split():
    for x, y in zip(get(a, k), get(b, k), strict=True):
        worst = max(worst, abs(x - y) / max(abs(x), 1e-300))
assert worst <= 1e-12, "the split sums differ by %.3g relative" % worst
print("  equal: %s; within %.2g relative: %s" % (sys.argv[3], worst, sys.argv[4] or "-"))
PY
}
cnn=(--model "conv:4x3,relu,maxpool:2,dense:16,tanh,dense:10" --data fashion-mnist)
echo "linmass probe hessian (a CNN, 12 inputs) with and without mpirun -np 2:"
probe_pair hess hessian "${cnn[@]}" --inputs 12 --loss-top 3 --hutchinson 20
probe_compare hess "per_input max_norm mean_norm argmax" "avg_norm loss_hessian.top loss_hessian.trace loss_hessian.value"
grep -h "H(fbar)" "$dir/hess-1.err" "$dir/hess-2.err" | sort -u | wc -l | grep -qx 1 ||
    { grep -h "H(fbar)" "$dir"/hess-*.err; echo "FAIL: the printed ||H(fbar)|| differs"; exit 1; }
echo "  printed: $(grep -h "H(fbar)" "$dir/hess-2.err" | sed 's/^ *//')"
echo "linmass probe ntk --method per-sample (a CNN, 40 inputs) and probe plstar (its kernels split):"
probe_pair ntk ntk "${cnn[@]}" --inputs 40 --method per-sample --save "$dir/K.npy"
probe_compare ntk "eigenvalues lambda_min lambda_max trace" ""
probe_pair pl plstar --model "dense:64,tanh,dense:1" --inputs 20 --steps 20
probe_compare pl "records" ""

# ---- the gradient sums overlapped with the backward pass (lm_dist_reducer, --overlap) ----
echo "the overlapped reducer under 2 and 3 ranks (tests/test_overlap.c):"
for np_ in 2 3; do
    mpirun -np $np_ "${mpi[@]:3}" "$(dirname "$bin")/test_overlap" >"$dir/overlap$np_.out" ||
        { cat "$dir/overlap$np_.out"; echo "FAIL: test_overlap under $np_ ranks"; exit 1; }
    grep "ranks, " "$dir/overlap$np_.out" | sed 's/^/ /'
done
# 474 378 parameters in two buckets of whole layers: layers 2 and 3 (273 418 floats, over 1 MiB),
# summed while layer 1's backward runs, then layer 1
ov=(--data fashion-mnist --max-train 300 --model "dense:256,relu,dropout:0.5,dense:1024,relu,dense:10" --batch 45
    --steps 10 --log-every 5 --seed 3 --optim sgd --lr 0.05 --momentum 0.9)
echo "2 ranks, overlap on against off (bit-identical), and against 1 rank (to 1e-6):"
"$bin" train "${ov[@]}" --out "$dir/ov1" >/dev/null
"${mpi[@]}" "$bin" train "${ov[@]}" --overlap on --out "$dir/ov-on" >/dev/null
"${mpi[@]}" "$bin" train "${ov[@]}" --overlap off --out "$dir/ov-off" >/dev/null
compare "$(ckpt ov-on)" "$(ckpt ov-off)" 0
compare "$(ckpt ov1)" "$(ckpt ov-on)" 1e-6
echo "mpirun -np 2 linmass bench mlp --json: samples/s of the global batch and the all-reduce's cost:"
"${mpi[@]}" "$bin" bench mlp --seconds 1 --json 2>/dev/null | tail -n 1 >"$dir/bench.json"
/usr/bin/python3 - "$dir/bench.json" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read())
for k in ("samples_per_sec", "ranks", "overlap", "allreduce_ms_per_step", "allreduce_exchange_ms_per_step",
          "allreduce_mb_per_step"):
    assert k in r, "no key %s in %s" % (k, r)
assert r["ranks"] == 2 and r["overlap"] == 1 and r["batch"] == 128, r
assert abs(r["allreduce_mb_per_step"] - 1863690 * 4 / 1e6) < 1e-3, r  # the mlp's gradient, once a step
assert r["samples_per_sec"] > 0 and 0 < r["allreduce_ms_per_step"] <= r["allreduce_exchange_ms_per_step"] * 1.5 + 1, r
print("  %.0f samples/s, all-reduce %.2f ms/step blocked (%.2f ms exchange), %.2f MB/step" % (
    r["samples_per_sec"], r["allreduce_ms_per_step"], r["allreduce_exchange_ms_per_step"], r["allreduce_mb_per_step"]))
PY
if "${mpi[@]}" "$bin" bench ntk >/dev/null 2>"$dir/bench.err" || ! grep -q "runs as one process" "$dir/bench.err"; then
    cat "$dir/bench.err"; echo "FAIL: bench ntk under mpirun should be refused"; exit 1
fi
echo "  bench ntk under mpirun is refused: $(grep -m1 'runs as one process' "$dir/bench.err")"

# ---- --sync-bn: batch norm over the global batch ----
# 451 samples, batch 45: step 11 has one sample, which rank 1 holds (rank 0's share is empty and
# joins the sums with nothing)
bn=(--data fashion-mnist --max-train 451 --batch 45 --steps 20 --seed 5 --optim sgd --lr 0.05 --momentum 0.9
    --model "conv:8x3:nobias,bn,relu,res:8,maxpool:2,flatten,dense:32:nobias,bn,relu,dense:10")
last_test_loss() { /usr/bin/python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["test_loss"])' "$1"; }
echo "batch norm: 1 rank against 2 ranks with --sync-bn (weights and running statistics, 20 steps):"
"$bin" train "${bn[@]}" --out "$dir/bn-one" >/dev/null
"${mpi[@]}" "$bin" train "${bn[@]}" --sync-bn --out "$dir/bn-sync" >/dev/null
# 2e-6: float32 sums in another order, carried through 20 steps of momentum 0.9 and two batch
# norms (measured: weights 7e-7 to 8.6e-7, optimizer state 2.9e-6 in Release and 1.1e-5 in the
# unoptimized sanitizer build, whose rounding differs); per-rank batch norm differs by about 1
compare "$(ckpt bn-one)" "$(ckpt bn-sync)" 2e-6
# the final evaluation is split across the ranks, each with its own running statistics
a=$(last_test_loss "$dir/bn-one/metrics.jsonl") b=$(last_test_loss "$dir/bn-sync/metrics.jsonl")
/usr/bin/python3 -c 'import sys; a, b = map(float, sys.argv[1:]); d = abs(a - b) / abs(a)
print("  test loss (rank 1 evaluates half with its own running statistics): %.10g vs %.10g, relative %.2g" % (a, b, d))
assert d <= 1e-5, "the 2-rank test loss differs"' "$a" "$b"
echo "batch norm: 2 ranks with --sync-bn and --overlap off against on (bit-identical):"
"${mpi[@]}" "$bin" train "${bn[@]}" --sync-bn --overlap off --out "$dir/bn-sync-off" >/dev/null
compare "$(ckpt bn-sync)" "$(ckpt bn-sync-off)" 0
echo "batch norm: 2 ranks without --sync-bn (each rank's share, as PyTorch DDP) must differ:"
"${mpi[@]}" "$bin" train "${bn[@]}" --out "$dir/bn-ddp" >/dev/null
if compare "$(ckpt bn-one)" "$(ckpt bn-ddp)" 1e-6 2>/dev/null; then
    echo "FAIL: per-rank batch norm gave the single-process weights: the test above cannot fail"; exit 1
fi
echo "batch norm: 1 rank with --sync-bn (no effect) against 1 rank without:"
"$bin" train "${bn[@]}" --sync-bn --out "$dir/bn-one-sync" >/dev/null
compare "$(ckpt bn-one)" "$(ckpt bn-one-sync)" 0

# other commands refuse to run as several copies
if "${mpi[@]}" "$bin" eval --help >"$dir/eval.err" 2>&1 || ! grep -q "runs as one process" "$dir/eval.err"; then
    cat "$dir/eval.err"; echo "FAIL: eval under mpirun should be refused"; exit 1
fi
# --help is printed once, by rank 0
n=$("${mpi[@]}" "$bin" probe hessian --help 2>&1 | grep -c "^usage:" || true)
[ "$n" = 1 ] || { echo "FAIL: probe hessian --help under mpirun printed $n usage lines, not 1"; exit 1; }
echo "mpi: 23 passed, 0 failed"
