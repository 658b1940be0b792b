#!/bin/bash
# ctest-labels: unit
# liblinmass.so exports exactly the functions declared (with LM_API) in include/linmass/: no
# internal function leaks (the objects are compiled with -fvisibility=hidden), and no public
# declaration is missing its LM_API (which would hide it from the shared library and from the
# Python package). Every public prototype is written out: a declaration line starts with
# "LM_API", so `grep -w NAME include/` finds it. GCC's ifunc resolvers (NAME.resolver, from
# target_clones) are the only other symbols allowed. Exits 77 without nm.
set -euo pipefail
command -v nm >/dev/null || { echo "skipped: no nm" >&2; exit 77; }
lib="$(dirname "$LINMASS_BIN")/liblinmass.so"
[ -f "$lib" ] || { echo "no shared library at $lib" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '$2 ~ /^[TtWiDdBbRr]$/ {print $3}' | grep -v '\.resolver$' | sort -u >"$tmp/exported"
cat include/linmass/*.h include/linmass/*.h.in |
    grep -oE '^LM_API[^(]*[^A-Za-z0-9_]lm_[A-Za-z0-9_]+ *\(' | grep -oE 'lm_[A-Za-z0-9_]+ *\($' |
    tr -d '( ' | sort -u >"$tmp/declared"
# a top-level prototype without LM_API
bare=$(grep -nE '^(const |unsigned )*[a-z_][a-z0-9_]* *\**lm_[a-z0-9_]+ *\(' include/linmass/*.h include/linmass/*.h.in |
       grep -vE 'static inline|typedef' || true)
status=0
if [ -n "$bare" ]; then echo "declared without LM_API:"; echo "$bare"; status=1; fi
leaked=$(comm -23 "$tmp/exported" "$tmp/declared")
hidden=$(comm -13 "$tmp/exported" "$tmp/declared")
if [ -n "$leaked" ]; then echo "exported but not declared in include/linmass:"; echo "$leaked"; status=1; fi
if [ -n "$hidden" ]; then echo "declared but not exported:"; echo "$hidden"; status=1; fi
echo "$(wc -l <"$tmp/exported") exported functions, $(wc -l <"$tmp/declared") declared"
exit $status
