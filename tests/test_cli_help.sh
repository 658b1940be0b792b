#!/bin/bash
# The --help screens are docs/help/*.txt (cmake/help_embed.cmake builds them in): each screen's
# --help exits 0 and prints its file, every line in order, with each placeholder line filled by
# at least one line and none left over (no '@'); the option table lists options the command
# accepts, among them every option its usage line names; and the generator refuses a file with
# an unknown placeholder, a placeholder inside a line, an unknown part or a part variable not
# given.
set -uo pipefail
bin=${LINMASS_BIN:-build/linmass}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
src=$(pwd)
help=$src/docs/help
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
ok() { pass=$((pass+1)); }
no() { fail=$((fail+1)); echo "FAIL: $*"; }

# The lines a screen file prints, its parts expanded (here, independently of the generator):
# "@INCLUDE PART k=v ...@" -> docs/help/parts/PART.txt with each @k@ replaced by v.
expand() { # file [sed script]
    local line script=${2:-}
    while IFS= read -r line || [ -n "$line" ]; do
        [ -n "$script" ] && line=$(printf '%s\n' "$line" | sed "$script")
        if [[ $line =~ ^@INCLUDE\ ([a-z0-9-]+)(.*)@$ ]]; then
            local part=${BASH_REMATCH[1]} vars=${BASH_REMATCH[2]} s="" kv
            for kv in $vars; do s+="s/@${kv%%=*}@/${kv#*=}/g;"; done
            expand "$help/parts/$part.txt" "$s"
        else
            printf '%s\n' "$line"
        fi
    done <"$1"
}

# Does the output ($2) print the screen ($1, expanded): its lines in order, blank lines aside, a
# placeholder line "@NAME@" as one line or more, nothing else? Prints what is wrong.
matches() {
    awk 'BEGIN { i = 0; n = 0 }
         NR == FNR { if ($0 !~ /^[ \t]*$/) want[n++] = $0; next }
         /^[ \t]*$/ { next }
         { line++ }
         i < n && want[i] ~ /^@[A-Z_]+@$/ {
             if (made && i + 1 < n && $0 == want[i + 1]) { i += 2; made = 0; next }
             made++; next
         }
         i < n && $0 == want[i] { i++; next }
         { printf "output line %d \"%s\" where the screen has \"%s\"\n", line, $0, i < n ? want[i] : "(its end)"; bad = 1; exit }
         END {
             if (bad) exit 1
             if (i == n - 1 && want[i] ~ /^@/ && made) i++
             if (i < n) { printf "missing: \"%s\"\n", want[i]; exit 1 }
         }' "$1" "$2"
}

exp=1
"$bin" repro --help >/dev/null 2>&1 || exp=0 # built without the experiments library: no repro, demo

# every screen: docs/help/NAME.txt is `linmass NAME --help`, probe-X `linmass probe X --help`,
# linmass `linmass --help`
screens=0
for f in "$help"/*.txt; do
    name=$(basename "$f" .txt)
    case $name in
    linmass) cmd=() ;;
    probe-*) cmd=(probe "${name#probe-}") ;;
    *) cmd=("$name") ;;
    esac
    if [ $exp = 0 ] && { [ "$name" = repro ] || [ "$name" = demo ]; }; then continue; fi
    screens=$((screens+1))
    "$bin" "${cmd[@]}" --help >"$dir/out" 2>"$dir/err" || { no "linmass ${cmd[*]} --help exits $?: $(cat "$dir/err")"; continue; }
    [ -s "$dir/err" ] && no "linmass ${cmd[*]} --help wrote to stderr: $(cat "$dir/err")"
    expand "$f" >"$dir/want"
    [ $exp = 0 ] && [ "$name" = linmass ] && sed -i '/^  \(repro\|demo\) /d' "$dir/want"
    if why=$(matches "$dir/want" "$dir/out"); then ok; else no "linmass ${cmd[*]} --help is not docs/help/$name.txt: $why"; fi
    grep -q '@' "$dir/out" && no "linmass ${cmd[*]} --help leaves a placeholder: $(grep '@' "$dir/out" | head -1)"
    grep -q '^options:$' "$f" || continue
    # the option table: each option accepted by the command (given before --help, nothing runs),
    # and every option of the usage line in it
    sed -n '/^options:$/,/^  --help /p' "$dir/out" | sed -n 's/^  --\([a-z0-9-]*\).*/\1/p' | grep -v '^help$' >"$dir/opts"
    grep -q '^  --help ' "$dir/out" && ok || no "linmass ${cmd[*]} --help has no option table"
    while read -r o; do
        "$bin" "${cmd[@]}" "--$o" --help >/dev/null 2>"$dir/err"
        grep -q "unknown option" "$dir/err" && no "linmass ${cmd[*]} --help lists --$o, which the command refuses"
    done <"$dir/opts"
    sed -n '1,/^$/p' "$dir/want" | grep -o -- '--[a-z][a-z0-9-]*' | sort -u | sed 's/^--//' | grep -vx 'help\|version' | while read -r o; do
        grep -qx -- "$o" "$dir/opts" || echo "$o"
    done >"$dir/missing"
    [ -s "$dir/missing" ] && no "linmass ${cmd[*]} --help: its usage names options not in its table: $(tr '\n' ' ' <"$dir/missing")" || ok
done
[ $screens -ge 14 ] && ok || no "only $screens help screens in docs/help (14 without repro and demo)"

# every command of `linmass --help` has its screen, and the screens of the parts made at run time
# hold what the library's tables hold
"$bin" --help | sed -n 's/^  \([a-z]*\) .*/\1/p' | while read -r c; do
    [ -f "$help/$c.txt" ] || echo "linmass --help lists $c, which has no docs/help/$c.txt"
done >"$dir/missing"
[ -s "$dir/missing" ] && no "$(cat "$dir/missing")" || ok
"$bin" train --help >"$dir/out"
grep -q '^  dense:N' "$dir/out" && grep -q '^  mass  *--lr' "$dir/out" && grep -q '^  fashion-mnist ' "$dir/out" \
    && grep -q '^  --data --model' "$dir/out" && ok || no "linmass train --help lacks a table (model spec, optimizers, data, resume)"

# the generator: a good screen builds; each mistake stops it with the text at fault
gen() { cmake -DHELP_DIR="$dir/h" -DOUT="$dir/h.c" -P "$src/cmake/help_embed.cmake" >"$dir/gen" 2>&1; }
if command -v cmake >/dev/null; then
    rm -rf "$dir/h" && mkdir -p "$dir/h/parts"
    printf 'usage: x\n@OPTIONS@\n@INCLUDE p v=1@\n' >"$dir/h/x.txt"
    printf 'part @v@\n' >"$dir/h/parts/p.txt"
    gen && grep -q '"part 1\\n"' "$dir/h.c" && ok || no "the generator refuses a good screen: $(cat "$dir/gen")"
    for bad in '@OPTION@' 'see @OPTIONS@' '@OPTIONS@ ' '@INCLUDE nope@' '@INCLUDE p@' 'mail x@y'; do
        printf 'usage: x\n%s\n' "$bad" >"$dir/h/x.txt"
        if gen; then no "the generator takes the line '$bad'"; else ok; fi
    done
else
    echo "no cmake: the generator is not checked"
fi

echo "test_cli_help: $pass passed, $fail failed"
[ $fail = 0 ]
