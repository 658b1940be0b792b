#!/bin/bash
# Fuzz every parser: build the libFuzzer targets tests/fuzz/fuzz_*.c with clang, AddressSanitizer
# and UndefinedBehaviorSanitizer into build-fuzz/, then run each for SECONDS (default 60), as many
# at a time as there are cores. The seeds are tests/fuzz/corpus/<target>/; what the fuzzers learn
# stays in build-fuzz/fuzz-corpus/<target>/. Exits non-zero when a target crashes, leaks, hangs
# or trips a sanitizer; the input that did it is in build-fuzz/fuzz-crashes/ and its log in
# build-fuzz/fuzz-logs/. Reproduce one with: build-fuzz/fuzz_<target> build-fuzz/fuzz-crashes/<file>
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 30, scripts/fuzz.sh 600 csv idx
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-60}
shift || true
command -v clang >/dev/null || { echo "fuzz: clang is not installed (scripts/setup.sh installs it)" >&2; exit 1; }

targets=("$@")
if [ ${#targets[@]} = 0 ]; then
    for f in tests/fuzz/fuzz_*.c; do t=${f##*/fuzz_}; targets+=("${t%.c}"); done
fi
jobs=$(nproc 2>/dev/null || echo 2)

echo "== fuzz: building ${#targets[@]} targets into build-fuzz (clang, ASan, UBSan)"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Release -DLINMASS_FUZZ=ON -DLINMASS_MPI=OFF \
      -DFUZZ_SECONDS="$seconds" >/dev/null
if ! cmake --build build-fuzz -j"$jobs" --target "${targets[@]/#/fuzz_}" >build-fuzz/build.log 2>&1; then
    grep -E "error:|Error [0-9]" build-fuzz/build.log >&2 || tail -20 build-fuzz/build.log >&2
    echo "fuzz: the build failed (build-fuzz/build.log)" >&2
    exit 1
fi
mkdir -p build-fuzz/fuzz-crashes build-fuzz/fuzz-logs

run_one() {
    local t=$1
    mkdir -p "build-fuzz/fuzz-corpus/$t"
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "build-fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=30 \
        -print_final_stats=1 -artifact_prefix="build-fuzz/fuzz-crashes/$t-" \
        "build-fuzz/fuzz-corpus/$t" "tests/fuzz/corpus/$t" >"build-fuzz/fuzz-logs/$t.log" 2>&1
}

echo "== fuzz: ${seconds} s per target, $jobs at a time"
declare -A pid_of
for t in "${targets[@]}"; do
    [ -x "build-fuzz/fuzz_$t" ] || { echo "fuzz: no target fuzz_$t" >&2; exit 1; }
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    run_one "$t" &
    pid_of[$t]=$!
done
failed=0
printf "%-12s %12s %10s %8s  %s\n" target executions exec/s corpus result
for t in "${targets[@]}"; do
    rc=0
    wait "${pid_of[$t]}" || rc=$?
    log=build-fuzz/fuzz-logs/$t.log
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    corpus=$(ls "build-fuzz/fuzz-corpus/$t" | wc -l)
    if [ "$rc" = 0 ]; then result=ok; else
        result="FAILED (exit $rc): $(grep -m1 -E '^==[0-9]+==ERROR|runtime error|^SUMMARY|ALARM|Test unit written' "$log" || echo "see $log")"
        failed=$((failed + 1))
    fi
    printf "%-12s %12s %10s %8s  %s\n" "$t" "${execs:-?}" "${rate:-?}" "$corpus" "$result"
done
if [ $failed != 0 ]; then
    echo "fuzz: $failed target(s) failed; inputs in build-fuzz/fuzz-crashes/, logs in build-fuzz/fuzz-logs/" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, no crash"
