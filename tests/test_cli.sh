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
bad "--lr" "not a finite number" -- train --lr nan
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

for c in train eval plot demo; do
    "$bin" $c --help >"$dir/help"
    if grep -q "default" "$dir/help"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $c --help"; fi
done
echo "cli: $pass passed, $fail failed"
[ $fail = 0 ]
