#!/bin/bash
# Bad invocations exit 2 with exactly one line on stderr that names the problem, and write
# nothing; --help works for every command and shows defaults.
set -uo pipefail
bin=${LINMASS_BIN:-build/linmass}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0

bad() { # expected-words... -- args...
    local words=() ; while [ "$1" != "--" ]; do words+=("$1"); shift; done; shift
    (cd "$dir" && "$bin" "$@" >"$dir/out" 2>"$dir/err"); local rc=$?
    local lines; lines=$(wc -l <"$dir/err")
    local ok=1
    [ $rc = 2 ] || ok=0
    [ "$lines" = 1 ] || ok=0
    for w in "${words[@]}"; do grep -qF -- "$w" "$dir/err" || ok=0; done
    [ -z "$(ls "$dir" | grep -v -e '^out$' -e '^err$' -e '^help$')" ] || ok=0
    if [ $ok = 1 ]; then pass=$((pass+1)); else
        fail=$((fail+1)); echo "FAIL ($rc, $lines lines): linmass $*"; cat "$dir/err"; fi
    rm -rf "$dir"/runs
}

bad "unknown layer" "foo:3" -- train --model foo:3
bad "width must be at least 1" "dense:0" -- train --model dense:0
bad "needs an image input" -- train --model conv:8x3 --data synth:linreg
bad "pooling window" -- train --model "conv:4x3,maxpool:64,dense:10"
bad "dropout" "[0, 1)" -- train --model "dense:10,dropout:1.5,dense:10"
bad "conv:CxK" -- train --model conv:64
bad "empty layer" -- train --model "dense:10,,relu"
bad "expected dense:N" "dense:10x" -- train --model "dense:10x"
bad "has 5 outputs" "10 classes" -- train --model dense:5
bad "unknown option" "--frobnicate" -- train --frobnicate
bad "--lr" "needs a value" -- train --lr
bad "--batch" "not a whole number" -- train --batch ten
bad "--batch 0" -- train --batch 0
bad "--epochs" -- train --epochs -1
bad "lr 'nan'" "not a finite number" -- train --lr nan
bad "--optim" "rmsprop" -- train --optim rmsprop
bad "--param" -- train --param mean-field
bad "given twice" -- train --seed 1 --seed 2
bad "--val-fraction" -- train --val-fraction 1.5
bad "/nonexistent" -- train --data mnist:/nonexistent
bad "csv" -- train --data csv:/nonexistent.csv
bad "unknown command" "frob" -- frob
bad "unexpected argument" -- train extra
bad "/nonexistent/config.json" -- eval --run /nonexistent
bad "--checkpoint" -- eval --model fcn
bad "name at least one" -- plot

# ---- more of them (issue 9): out-of-range numbers, conflicts, files that are missing, empty or
# folders, and --resume that cannot resume; inputs live in $fix, outside the folder watched
fix=$(mktemp -d)
trap 'rm -rf "$dir" "$fix"' EXIT
S=(--data synth:linreg:n=20,d=4 --model dense:1)
mkdir -p "$fix/folder" "$fix/img"
: >"$fix/empty"
for p in train t10k; do # two 4x4 images, labels 0 and 1
    { printf '\0\0\010\003\0\0\0\002\0\0\0\004\0\0\0\004'; head -c 32 /dev/zero; } >"$fix/img/$p-images-idx3-ubyte"
    printf '\0\0\010\001\0\0\0\002\0\001' >"$fix/img/$p-labels-idx1-ubyte"
done
"$bin" train "${S[@]}" --steps 2 --out "$fix/run" >/dev/null 2>&1 || echo "FAIL: the run for the --resume cases"
cp "$fix/run/config.json" "$fix/config.before"
bad "more than 100000000" -- train --data synth:linreg:n=20,d=4 --model dense:200000000
bad "more than 100000000" "res:8181" -- train --data "idx:$fix/img" --model res:8181,gap,dense:10
bad "--threads 100000" "0..1024" -- train "${S[@]}" --threads 100000
bad "--batch" "not a whole number" -- train --batch 99999999999
bad "--epochs" "not a whole number" -- train --epochs 99999999999
bad "--seed" "not a whole number" -- train --seed -1
bad "--steps -5" -- train --steps -5
bad "--data" "needs a value" -- train --data
bad "--resume takes no value" -- train --resume=1
bad "--model given twice" -- train --model dense:1 --model conv:4x3
bad "lr '1e400'" -- train --lr 1e400
bad "momentum 'abc'" -- train --momentum abc
bad "nesterov '2'" -- train "${S[@]}" --nesterov 2
bad "unknown option '--'" -- train --
bad "unexpected argument '-x'" -- train -x
bad "--val-fraction -0.1" -- train --val-fraction -0.1
bad "--log-every 0" -- train --log-every 0
bad "--ckpt-every -1" -- train --ckpt-every -1
bad "--max-train -1" -- train --max-train -1
bad "milestone" "abc" -- train "${S[@]}" --schedule multistep:abc
bad "warm-up" -- train "${S[@]}" --schedule warmup:-3
bad "beta1 belongs to" -- train "${S[@]}" --optim sgd --beta1 0.9
bad "not options of both forms" -- train "${S[@]}" --optim mass --eta1 0.1 --alpha 0.05 --kappa-tilde 3
bad "model spec is empty" -- train --data synth:linreg:n=20,d=4 --model ""
bad "empty path" -- train "${S[@]}" --out ""
bad "Is a directory" -- train --data "csv:$fix/folder" --model dense:1
bad "no data rows" -- train --data "csv:$fix/empty" --model dense:1
bad "Not a directory" -- train --data "mnist:$fix/empty"
bad "data_batch_1.bin" -- train --data cifar10:/nonexistent
bad "classes" "'0'" -- train --data "idx:$fix/img:classes=0"
bad "synth:linreg" "'-5'" -- train --data synth:linreg:n=-5
bad "cond" -- train --data synth:linreg:n=20,d=4,cond=0 --model dense:1
bad "unknown data source" "nosuch:x" -- train --data nosuch:x
bad "resume: " "No such file" -- train "${S[@]}" --resume
bad "not 'dense:2,relu,dense:1'" -- train --data synth:linreg:n=20,d=4 --model dense:2,relu,dense:1 --resume --out "$fix/run"
bad "seed 0, not 3" -- train "${S[@]}" --resume --out "$fix/run" --seed 3
bad "optimizer sgd, not adam" -- train "${S[@]}" --resume --out "$fix/run" --optim adam
cmp -s "$fix/run/config.json" "$fix/config.before" && pass=$((pass+1)) ||
    { fail=$((fail+1)); echo "FAIL: a refused --resume rewrote the run's config.json"; }
bad "is a directory" -- eval --checkpoint "$fix/folder" --model dense:1 --data synth:linreg:n=20,d=4
bad "0 bytes" -- eval --checkpoint "$fix/empty" --model dense:1 --data synth:linreg:n=20,d=4
bad "Not a directory" -- eval --run "$fix/empty"
bad "conflicts" -- eval --run "$fix/run" --checkpoint x
bad "batch size 0" -- eval --checkpoint "$fix/run/checkpoints/last.safetensors" --model dense:1 --data synth:linreg:n=20,d=4 --batch 0
bad "has shape [1, 4]" "[2, 4]" -- eval --checkpoint "$fix/run/checkpoints/last.safetensors" --model dense:2 --data synth:linreg:n=20,d=4
bad "takes no value" -- plot --linear=1
bad "unknown option" "--nope" -- bench --nope
bad "unknown option" "--frob" -- demo --frob

for c in train eval plot demo; do
    "$bin" $c --help >"$dir/help"
    if grep -q "default" "$dir/help"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $c --help"; fi
done
echo "cli: $pass passed, $fail failed"
[ $fail = 0 ]
