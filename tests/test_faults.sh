#!/bin/bash
# Fault injection: nothing a crash, a full or unwritable disk, or a diverging run does may cost
# the last good checkpoint.
#  1. kill -9 at random moments, 20 trials (seeded RANDOM: the same moments every time), each
#     followed by --resume: the final checkpoint is bit-identical to an uninterrupted run's.
#     Even trials die at a random step (LINMASS_KILL_AT_STEP), odd ones get a real kill -9 from
#     outside after a random delay, which can land anywhere, also inside a checkpoint write.
#  2. an output folder that cannot be written (under a regular file; a full 256 KiB tmpfs when
#     this runs as root and may mount) gives one clear line, exit 1 or 2, and the checkpoint
#     written before stays readable and unchanged.
#  3. a NaN in the data is refused at load (exit 2, naming the line); an absurd learning rate
#     stops the run with exit 1 and a message naming the step, and the checkpoint from before
#     (checkpointed every step) is intact and finite.
set -uo pipefail
bin=${LINMASS_BIN:-build/linmass}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
py=/usr/bin/python3
root=$PWD
dir=$(mktemp -d)
mnt=""
trap '[ -n "$mnt" ] && umount "$mnt" 2>/dev/null; rm -rf "$dir"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
RANDOM=20240917 # seeded: the same kill moments on every run

# Compare checkpoints (tools/read_checkpoint.py): "same A B..." pairs, "finite F", "step F N".
check() {
    "$py" - "$@" <<'PY'
import sys
sys.path.insert(0, "tools")
import numpy as np
from read_checkpoint import load, load_with_metadata
args, bad = sys.argv[1:], 0
while args:
    op = args.pop(0)
    if op == "same":
        a, b = args.pop(0), args.pop(0)
        x, y = load(a), load(b)
        diff = sorted(set(x) ^ set(y)) + [k for k in x if k in y and x[k].tobytes() != y[k].tobytes()]
        if diff:
            print("FAIL: %s and %s differ in %s" % (a, b, diff[:5])); bad += 1
    elif op == "finite":
        f = args.pop(0)
        t = load(f)
        nonfinite = [k for k, v in t.items() if v.dtype.kind == "f" and not np.isfinite(v).all()]
        if nonfinite:
            print("FAIL: %s holds NaN or Inf in %s" % (f, nonfinite)); bad += 1
    elif op == "step":
        f, want = args.pop(0), args.pop(0)
        _, meta = load_with_metadata(f)
        if meta.get("step") != want:
            print("FAIL: %s is at step %s, expected %s" % (f, meta.get("step"), want)); bad += 1
sys.exit(1 if bad else 0)
PY
}

# ---- 1. kill -9 and --resume ----
data=synth:linreg:n=200,d=8,seed=3
common=(--data "$data" --model "dense:16,tanh,dropout:0.2,dense:1" --batch 10 --epochs 3 --seed 11 --log-every 1)
optims=("sgd --lr 0.05 --momentum 0.9" "adam --lr 0.01" "mass --lr 0.05 --alpha 0.05 --kappa-tilde 3")
total=60 # 3 epochs of 20 steps
for k in 0 1 2; do
    "$bin" train "${common[@]}" --optim ${optims[$k]} --out "$dir/full$k" >/dev/null 2>&1 || no "reference run $k failed"
done
pairs=()
trials=20 killed=0
for ((t = 0; t < trials; t++)); do
    k=$((t % 3))
    every=$((1 + RANDOM % 5)) # checkpoints every 1..5 steps
    out=$dir/cut$t
    args=("${common[@]}" --optim ${optims[$k]} --ckpt-every "$every" --out "$out")
    if ((t % 2 == 0)); then
        step=$((every + RANDOM % (total - every - 1))) # after the first checkpoint
        { LINMASS_KILL_AT_STEP=$step "$bin" train "${args[@]}" >/dev/null; } 2>/dev/null # no "Killed" line
        rc=$?
        [ $rc = 137 ] && killed=$((killed + 1)) || no "trial $t: not killed at step $step (exit $rc)"
    else
        "$bin" train "${args[@]}" >/dev/null 2>&1 &
        pid=$!
        sleep "0.$(printf %03d $((RANDOM % 150)))"
        kill -9 $pid 2>/dev/null
        wait $pid 2>/dev/null
        [ $? = 137 ] && killed=$((killed + 1)) # the run may also have finished first
    fi
    # a kill before the first checkpoint leaves nothing to resume from: start again, as a user would
    if [ -f "$out/checkpoints/last.safetensors" ]; then
        "$bin" train "${args[@]}" --resume >/dev/null 2>"$dir/err" || { no "trial $t: --resume failed"; cat "$dir/err"; }
    else
        "$bin" train "${args[@]}" >/dev/null 2>"$dir/err" || { no "trial $t: rerun failed"; cat "$dir/err"; }
    fi
    pairs+=(same "$dir/full$k/checkpoints/last.safetensors" "$out/checkpoints/last.safetensors")
done
(cd "$root" && check "${pairs[@]}") && ok || no "kill -9 and --resume is not bit-identical"
echo "faults: $trials kill -9 trials ($killed killed mid-run), each resumed to a bit-identical end"

# ---- 2. output folders that cannot be written ----
one_line_error() { # name rc-file err-file
    local rc=$1 err=$2 what=$3
    if [[ $rc != 1 && $rc != 2 ]] || [ "$(wc -l <"$err")" != 1 ]; then
        no "$what: exit $rc, $(wc -l <"$err") lines:"; cat "$err"; return 1
    fi
    return 0
}
small=(--data "$data" --model "dense:4,dense:1" --batch 10 --seed 1 --log-every 1)
touch "$dir/plainfile"
"$bin" train "${small[@]}" --steps 2 --out "$dir/plainfile/run" >/dev/null 2>"$dir/err"
one_line_error $? "$dir/err" "--out under a regular file" && grep -q "plainfile" "$dir/err" && ok ||
    no "--out under a regular file: the message does not name the path"
"$bin" train "${small[@]}" --steps 2 --out "$dir/plainfile" >/dev/null 2>"$dir/err"
one_line_error $? "$dir/err" "--out is a regular file" && ok

# checkpoints/ replaced by a file after a good checkpoint: --resume must fail cleanly
"$bin" train "${small[@]}" --steps 3 --ckpt-every 1 --out "$dir/ro" >/dev/null 2>&1 || no "run for the read-only test failed"
if [ "$(id -u)" != 0 ]; then
    chmod a-w "$dir/ro/checkpoints"
    cp "$dir/ro/checkpoints/last.safetensors" "$dir/ro-before"
    "$bin" train "${small[@]}" --steps 6 --ckpt-every 1 --resume --out "$dir/ro" >/dev/null 2>"$dir/err"
    one_line_error $? "$dir/err" "read-only checkpoints folder" && ok
    chmod u+w "$dir/ro/checkpoints"
    (cd "$root" && check same "$dir/ro-before" "$dir/ro/checkpoints/last.safetensors") && ok || no "read-only: checkpoint changed"
else
    echo "faults: note: running as root, which may write anywhere: the read-only folder case is left out"
fi

# a full disk: a 256 KiB tmpfs (room for the run folder with its figures), filled up after the first good checkpoint
mnt=$dir/tiny
mkdir -p "$mnt"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=256k tmpfs "$mnt" 2>/dev/null; then
    full=(--data "$data" --model "dense:200,dense:1" --batch 10 --seed 1 --log-every 1 --ckpt-every 1)
    "$bin" train "${full[@]}" --steps 2 --out "$mnt/run" >/dev/null 2>"$dir/err" || { no "run on the tmpfs failed"; cat "$dir/err"; }
    cp "$mnt/run/checkpoints/last.safetensors" "$dir/full-before"
    # leave 8 KiB: config.json and the metrics fit, a checkpoint (about 8 KiB, written beside the old one) does not
    free=$(df -k --output=avail "$mnt" | tail -1)
    dd if=/dev/zero of="$mnt/filler" bs=1k count=$((free - 8)) 2>/dev/null
    "$bin" train "${full[@]}" --steps 6 --resume --out "$mnt/run" >/dev/null 2>"$dir/err"
    rc=$?
    one_line_error $rc "$dir/err" "full disk" && ok
    grep -qiE "space|full" "$dir/err" && ok || { no "full disk: the message does not say the disk is full:"; cat "$dir/err"; }
    ls "$mnt/run/checkpoints" | grep -q tmp && no "full disk: a temporary file was left behind"
    (cd "$root" && check same "$dir/full-before" "$mnt/run/checkpoints/last.safetensors" step "$mnt/run/checkpoints/last.safetensors" 2) &&
        ok || no "full disk: the last good checkpoint changed"
    rm -f "$mnt/filler"
    "$bin" train "${full[@]}" --steps 6 --resume --out "$mnt/run" >/dev/null 2>"$dir/err" && ok ||
        { no "after freeing space, --resume failed"; cat "$dir/err"; }
    umount "$mnt" && mnt=""
    echo "faults: full 256 KiB tmpfs: one-line error, last good checkpoint intact, resumable once freed"
else
    mnt=""
    echo "faults: note: cannot mount a tmpfs here (not root, or not allowed): the full-disk case is left out"
fi

# ---- 3. NaN in the data, and divergence ----
printf 'a,b,y\n1,2,3\n4,nan,6\n7,8,9\n1,1,1\n2,2,2\n' >"$dir/nan.csv"
"$bin" train --data "csv:$dir/nan.csv" --model dense:1 --steps 1 --out "$dir/nanrun" >/dev/null 2>"$dir/err"
rc=$?
[ $rc = 2 ] && [ "$(wc -l <"$dir/err")" = 1 ] && grep -q "line 3" "$dir/err" && grep -q "NaN" "$dir/err" && ok ||
    { no "a NaN in the csv: exit $rc:"; cat "$dir/err"; }
[ ! -e "$dir/nanrun" ] && ok || no "a refused data set still created the run folder"

printf 'a,b,y\n1,2,inf\n4,5,6\n' >"$dir/inf.csv"
"$bin" train --data "csv:$dir/inf.csv" --model dense:1 --steps 1 --out "$dir/infrun" >/dev/null 2>"$dir/err"
[ $? = 2 ] && grep -q "line 2" "$dir/err" && ok || { no "an Inf in the csv was not refused"; cat "$dir/err"; }

div=(--data "$data" --model "dense:16,tanh,dense:1" --batch 10 --seed 2 --log-every 1 --ckpt-every 1 --optim sgd)
# an absurd learning rate from the start: the first steps diverge, before any checkpoint
"$bin" train "${div[@]}" --lr 1e30 --steps 20 --out "$dir/div0" >/dev/null 2>"$dir/err"
rc=$?
[ $rc = 1 ] && [ "$(wc -l <"$dir/err")" = 1 ] && grep -qE "diverged at step [0-9]+" "$dir/err" && ok ||
    { no "--lr 1e30: exit $rc:"; cat "$dir/err"; }
# five good steps (checkpointed each step), then --resume with an absurd learning rate
"$bin" train "${div[@]}" --lr 0.01 --steps 5 --out "$dir/div1" >/dev/null 2>&1 || no "the good run failed"
cp "$dir/div1/checkpoints/last.safetensors" "$dir/div-before"
"$bin" train "${div[@]}" --lr 1e30 --steps 30 --resume --out "$dir/div1" >/dev/null 2>"$dir/err"
rc=$?
if [ $rc = 1 ] && [ "$(wc -l <"$dir/err")" = 1 ] && grep -qE "diverged at step [0-9]+" "$dir/err" &&
    grep -q "last good checkpoint is $dir/div1/checkpoints/last.safetensors" "$dir/err"; then ok; else
    no "--resume --lr 1e30: exit $rc:"; cat "$dir/err"
fi
(cd "$root" && check finite "$dir/div1/checkpoints/last.safetensors") && ok || no "the checkpoint after divergence is not finite"
# a gradual divergence (the loss grows for a while, checkpointed at every step that stays finite)
"$bin" train "${div[@]}" --lr 3 --steps 60 --out "$dir/div2" >/dev/null 2>"$dir/err"
rc=$?
if [ $rc = 1 ] && grep -qE "diverged at step [0-9]+" "$dir/err"; then
    at=$(sed -nE 's/.*diverged at step ([0-9]+).*/\1/p' "$dir/err")
    if [ -f "$dir/div2/checkpoints/last.safetensors" ]; then
        (cd "$root" && check finite "$dir/div2/checkpoints/last.safetensors") && ok || no "--lr 3: the checkpoint is not finite"
    else
        grep -q "no checkpoint yet" "$dir/err" && ok || no "--lr 3: no checkpoint and the message claims one"
    fi
    echo "faults: --lr 3 diverged at step $at"
else
    no "--lr 3: exit $rc (expected a divergence):"; cat "$dir/err"
fi

echo "faults: $pass passed, $fail failed"
[ $fail = 0 ]
