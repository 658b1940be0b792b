#!/bin/bash
# ctest-labels: slow
# valgrind memcheck is clean (no invalid read or write, no use of uninitialised values, no
# definite leak) on short training runs (dense with dropout, then conv, batch norm, pooling and a
# residual block on tiny images; checkpoint, --resume, eval) and on the gradient check. About
# 10 s; the probe tests are left out (minutes each under valgrind).
set -uo pipefail
bin=${LINMASS_BIN:-build/linmass}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
gradcheck=$(dirname "$bin")/test_gradcheck
command -v valgrind >/dev/null || { echo "valgrind: not installed (scripts/setup.sh installs it)"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --track-origins=yes)
pass=0 fail=0
run() { # what expected-exit -- command...
    local what=$1 want=$2; shift 3
    "${vg[@]}" "$@" >"$dir/out" 2>"$dir/err"
    local rc=$?
    if [ $rc = "$want" ]; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL (exit $rc): $what"; grep -v '^epoch' "$dir/err" | head -40
    fi
}

for p in train t10k; do # eight 3x8x8 float32 images (bytes 0x30..0x3e: finite, below 1), labels 0..3
    { printf '\0\0\015\004\0\0\0\010\0\0\0\003\0\0\0\010\0\0\0\010'
      awk 'BEGIN { for (i = 0; i < 8 * 192 * 4; i++) printf "%c", 48 + (i * 7) % 15 }'; } >"$dir/$p-images-idx3-ubyte"
    { printf '\0\0\010\001\0\0\0\010'; printf '\0\1\2\3\0\1\2\3'; } >"$dir/$p-labels-idx1-ubyte"
done
dense=(--data synth:linreg:n=100,d=8 --model "dense:16,relu,dropout:0.2,dense:1" --batch 10 --ckpt-every 3
       --optim mass --lr 0.05 --alpha 0.05 --kappa-tilde 3)
run "train (dense)" 0 -- "$bin" train "${dense[@]}" --steps 6 --out "$dir/run"
run "train --resume" 0 -- "$bin" train "${dense[@]}" --steps 12 --resume --out "$dir/run"
run "eval" 0 -- "$bin" eval --run "$dir/run"
run "train (conv, bn, pool, res)" 0 -- "$bin" train --data "idx:$dir:classes=4" \
    --model "conv:4x3,bn,relu,maxpool:2,res:8/2,gap,dense:4" --batch 4 --steps 3 --optim adam --lr 0.01 --out "$dir/cnn"
run "a refused invocation" 2 -- "$bin" train --data synth:linreg:n=10,d=2 --model dense:1 --init-from "$dir/run/checkpoints/last.safetensors" \
    --out "$dir/none"
if [ -x "$gradcheck" ]; then run "test_gradcheck" 0 -- "$gradcheck"; else echo "valgrind: note: $gradcheck not built, left out"; fi
echo "valgrind: $pass passed, $fail failed"
[ $fail = 0 ]
