#!/bin/bash
# ctest-labels: slow
# Run folders that record what they did and resume from what they hold:
#  1. --resume on an empty folder, on one holding only config.json, and (the same command line
#     reused) after a kill -9 before the first checkpoint: the run starts from the beginning with
#     a one-line note and ends bit-identical to a run without --resume; a folder whose config.json
#     contradicts the command line is refused (exit 2) and left as it was;
#  2. train into a folder that holds a run: refused (exit 2) without --resume or --overwrite;
#     --overwrite starts afresh, and a stale checkpoint of the old run does not survive;
#  3. config.json after --auto: the hyper-parameters the run stepped with (the metrics' lr is
#     its eta1), the schedule, param and the version of `linmass --version`; --resume with only
#     --out continues the run bit-identically;
#  4. the train loss of metrics.jsonl is the mean over the steps since the previous line: the
#     windows of a --log-every 3 run, computed from the per-step losses of a --log-every 1 run
#     (windows that straddle epoch ends included), and each epoch's mean;
#  5. --eval-every adds test evaluations without changing the weights; --ckpt-minutes writes
#     checkpoints between epoch ends, and a kill -9 after one resumes bit-identically.
set -uo pipefail
bin=${LINMASS_BIN:-build/linmass}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
py=/usr/bin/python3
root=$PWD
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
same() { # same A B: the checkpoints of run folders A and B hold the same tensors, bit for bit
    (cd "$root" && "$py" - "$1/checkpoints/last.safetensors" "$2/checkpoints/last.safetensors" <<'PY'
import sys
sys.path.insert(0, "tools")
from read_checkpoint import load
a, b = load(sys.argv[1]), load(sys.argv[2])
diff = sorted(set(a) ^ set(b)) + [k for k in a if k in b and a[k].tobytes() != b[k].tobytes()]
sys.exit("%s and %s differ in %s" % (sys.argv[1], sys.argv[2], diff[:5]) if diff else 0)
PY
    )
}

A=(--data synth:linreg:n=200,d=8,seed=3 --model "dense:16,tanh,dropout:0.2,dense:1" --batch 10 --epochs 2 --seed 4
   --log-every 1 --optim sgd --lr 0.05 --momentum 0.9)
"$bin" train "${A[@]}" --out "$dir/ref" >/dev/null 2>&1 || no "the reference run failed"

# ---- 1. --resume with nothing to resume from ----
"$bin" train "${A[@]}" --resume --out "$dir/empty" >/dev/null 2>"$dir/err" && ok || no "--resume on a new folder failed"
[ "$(cat "$dir/err")" = "note: no checkpoint in $dir/empty yet: the run starts from the beginning" ] && ok ||
    { no "--resume on a new folder: the note is"; cat "$dir/err"; }
same "$dir/ref" "$dir/empty" && ok || no "--resume on a new folder differs from a plain run"
mkdir "$dir/cfg" && cp "$dir/ref/config.json" "$dir/cfg/"
"$bin" train --resume --out "$dir/cfg" >/dev/null 2>&1 && ok || no "--resume on a folder with only config.json failed"
same "$dir/ref" "$dir/cfg" && ok || no "--resume on a folder with only config.json differs from a plain run"
cmp -s <(sed -E 's/,"samples_per_sec".*//' "$dir/ref/metrics.jsonl") <(sed -E 's/,"samples_per_sec".*//' "$dir/cfg/metrics.jsonl") &&
    ok || no "--resume on a folder with only config.json: metrics.jsonl differs"
{ LINMASS_KILL_AT_STEP=5 "$bin" train "${A[@]}" --resume --out "$dir/early" >/dev/null 2>&1; } 2>/dev/null
[ ! -e "$dir/early/checkpoints/last.safetensors" ] && ok || no "the run killed at step 5 has a checkpoint"
"$bin" train "${A[@]}" --resume --out "$dir/early" >/dev/null 2>&1 && ok || no "--resume after an early kill failed"
same "$dir/ref" "$dir/early" && ok || no "--resume after an early kill differs from a plain run"
mkdir "$dir/other" && sed 's/"dense:16,tanh,dropout:0.2,dense:1"/"dense:8,tanh,dense:1"/' "$dir/ref/config.json" >"$dir/other/config.json"
cp "$dir/other/config.json" "$dir/other.before"
"$bin" train "${A[@]}" --resume --out "$dir/other" >/dev/null 2>"$dir/err"
rc=$?
[ $rc = 2 ] && [ "$(wc -l <"$dir/err")" = 1 ] && grep -q -- "--model contradicts the run in $dir/other" "$dir/err" && ok ||
    { no "a contradicting config.json: exit $rc"; cat "$dir/err"; }
[ "$(ls "$dir/other")" = config.json ] && cmp -s "$dir/other/config.json" "$dir/other.before" && ok ||
    no "a refused --resume changed the folder"

# ---- 2. an existing run is kept unless --overwrite ----
cp "$dir/ref/checkpoints/last.safetensors" "$dir/ref.ckpt"
"$bin" train "${A[@]}" --out "$dir/ref" >/dev/null 2>"$dir/err"
[ $? = 2 ] && grep -q "already holds a run: --resume continues it, --overwrite replaces it" "$dir/err" && ok ||
    { no "train into an existing run was not refused"; cat "$dir/err"; }
cmp -s "$dir/ref.ckpt" "$dir/ref/checkpoints/last.safetensors" && ok || no "a refused train changed the checkpoint"
cp -r "$dir/ref" "$dir/over"
{ LINMASS_KILL_AT_STEP=3 "$bin" train "${A[@]}" --max-train 150 --overwrite --out "$dir/over" >/dev/null 2>&1; } 2>/dev/null
[ ! -e "$dir/over/checkpoints/last.safetensors" ] && ok || no "--overwrite kept the old run's checkpoint"
"$bin" train "${A[@]}" --max-train 150 --out "$dir/new" >/dev/null 2>&1
"$bin" train --resume --out "$dir/over" >/dev/null 2>&1 && same "$dir/new" "$dir/over" && ok ||
    no "--overwrite, killed, then --resume: not the new run"

# ---- 3. what config.json records; --resume with only --out ----
L=(--data synth:linreg:n=200,d=8,seed=3 --model linear --optim mass --auto --batch 10 --epochs 3 --log-every 1)
"$bin" train "${L[@]}" --out "$dir/auto" >/dev/null 2>"$dir/auto.err" || no "the --auto run failed"
{ LINMASS_KILL_AT_STEP=35 "$bin" train "${L[@]}" --ckpt-every 10 --out "$dir/auto-cut" >/dev/null 2>&1; } 2>/dev/null
"$bin" train --resume --out "$dir/auto-cut" >/dev/null 2>&1 && ok || no "--resume --out alone failed"
same "$dir/auto" "$dir/auto-cut" && ok || no "--resume --out alone is not bit-identical"
version=$("$bin" --version | sed 's/^linmass //')
(cd "$root" && "$py" - "$dir/auto" "$version" <<'PY'
import json, re, sys
sys.path.insert(0, "tools")
from read_checkpoint import load_with_metadata
d, version = sys.argv[1], sys.argv[2]
cfg = json.load(open(d + "/config.json"))
res, bad = cfg["resolved"], []
opt = res["optimizer"]
first = json.loads(open(d + "/metrics.jsonl").readline())
note = open(d + "/../auto.err").read()
m = re.search(r"mass eta1 ([0-9.e+-]+), eta2 ([0-9.e+-]+), gamma ([0-9.e+-]+)", note)
checks = [
    (cfg["lr"] is None and cfg["auto"] is True, "the options as given: lr null, auto true"),
    (opt["kind"] == "mass" and opt["form"] == "eta1, eta2, gamma", "the optimizer and the form it stepped in"),
    (first["lr"] == opt["eta1"], "the step the run took (metrics lr %r) is the recorded eta1 %r" % (first["lr"], opt["eta1"])),
    (m is not None and all(abs(float(m.group(i + 1)) / opt[k] - 1) < 1e-5 for i, k in enumerate(["eta1", "eta2", "gamma"])),
     "eta1, eta2, gamma are those of the --auto note"),
    ([opt[k] for k in ("eta1", "eta2", "gamma")] == [res["auto"][k] for k in ("eta1", "eta2", "gamma")], "optimizer and auto agree"),
    (opt["schedule"] == "constant" and opt["restart"] is False, "the schedule"),
    (res["param"] == "standard" and res["version"] == version, "param and version"),
]
_, meta = load_with_metadata(d + "/checkpoints/last.safetensors")
hp = json.loads(meta["optimizer_hparams"])
checks += [(hp == opt, "the checkpoint's optimizer_hparams are config.json's"),
           (meta.get("param") == "standard" and meta.get("linmass_version") == version, "the checkpoint's param and version")]
report = open(d + "/report.md").read()
checks.append(("eta1 %.6g" % opt["eta1"] in report and "(hyper-parameters from the data's constants)" in report, "report.md names eta1"))
bad = [what for good, what in checks if not good]
for what in bad:
    print("FAIL: config.json after --auto: " + what)
sys.exit(1 if bad else 0)
PY
) && ok || no "what config.json, the checkpoint or report.md record after --auto"

# ---- 4. the windowed train loss ----
W=(--data synth:linreg:n=200,d=8,seed=3 --model "dense:16,tanh,dense:1" --batch 10 --epochs 3 --seed 2 --optim adam --lr 0.01)
"$bin" train "${W[@]}" --log-every 1 --out "$dir/w1" >/dev/null 2>&1 || no "the --log-every 1 run failed"
"$bin" train "${W[@]}" --log-every 3 --out "$dir/w3" >/dev/null 2>&1 || no "the --log-every 3 run failed"
"$py" - "$dir/w1/metrics.jsonl" "$dir/w3/metrics.jsonl" <<'PY' && ok || no "the windowed train loss"
import json, sys
one = [json.loads(l) for l in open(sys.argv[1])]
three = [json.loads(l) for l in open(sys.argv[2])]
loss = {o["step"]: o["train_loss"] for o in one}  # each step's own loss (equal batches of 10)
assert sorted(loss) == list(range(1, 61)), sorted(loss)
# lines every 3 steps and at each epoch end (20, 40, 60): windows (18, 20], (20, 21], ...
steps = sorted({s for s in range(3, 61, 3)} | {20, 40, 60})
assert [o["step"] for o in three] == steps, [o["step"] for o in three]
prev, bad = 0, 0
for o in three:
    want = sum(loss[s] for s in range(prev + 1, o["step"] + 1)) / (o["step"] - prev)
    if abs(o["train_loss"] - want) > 1e-12 * abs(want):
        print("FAIL: step %d: train_loss %r, the mean of steps %d..%d is %r" % (o["step"], o["train_loss"], prev + 1, o["step"], want))
        bad += 1
    if o.get("end_of_epoch"):
        e = o["step"] // 20
        epoch = sum(loss[s] for s in range(20 * e - 19, 20 * e + 1)) / 20
        if abs(o["epoch_train_loss"] - epoch) > 1e-12 * epoch:
            print("FAIL: epoch %d: epoch_train_loss %r, the epoch's mean %r" % (e, o["epoch_train_loss"], epoch)); bad += 1
    prev = o["step"]
print("windowed train loss: %d lines checked against the per-step losses" % len(three))
sys.exit(1 if bad else 0)
PY

# ---- 5. --eval-every and --ckpt-minutes ----
"$bin" train "${W[@]}" --log-every 5 --eval-every 7 --out "$dir/ev" >/dev/null 2>&1 || no "the --eval-every run failed"
same "$dir/w1" "$dir/ev" && ok || no "--eval-every changed the weights"
got=$("$py" -c 'import json, sys; print(" ".join(str(o["step"]) for o in map(json.loads, open(sys.argv[1])) if "test_loss" in o))' "$dir/ev/metrics.jsonl")
[ "$got" = "7 14 20 21 28 35 40 42 49 56 60" ] && ok || no "--eval-every 7: test evaluations at steps $got"
{ LINMASS_KILL_AT_STEP=15 "$bin" train "${W[@]}" --log-every 1 --ckpt-minutes 1e-9 --out "$dir/cm" >/dev/null 2>&1; } 2>/dev/null
step=$("$py" -c 'import sys; sys.path.insert(0, "tools"); from read_checkpoint import load_with_metadata as l; print(l(sys.argv[1])[1]["step"])' \
    "$dir/cm/checkpoints/last.safetensors" 2>/dev/null)
# the kill comes in the report of step 15, before its checkpoint
[ "$step" = 14 ] && ok || no "--ckpt-minutes 1e-9 (a checkpoint after every step), killed at 15: the checkpoint is at step '$step'"
"$bin" train --resume --out "$dir/cm" >/dev/null 2>&1 && same "$dir/w1" "$dir/cm" && ok || no "--ckpt-minutes: the resume is not bit-identical"

echo "train runs: $pass passed, $fail failed"
[ $fail = 0 ]
