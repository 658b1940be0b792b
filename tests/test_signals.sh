#!/bin/bash
# ctest-labels: slow
# SIGTERM and SIGINT stop a training run cleanly: 10 trials of each at random moments (seeded
# RANDOM: the same moments every time). Each stopped run exits 143 (SIGTERM) or 130 (SIGINT),
# leaves a checkpoint and says on stderr the exact command that resumes it; that command, run as
# printed (it has only --resume and --out: the rest comes from config.json), ends with the
# checkpoint and metrics.jsonl of an uninterrupted run, bit for bit.
# Even trials raise the signal inside the program at a random step (LINMASS_KILL_AT_STEP with
# LINMASS_KILL_SIGNAL); odd ones send it from outside once the run has started (config.json
# written) when its metrics.jsonl has reached a random line (the run is that far, whatever the
# machine's speed or load), so it lands anywhere: in a step, an evaluation, a checkpoint.
# A second signal ends the program at once. A sweep stopped by SIGINT reports the widths done,
# with the values of a sweep over those widths alone.
set -uo pipefail
set -m # job control: background runs receive SIGINT like foreground ones
bin=${LINMASS_BIN:-build/linmass}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
py=/usr/bin/python3
root=$PWD
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
RANDOM=20250311
wait_for() { for ((w = 0; w < 1000; w++)); do [ -f "$1" ] && return; sleep 0.01; done; }
# until file $1 has at least $2 lines (or 10 s)
wait_lines() { for ((w = 0; w < 2000; w++)); do [ -f "$1" ] && (($(wc -l <"$1") >= $2)) && return; sleep 0.005; done; }

# 3 epochs of 100 steps; the train loss windows of 3 steps straddle the stops
common=(--data synth:linreg:n=1000,d=20,seed=3 --model "dense:256,tanh,dropout:0.2,dense:256,tanh,dense:1" --batch 10 --epochs 3
        --seed 11 --log-every 3 --threads 1)
optims=("sgd --lr 0.01 --momentum 0.9" "adam --lr 0.001" "mass --lr 0.01 --alpha 0.05 --kappa-tilde 3")
total=300
for k in 0 1 2; do
    "$bin" train "${common[@]}" --optim ${optims[$k]} --out "$dir/full$k" >/dev/null 2>&1 || no "reference run $k failed"
done

pairs=() metrics=() stopped=0 finished=0 async_stopped=0
for ((t = 0; t < 20; t++)); do
    k=$((t % 3))
    if ((t < 10)); then sig=TERM num=15 want=143; else sig=INT num=2 want=130; fi
    out=$dir/cut$t
    args=("${common[@]}" --optim ${optims[$k]} --ckpt-every $((50 + RANDOM % 60)) --out "$out")
    if ((t % 2 == 0)); then
        LINMASS_KILL_AT_STEP=$((1 + RANDOM % (total - 2))) LINMASS_KILL_SIGNAL=$num "$bin" train "${args[@]}" >/dev/null 2>"$dir/err$t"
        rc=$?
    else
        "$bin" train "${args[@]}" >/dev/null 2>"$dir/err$t" &
        pid=$!
        wait_for "$out/config.json"
        wait_lines "$out/metrics.jsonl" $((1 + RANDOM % 60)) # of about 100 lines (one every 3 steps)
        kill -$sig $pid 2>/dev/null
        wait $pid
        rc=$?
    fi
    if [ $rc = 0 ]; then # the run ended before the signal came
        finished=$((finished + 1))
    elif [ $rc = $want ]; then
        stopped=$((stopped + 1))
        ((t % 2 == 1)) && async_stopped=$((async_stopped + 1))
        [ -f "$out/checkpoints/last.safetensors" ] && ok || no "trial $t: SIG$sig left no checkpoint"
        grep -q "stopped by SIG$sig after step [0-9]*; checkpoint $out/checkpoints/last.safetensors" "$dir/err$t" && ok ||
            { no "trial $t: no line saying where the checkpoint is:"; cat "$dir/err$t"; }
        resume=$(sed -n 's/^resume with: linmass //p' "$dir/err$t")
        [ "$resume" = "train --resume --out $out" ] && ok || { no "trial $t: resume command '$resume'"; cat "$dir/err$t"; }
        # shellcheck disable=SC2086 # the command as printed, word for word
        "$bin" $resume >/dev/null 2>"$dir/err" || { no "trial $t: the printed resume command failed"; cat "$dir/err"; }
    else
        no "trial $t: SIG$sig gave exit $rc, not $want"; cat "$dir/err$t"
    fi
    pairs+=(same "$dir/full$k/checkpoints/last.safetensors" "$out/checkpoints/last.safetensors")
    strip() { sed -E 's/,"samples_per_sec".*//' "$1"; }
    diff <(strip "$dir/full$k/metrics.jsonl") <(strip "$out/metrics.jsonl") >/dev/null && ok ||
        no "trial $t: metrics.jsonl differs from the uninterrupted run's"
done
# every signal raised at a step stops its run; one sent from outside can still come after the end
# on a loaded machine, but most must land mid-run
((stopped - async_stopped == 10 && async_stopped >= 7)) && ok ||
    no "only $stopped of 20 signals stopped a run mid-way ($async_stopped of the 10 from outside; $finished ended first)"
(cd "$root" && "$py" - "${pairs[@]}" <<'PY'
import sys
sys.path.insert(0, "tools")
from read_checkpoint import load
args, bad = sys.argv[1:], 0
while args:
    _, a, b = args.pop(0), args.pop(0), args.pop(0)
    x, y = load(a), load(b)
    diff = sorted(set(x) ^ set(y)) + [k for k in x if k in y and x[k].tobytes() != y[k].tobytes()]
    if diff:
        print("FAIL: %s and %s differ in %s" % (a, b, diff[:5])); bad += 1
sys.exit(1 if bad else 0)
PY
) && ok || no "a resumed run is not bit-identical to the uninterrupted one"
echo "signals: $stopped of 20 runs stopped by SIGTERM/SIGINT and resumed bit-identically ($finished ended first)"

# a second signal ends the program at once; the checkpoint it leaves is whole
out=$dir/twice
"$bin" train "${common[@]}" --optim adam --lr 0.01 --ckpt-every 1 --out "$out" >/dev/null 2>&1 &
pid=$!
wait_for "$out/checkpoints/last.safetensors"
kill -TERM $pid; kill -TERM $pid 2>/dev/null
wait $pid
rc=$?
[ $rc = 143 ] && ok || no "two SIGTERMs: exit $rc"
"$bin" train --resume --out "$out" >/dev/null 2>&1 && ok || no "--resume after two SIGTERMs failed"

# sweep: SIGINT after the first two widths; the widths done are reported as a sweep of their own,
# with the values a sweep over just those widths gives
sw=(sweep width --probe hessian --template "dense:W,tanh,dense:W,tanh,dense:1" --seeds 2 --inputs 4 --threads 1)
"$bin" "${sw[@]}" --widths 8,16,2048,4096 --out "$dir/sweep-cut" >/dev/null 2>"$dir/sweep.err" &
pid=$!
for ((w = 0; w < 3000; w++)); do grep -q "width 16 seed 2/2" "$dir/sweep.err" && break; sleep 0.01; done
kill -INT $pid
wait $pid
rc=$?
[ $rc = 130 ] && grep -q "stopped by SIGINT after 2 of 4 widths; they are in $dir/sweep-cut" "$dir/sweep.err" && ok ||
    { no "sweep: SIGINT gave exit $rc:"; tail -3 "$dir/sweep.err"; }
"$bin" "${sw[@]}" --widths 8,16 --out "$dir/sweep-two" >/dev/null 2>&1 || no "the sweep over two widths failed"
"$py" - "$dir/sweep-cut/result.json" "$dir/sweep-two/result.json" <<'PY' && ok || no "sweep: the partial result"
import json, sys
cut, two = (json.load(open(f)) for f in sys.argv[1:])
assert cut["widths"] == [8, 16] and cut["widths_planned"] == 4, (cut["widths"], cut.get("widths_planned"))
assert cut["values"] == two["values"] and cut["slope"] == two["slope"], (cut["values"], two["values"])
PY

echo "signals: $pass passed, $fail failed"
[ $fail = 0 ]
