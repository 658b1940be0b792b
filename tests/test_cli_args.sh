#!/bin/bash
# The command line behaves the same in every command: --threads out of range is refused with one
# message by train, probe hessian and sweep alike; an unknown option names the nearest one; an
# option where a value should be names the option that wanted it; --help has no heading twice;
# --version prints the project version of CMakeLists.txt.
set -uo pipefail
bin=${LINMASS_BIN:-build/linmass}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
src=$(pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); }
no() { fail=$((fail+1)); echo "FAIL: $*"; }

# exit 2, one line on stderr, every word in it, nothing written; the line is left in $dir/err
bad() { # words... -- args...
    local words=(); while [ "$1" != "--" ]; do words+=("$1"); shift; done; shift
    (cd "$dir" && "$bin" "$@" >out 2>err); local rc=$?
    local good=1
    [ $rc = 2 ] && [ "$(wc -l <"$dir/err")" = 1 ] || good=0
    for w in "${words[@]}"; do grep -qF -- "$w" "$dir/err" || good=0; done
    [ -z "$(ls "$dir" | grep -v -e '^out$' -e '^err$')" ] || good=0
    if [ $good = 1 ]; then ok; else no "linmass $* (rc $rc): $(cat "$dir/err")"; fi
}

# --threads: the same words from every command that takes it
msgs=()
for cmd in "train" "probe hessian" "sweep width" "probe ntk" "repro kernel" "demo" "bench fcn"; do
    bad "--threads 99999 must be in 0..1024" -- $cmd --threads 99999
    msgs+=("$(sed 's/^linmass [a-z ]*: //; s/ (see linmass .*--help)$//' "$dir/err")")
    bad "--threads -1 must be in 0..1024" -- $cmd --threads -1
done
[ "$(printf '%s\n' "${msgs[@]}" | sort -u | wc -l)" = 1 ] && ok || no "--threads messages differ: ${msgs[*]}"

# the nearest option, and the nearest command
bad "unknown option '--epoch'" "did you mean --epochs?" -- train --epoch 3
bad "did you mean --inputs?" -- probe hessian --inptus 4
bad "did you mean --metric?" -- plot --metrik test_loss runs/x
bad "unknown option '--zzzzzz'" -- train --zzzzzz
grep -q "did you mean" "$dir/err" && no "a far-off option got a suggestion: $(cat "$dir/err")" || ok
bad "unknown command 'trian'" "did you mean train?" -- trian

# an option where a value should be
bad "--lr" "'--out'" -- train --lr --out DIR
bad "--epochs needs a whole number, got '--out'" -- train --epochs --out DIR
bad "--inputs needs a whole number, got '-x'" -- probe hessian --inputs -x
bad "--out needs a value, got the option '--epochs'" -- train --out --epochs 2
bad "--lr" "needs a value" -- train --lr

# --help: every command's, no heading twice (case, "(...)" and the colon aside)
for cmd in train eval plot bench constants theory repro probe sweep demo version "probe hessian" "probe ntk" \
           "probe linearity" "probe plstar" "sweep width"; do
    "$bin" $cmd --help >"$dir/out" 2>&1 || { no "linmass $cmd --help exits $?"; continue; }
    dups=$(grep -E '^[A-Za-z][^:]*:$' "$dir/out" | tr 'A-Z' 'a-z' | sed 's/ *(.*)//; s/:$//' | sort | uniq -d)
    [ -z "$dups" ] && ok || no "linmass $cmd --help repeats the heading(s): $dups"
done

# repro's settings: --medium is documented, taken by a claim that has it, refused with --quick
# and by a claim without it
"$bin" repro --help >"$dir/out" 2>&1
grep -q -- "--medium" "$dir/out" && grep -A1 -- "^with --medium:" "$dir/out" | grep -q "mass-vs-baselines-fcn" && ok \
    || no "repro --help documents no --medium setting"
bad "--quick and --medium" -- repro mass-vs-baselines-fcn --quick --medium
bad "claim 'kernel-regression' has no medium setting" -- repro kernel-regression --medium
bad "unknown claim 'no-such'" -- repro no-such --medium

# --version and version: the project version of CMakeLists.txt
want=$(sed -n 's/^project(linmass VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$want" ] && ok || no "no project version in CMakeLists.txt"
for v in --version version; do
    got=$("$bin" $v 2>&1)
    [ "$got" = "linmass $want" ] && ok || no "linmass $v printed '$got', expected 'linmass $want'"
done
bad "unexpected argument" -- version extra

echo "test_cli_args: $pass passed, $fail failed"
[ $fail = 0 ]
