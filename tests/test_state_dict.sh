#!/bin/bash
# ctest-labels: slow
# Weights from PyTorch: plain state_dicts (tests/fixtures/state_dict, written by
# tools/gen_state_dict_torch.py with tools/export_torch.py, as safetensors.torch.save_file writes
# them) load for `eval`, `probe` and `train --init-from` with the --model spec the exporter
# printed, and give PyTorch's numbers: the test loss to 1e-6 (float32), the tangent kernel to
# 1e-9 (float64). The MLP, which flattens in forward(), is numbered one layer below linmass and
# loads under the index shift with a note; a missing tensor, a wrong shape and unknown names are
# refused (exit 2, one line) naming the tensor and the shapes, or listing both sides' names and
# the input shape. Probes take the parameterisation a checkpoint records; a plain state_dict,
# which records none, is standard with a note; tools/read_checkpoint.py's model_tensors leaves
# out optim.* and data.*.
set -uo pipefail
bin=${LINMASS_BIN:-build/linmass}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
py=/usr/bin/python3
root=$PWD
fix=$root/tests/fixtures/state_dict
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
"$py" -c "import numpy" 2>/dev/null || { echo "state_dict: SKIPPED (no numpy for $py)"; exit 77; }
ref() { "$py" -c "import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]])" "$fix/torch.json" "$1" "$2"; }
data=idx:$fix:classes=3
close() { # close GOT WANT TOL
    "$py" -c "import sys; g, w, t = map(float, sys.argv[1:]); sys.exit(abs(g - w) > t * abs(w))" "$1" "$2" "$3"
}
json_field() { "$py" -c "import json, sys; print(json.loads(sys.stdin.read().splitlines()[-1])[sys.argv[1]])" "$1"; }

# ---- eval and probe ntk against PyTorch ----
for m in mlp conv; do
    spec=$(ref $m spec)
    out=$("$bin" eval --checkpoint "$fix/$m.safetensors" --model "$spec" --data "$data" --json 2>"$dir/err")
    rc=$?
    loss=$(echo "$out" | json_field test_loss) acc=$(echo "$out" | json_field test_acc)
    [ $rc = 0 ] && close "$loss" "$(ref $m test_loss)" 1e-6 && close "$acc" "$(ref $m test_acc)" 0 && ok ||
        { no "$m: eval gives loss $loss acc $acc (exit $rc), PyTorch $(ref $m test_loss) $(ref $m test_acc)"; cat "$dir/err"; }
    grep -q "records no parameterization (a plain state_dict): --param standard assumed" "$dir/err" && ok ||
        { no "$m: no note on the parameterization"; cat "$dir/err"; }
    if [ $m = mlp ]; then
        grep -q "numbers its layers 1 lower than --model $spec" "$dir/err" && ok || { no "mlp: no note on the index shift"; cat "$dir/err"; }
    else
        grep -q "lower than" "$dir/err" && no "conv: a note on an index shift that is not there" || ok
    fi
    "$bin" probe ntk --checkpoint "$fix/$m.safetensors" --model "$spec" --data "$data" --inputs "$(ref $m ntk_inputs)" \
        --save "$dir/$m.npy" --out "$dir/probe-$m" >/dev/null 2>"$dir/err" || { no "$m: probe ntk failed"; cat "$dir/err"; }
    "$py" - "$dir/$m.npy" "$fix/torch.json" "$m" <<'PY' && ok || no "$m: the tangent kernel is not PyTorch's"
import json, sys
import numpy as np
k, want = np.load(sys.argv[1]), np.array(json.load(open(sys.argv[2]))[sys.argv[3]]["ntk"])
err = np.abs(k - want).max() / np.abs(want).max()
print("%s: tangent kernel %dx%d, largest difference from PyTorch's %.2g of its largest entry" % (sys.argv[3], *k.shape, err))
sys.exit(1 if err > 1e-9 else 0)
PY
done

# ---- train --init-from: the first step's loss and the test loss are PyTorch's ----
"$bin" train --init-from "$fix/mlp.safetensors" --model "$(ref mlp spec)" --data "$data" --no-normalize --batch 40 --steps 1 \
    --lr 1e-30 --log-every 1 --out "$dir/init" >/dev/null 2>"$dir/err" || { no "train --init-from failed"; cat "$dir/err"; }
line=$(head -1 "$dir/init/metrics.jsonl")
close "$(echo "$line" | json_field train_loss)" "$(ref mlp train_loss)" 1e-6 &&
    close "$(echo "$line" | json_field test_loss)" "$(ref mlp test_loss)" 1e-6 && ok ||
    no "train --init-from: the losses at PyTorch's weights are $line, PyTorch's $(ref mlp train_loss) and $(ref mlp test_loss)"
grep -q '"index_shift":	1' "$dir/init/config.json" && ok || no "config.json does not record the init-from's index shift"

# ---- what does not fit is refused, naming it ----
(cd "$root" && "$py" - "$fix" "$dir" <<'PY'
import sys
sys.path.insert(0, "tools")
import numpy as np
from export_torch import write_safetensors
from read_checkpoint import load
fix, out = sys.argv[1], sys.argv[2]
t = load(fix + "/conv.safetensors")
write_safetensors({k: v for k, v in t.items() if k != "4.bias"}, out + "/missing.safetensors")
write_safetensors({**t, "4.weight": np.zeros((3, 35), np.float32)}, out + "/shape.safetensors")
write_safetensors({("fc." + k if k.startswith("4.") else k): v for k, v in t.items()}, out + "/names.safetensors")
write_safetensors(t, out + "/pt.safetensors", metadata={"format": "pt"})  # as transformers' save_pretrained
PY
)
bad() { # bad FILE WORDS...: eval and probe hessian both refuse FILE, one line naming WORDS
    local file=$1; shift
    for cmd in "eval --data $data" "probe hessian --data $data --inputs 2 --out $dir/p"; do
        # shellcheck disable=SC2086
        "$bin" $cmd --checkpoint "$dir/$file" --model "$(ref conv spec)" --param standard >/dev/null 2>"$dir/err"
        local rc=$? good=1
        [ $rc = 2 ] && [ "$(wc -l <"$dir/err")" = 1 ] || good=0
        for w in "$@"; do grep -qF -- "$w" "$dir/err" || good=0; done
        [ $good = 1 ] && ok || { no "${cmd%% *} $file: exit $rc:"; cat "$dir/err"; }
    done
}
bad missing.safetensors "tensor '4.bias' is missing" "the file holds 0.weight [4, 1, 3, 3]"
bad shape.safetensors "tensor '4.weight' has shape [3, 35] but the model expects [3, 36]"
bad names.safetensors "tensor '4.weight' is missing" "fc.4.weight [3, 36]" "expects 0.weight [4, 1, 3, 3]" \
    "built for inputs [1, 3, 3]"
out=$("$bin" eval --checkpoint "$dir/pt.safetensors" --model "$(ref conv spec)" --data "$data" --json 2>/dev/null)
close "$(echo "$out" | json_field test_loss)" "$(ref conv test_loss)" 1e-6 && ok || no "a state_dict with metadata format=pt: $out"

# ---- probes default to the parameterization a checkpoint records ----
S=(--data synth:linreg:n=64,d=8,seed=1 --model "dense:32,tanh,dense:1" --steps 30 --lr 0.05 --momentum 0.9 --log-every 10)
for p in standard ntk; do
    "$bin" train "${S[@]}" --param $p --out "$dir/run-$p" >/dev/null 2>&1 || no "training with --param $p failed"
    "$bin" probe hessian --checkpoint "$dir/run-$p/checkpoints/last.safetensors" --model "dense:32,tanh,dense:1" \
        --data synth:linreg:n=64,d=8,seed=1 --inputs 4 --json --out "$dir/ph-$p" >"$dir/ph.json" 2>"$dir/err" ||
        { no "probe of the $p checkpoint failed"; cat "$dir/err"; }
    [ "$(json_field param <"$dir/ph.json")" = $p ] && ! grep -q "^note:" "$dir/err" && ok ||
        { no "the probe of a --param $p checkpoint did not take $p silently"; cat "$dir/err"; }
    "$bin" eval --checkpoint "$dir/run-$p/checkpoints/last.safetensors" --model "dense:32,tanh,dense:1" \
        --data synth:linreg:n=64,d=8,seed=1 --json 2>/dev/null | json_field test_loss >"$dir/e1"
    "$bin" eval --run "$dir/run-$p" --json 2>/dev/null | json_field test_loss >"$dir/e2"
    cmp -s "$dir/e1" "$dir/e2" && ok || no "eval --checkpoint of a --param $p run differs from eval --run"
done

# ---- tools/export_torch.py from the command line (when PyTorch is here) ----
if "$py" -c "import torch" 2>/dev/null; then
    "$py" -c '
import sys, torch
nn = torch.nn
torch.save(nn.Sequential(nn.Flatten(), nn.Linear(9, 5, bias=False), nn.GELU(), nn.Dropout(0.25), nn.Linear(5, 3)), sys.argv[1])
' "$dir/seq.pt"
    got=$(cd "$root" && "$py" tools/export_torch.py "$dir/seq.pt" "$dir/seq.safetensors" 2>&1)
    [ "$got" = "--model flatten,dense:5:nobias,gelu,dropout:0.25,dense:3" ] && ok || no "export_torch.py printed '$got'"
    "$bin" eval --checkpoint "$dir/seq.safetensors" --model "${got#--model }" --data "$data" >/dev/null 2>"$dir/err" && ok ||
        { no "eval of export_torch.py's file failed"; cat "$dir/err"; }
else
    echo "state_dict: note: no PyTorch here, export_torch.py's command line is left out"
fi

# ---- read_checkpoint.model_tensors: the state_dict, without optim.* and data.* ----
(cd "$root" && "$py" - "$dir/run-standard/checkpoints/last.safetensors" <<'PY'
import sys
sys.path.insert(0, "tools")
from read_checkpoint import load, model_tensors
t = load(sys.argv[1])
assert {"data.mean", "data.std"} <= set(t) and any(k.startswith("optim.") for k in t), sorted(t)
assert sorted(model_tensors(t)) == ["0.bias", "0.weight", "2.bias", "2.weight"], sorted(model_tensors(t))
PY
) && ok || no "read_checkpoint.model_tensors"

echo "state_dict: $pass passed, $fail failed"
[ $fail = 0 ]
