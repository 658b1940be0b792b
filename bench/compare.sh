#!/bin/bash
# linmass against PyTorch on the same workloads, measured alternately in one go, so that both
# see the same machine load: each round runs `linmass bench W` and then torch_ref.py W (at
# PyTorch's best thread count) for every workload. Prints the median of the per-round ratios,
# linmass's GFLOP/s and fraction of the sgemm ceiling, and with --memory the peak RSS of one
# training run of each (a separate process per workload and framework).
#
#   bench/compare.sh                         fcn mlp cnn resnet20, 3 rounds of 3 s
#   bench/compare.sh --rounds 5 mlp cnn
#   bench/compare.sh --memory fcn mlp cnn resnet20
#   bench/compare.sh ntk ntk-cnn hvp         the float64 probes
#
# Environment: LINMASS_BIN (default build/linmass), TORCH_REF (the team's PyTorch timing
# script for the same workloads; required), PYTHON (default /usr/bin/python3, Debian's python3-torch),
# LINMASS_THREADS (default: linmass bench's own default).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3 seconds=3 memory=0
workloads=()
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --memory) memory=1; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
    *) workloads+=("$1"); shift ;;
    esac
done
[ ${#workloads[@]} -gt 0 ] || workloads=(fcn mlp cnn resnet20)

bin=${LINMASS_BIN:-build/linmass}
ref=${TORCH_REF:-}
py=${PYTHON:-/usr/bin/python3}
[ -x "$bin" ] || { echo "compare.sh: no linmass at $bin (set LINMASS_BIN)" >&2; exit 2; }
[ -n "$ref" ] && [ -f "$ref" ] || { echo "compare.sh: set TORCH_REF to the PyTorch timing script (not found: '$ref')" >&2; exit 2; }
threads=()
[ -n "${LINMASS_THREADS:-}" ] && threads=(--threads "$LINMASS_THREADS")

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)" >&2
for r in $(seq "$rounds"); do
    for w in "${workloads[@]}"; do
        echo "round $r/$rounds: $w" >&2
        "$bin" bench "$w" --json --seconds "$seconds" "${threads[@]}" 2>/dev/null | sed "s/^/L$r /" >>"$out" ||
            echo "compare.sh: linmass bench $w failed" >&2
        [ "$w" = gemm ] && continue # PyTorch has no such workload: it is the machine's ceiling
        "$py" "$ref" "$w" --seconds "$seconds" --threads best 2>/dev/null | sed "s/^/T$r /" >>"$out" ||
            echo "compare.sh: torch_ref.py $w failed" >&2
    done
done

if [ "$memory" = 1 ]; then
    for w in "${workloads[@]}"; do
        case "$w" in fcn|mlp|cnn|resnet20) ;; *) continue ;; esac
        echo "memory: $w" >&2
        "$bin" bench "$w" --json --seconds 1 "${threads[@]}" 2>/dev/null | sed 's/^/LM /' >>"$out"
        # PyTorch's peak RSS over one training run (one thread), and its RSS before the model
        "$py" - "$ref" "$w" <<'EOF' | sed 's/^/TM /' >>"$out"
import importlib.util, json, resource, sys
spec = importlib.util.spec_from_file_location("torch_ref", sys.argv[1])
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
base = rss()
ref.torch.set_num_threads(1)
ref.train_rate(sys.argv[2], 1.0)
print(json.dumps({"workload": sys.argv[2], "max_rss_mib": rss(), "rss_before_model_mib": base}))
EOF
    done
fi

"$py" - "$out" <<'EOF'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    tag, _, text = line.partition(" ")
    try:
        r = json.loads(text)
    except ValueError:
        continue
    rows.setdefault((tag[0], tag[1:], r["workload"]), r)

targets = {"fcn": 1.6, "mlp": 1.2, "cnn": 1.5, "resnet20": 1.3, "ntk": 10.0, "ntk-cnn": 10.0}
ceilings = {"cnn": 0.7, "resnet20": 0.6}  # least fraction of the sgemm ceiling measured in the same run
memory = {"resnet20": 0.25}  # most peak RSS as a fraction of PyTorch's
keys = ["samples_per_sec", "kernels_per_sec", "hvp_over_grad_time", "gflops"]
names = []
for (_, _, w) in rows:
    if w not in names:
        names.append(w)
first = next((r for (f, _, _), r in rows.items() if f == "L" and "blas" in r), None)
if first:  # both frameworks ran in this environment: the same OpenBLAS core for both
    core = first["blas"] + (f" (OPENBLAS_CORETYPE={first['blas_coretype']})" if first.get("blas_coretype") else "")
    print(f"BLAS: OpenBLAS {core}; linmass convolutions: {first['conv_kernels']}")
print(f"{'workload':9} {'linmass':>10} {'pytorch':>10} {'ratio':>6} {'min..max':>11} {'GFLOP/s':>8} "
      f"{'ceiling':>8} {'thr L/T':>7}  target")
for w in names:
    L = {rd: r for (f, rd, ww), r in rows.items() if f == "L" and ww == w and rd != "M"}
    T = {rd: r for (f, rd, ww), r in rows.items() if f == "T" and ww == w and rd != "M"}
    if not L:
        continue
    key = next(k for k in keys if k in next(iter(L.values())))
    lv = statistics.median(r[key] for r in L.values())
    tv = statistics.median(r[key] for r in T.values()) if T else float("nan")
    both = [rd for rd in L if rd in T]
    if key == "hvp_over_grad_time":  # lower is better: report linmass's own ratio
        ratios = [L[rd][key] for rd in L]
    else:
        ratios = [L[rd][key] / T[rd][key] for rd in both]
    ratio = statistics.median(ratios) if ratios else float("nan")
    gf = statistics.median(r.get("gflops", float("nan")) for r in L.values())
    cf = statistics.median(r.get("ceiling_fraction", float("nan")) for r in L.values())
    thr = f"{next(iter(L.values()))['threads']}/{'/'.join(sorted({str(r['threads']) for r in T.values()})) or '-'}"
    if key == "hvp_over_grad_time":
        goal, met = "<= 3x a gradient", ratio <= 3
    elif w == "gemm":
        goal, met = "the sgemm ceiling (1024^3)", True
    else:
        goal = f">= {targets.get(w, 1.0)}x" + (f" and >= {ceilings[w]:.0%} of sgemm" if w in ceilings else "")
        met = ratio >= targets.get(w, 1.0) and (w not in ceilings or cf >= ceilings[w])
    if w == "gemm":
        gf, cf = lv, 1.0
    span = f"{min(ratios):.2f}..{max(ratios):.2f}" if ratios else "-"
    num = lambda v, fmt: "-" if v != v else format(v, fmt)  # v != v: NaN
    print(f"{w:9} {lv:10.1f} {num(tv, '10.1f'):>10} {num(ratio, '6.2f'):>6} {span:>11} {num(gf, '8.1f'):>8} "
          f"{num(cf, '8.0%'):>8} {thr:>7}  {goal}{'' if w == 'gemm' else ': met' if met else ': NOT met'}")
mem = [(w, rows.get(("L", "M", w)), rows.get(("T", "M", w))) for w in names]
if any(l for _, l, _ in mem):
    print(f"\n{'workload':9} {'linmass peak RSS':>17} {'pytorch peak RSS':>17} {'(torch before model)':>21}  target")
    for w, l, t in mem:
        if l and t:
            frac, goal = l["max_rss_mib"] / t["max_rss_mib"], memory.get(w)
            verdict = f"<= {goal:.2f} of PyTorch's: {frac:.2f}, {'met' if frac <= goal else 'NOT met'}" if goal else ""
            print(f"{w:9} {l['max_rss_mib']:13.1f} MiB {t['max_rss_mib']:13.1f} MiB {t['rss_before_model_mib']:17.1f} MiB  {verdict}")
EOF
