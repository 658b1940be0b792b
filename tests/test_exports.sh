#!/bin/bash
# ctest-labels: unit
# liblinmass.so exports exactly the functions declared (with LM_API) in include/linmass/, and
# liblinmass_experiments.so (when built) exactly those of its header, experiments.h: no internal
# function leaks (the objects are compiled with -fvisibility=hidden), and
# no public declaration is missing its LM_API (which would hide it from the shared library and
# from the Python package). Every public prototype is written out: a declaration line starts
# with "LM_API", so `grep -w NAME include/` finds it. GCC's ifunc resolvers (NAME.resolver, from
# target_clones) are the only other symbols allowed. Exits 77 without nm.
set -euo pipefail
command -v nm >/dev/null || { echo "skipped: no nm" >&2; exit 77; }
dir="$(dirname "$LINMASS_BIN")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
exp_headers="include/linmass/experiments.h"

# compare LIB's exported functions with those declared in the HEADERS
check_lib() { # lib headers...
    local lib=$1; shift
    [ -f "$lib" ] || { echo "no shared library at $lib"; status=1; return; }
    nm -D --defined-only "$lib" | awk '$2 ~ /^[TtWiDdBbRr]$/ {print $3}' | grep -v '\.resolver$' | sort -u >"$tmp/exported"
    cat "$@" | grep -oE '^LM_API[^(]*[^A-Za-z0-9_]lm_[A-Za-z0-9_]+ *\(' | grep -oE 'lm_[A-Za-z0-9_]+ *\($' |
        tr -d '( ' | sort -u >"$tmp/declared"
    local leaked hidden
    leaked=$(comm -23 "$tmp/exported" "$tmp/declared")
    hidden=$(comm -13 "$tmp/exported" "$tmp/declared")
    if [ -n "$leaked" ]; then echo "$(basename "$lib") exports functions its headers do not declare:"; echo "$leaked"; status=1; fi
    if [ -n "$hidden" ]; then echo "$(basename "$lib") does not export:"; echo "$hidden"; status=1; fi
    echo "$(basename "$lib"): $(wc -l <"$tmp/exported") exported functions, $(wc -l <"$tmp/declared") declared"
}

# a top-level prototype without LM_API
bare=$(grep -nE '^(const |unsigned )*[a-z_][a-z0-9_]* *\**lm_[a-z0-9_]+ *\(' include/linmass/*.h include/linmass/*.h.in |
       grep -vE 'static inline|typedef' || true)
if [ -n "$bare" ]; then echo "declared without LM_API:"; echo "$bare"; status=1; fi

core=()
for h in include/linmass/*.h include/linmass/*.h.in; do
    case " $exp_headers " in *" $h "*) ;; *) core+=("$h") ;; esac
done
check_lib "$dir/liblinmass.so" "${core[@]}"
if grep -q "^LINMASS_EXPERIMENTS:BOOL=ON" "$dir/CMakeCache.txt" 2>/dev/null; then
    check_lib "$dir/liblinmass_experiments.so" $exp_headers
fi
exit $status
