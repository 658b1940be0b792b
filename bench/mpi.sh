#!/bin/bash
# One rank with T threads against T ranks with one thread each (mpirun), gradient sums
# overlapped with the backward pass or not, on the training workloads of `linmass bench`.
#
#   LINMASS_BIN=build/linmass bench/mpi.sh [--seconds S] [--rounds N] [--ranks R] [--reduce ordered|mpi] [WORKLOAD...]
#
# Defaults: 3 s per run, 2 rounds, R = 2 (so T = 2), ordered sums, workloads mlp and cnn. Each
# round runs every configuration once, in turn, so that all see the same machine load; the
# table shows the best round of each (samples/s of the global batch). The all-reduce columns
# are rank 0's, per step, from the best round: "blocked" is the time the rank was held up by the
# gradient sum (waiting for the other rank included), "exchange" the time from the first
# bucket's start to the last one's end (with overlap it runs beside the backward pass), MB the
# gradient summed each step. Prints the load (uptime) before and after: rerun on an idle machine.
set -euo pipefail
bin=${LINMASS_BIN:-build/linmass}
seconds=3 rounds=2 ranks=2 reduce=ordered
workloads=()
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --reduce) reduce=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench/mpi.sh: unknown option $1" >&2; exit 2 ;;
    *) workloads+=("$1"); shift ;;
    esac
done
[ ${#workloads[@]} -gt 0 ] || workloads=(mlp cnn)
command -v mpirun >/dev/null || { echo "bench/mpi.sh: no mpirun (apt-get install openmpi-bin)" >&2; exit 2; }
[ -x "$bin" ] || { echo "bench/mpi.sh: no $bin (set LINMASS_BIN)" >&2; exit 2; }
mpi=(mpirun -np "$ranks" --oversubscribe)
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); cpu: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p'), $(nproc) cores"
echo "load before: $(uptime | sed 's/.*load average: //')"
for w in "${workloads[@]}"; do
    for ((r = 1; r <= rounds; r++)); do
        echo "  $w round $r/$rounds" >&2
        "$bin" bench "$w" --threads 1 --seconds "$seconds" --json 2>/dev/null | tail -n 1 >"$out/$w.1x1.$r"
        "$bin" bench "$w" --threads "$ranks" --seconds "$seconds" --json 2>/dev/null | tail -n 1 >"$out/$w.1xT.$r"
        for ov in on off; do
            "${mpi[@]}" "$bin" bench "$w" --threads 1 --seconds "$seconds" --json --overlap $ov --reduce "$reduce" \
                2>/dev/null | tail -n 1 >"$out/$w.Rx1-$ov.$r"
        done
    done
done
echo "load after: $(uptime | sed 's/.*load average: //')"
/usr/bin/python3 - "$out" "$rounds" "$ranks" "$reduce" "${workloads[@]}" <<'PY'
import glob, json, sys
out, rounds, R, reduce, workloads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5:]
def best(w, cfg):
    runs = []
    for f in glob.glob("%s/%s.%s.*" % (out, w, cfg)):
        try:
            runs.append(json.loads(open(f).read()))
        except ValueError:
            pass
    return max(runs, key=lambda r: r["samples_per_sec"]) if runs else None
print()
print("| workload | 1 rank x 1 thread | 1 rank x %d threads | %d ranks x 1 thread, overlap on | overlap off "
      "| all-reduce ms/step, on: blocked (exchange) | off: blocked | MB/step |" % (R, R))
print("|---|---|---|---|---|---|---|---|")
for w in workloads:
    a, b, on, off = best(w, "1x1"), best(w, "1xT"), best(w, "Rx1-on"), best(w, "Rx1-off")
    rate = lambda r: "%.0f" % r["samples_per_sec"] if r else "failed"
    ms = lambda r, k: "%.2f" % r[k] if r else "-"
    print("| %s (batch %s) | %s | %s | %s | %s | %s (%s) | %s | %s |" % (
        w, (on or a or {}).get("batch", "?"), rate(a), rate(b), rate(on), rate(off),
        ms(on, "allreduce_ms_per_step"), ms(on, "allreduce_exchange_ms_per_step"), ms(off, "allreduce_ms_per_step"),
        ms(on, "allreduce_mb_per_step")))
print()
print("samples/s of the global batch, best of %d round(s); %s sums; cpu_fraction of the best runs: %s" % (
    rounds, reduce, ", ".join("%s %s" % (w, "/".join("%.2f" % r["cpu_fraction"] if r else "-" for r in
                                                      (best(w, c) for c in ("1x1", "1xT", "Rx1-on", "Rx1-off"))))
                              for w in workloads)))
PY
