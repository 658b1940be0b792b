#!/bin/bash
# linmass plot: a missing folder and a folder without metrics exit 2 naming the folder; the
# format follows --out's ending (.pdf is a PDF, .svg an SVG, .png a PNG with an SVG copy; others
# exit 2); --label, --title (underscores kept), --x; the script and data lie beside the figure
# and redraw it; without gnuplot on the PATH the command writes them and still exits 0. The run
# folder's own plots (train) come in the same style.
set -uo pipefail
bin=${LINMASS_BIN:-build/linmass}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
pass=0 fail=0
ok() { pass=$((pass+1)); }
no() { fail=$((fail+1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok; else no "$what"; fi; }

# exit 2 with one line on stderr that holds every word
bad() { # words... -- args...
    local words=(); while [ "$1" != "--" ]; do words+=("$1"); shift; done; shift
    "$bin" "$@" >out 2>err; local rc=$?
    local good=1
    [ $rc = 2 ] && [ "$(wc -l <err)" = 1 ] || good=0
    for w in "${words[@]}"; do grep -qF -- "$w" err || good=0; done
    if [ $good = 1 ]; then ok; else no "linmass $* (rc $rc): $(cat err)"; fi
}

for r in a_run b_run; do
    "$bin" train --data synth:linreg:n=200,d=5 --model dense:1 --epochs 3 --log-every 2 --out "$r" >/dev/null 2>&1 \
        || no "training $r"
done
mkdir empty_dir

bad "nowhere" "no such folder" -- plot a_run nowhere --out x.png
bad "empty_dir" "metrics.jsonl" -- plot a_run empty_dir --out x.png
bad "a_run" "no_such_key" -- plot a_run --metric no_such_key --out x.png
bad "--out" "x.jpg" ".png, .svg or .pdf" -- plot a_run --out x.jpg
bad "--label" "1 label for 2 folders" -- plot a_run b_run --label only --out x.png
bad "--x" "fortnight" -- plot a_run --x fortnight --out x.png
check "nothing written by the refusals" test ! -e x.png -a ! -e x.gp

have_gnuplot=0
command -v gnuplot >/dev/null && have_gnuplot=1
magic() { head -c "${#2}" "$1" 2>/dev/null | grep -qaF -- "$2"; }

"$bin" plot a_run b_run --out figs/cmp.pdf --label "sgd_x,mass_y" --title "reg_mass run" --x step >out 2>err
check "plot --out .pdf exits 0" test $? = 0
check "the .gp script beside the figure" test -s figs/cmp.gp
check "the .dat data beside the figure" test -s figs/cmp.dat
check "labels and title as given (underscores kept)" \
    grep -q "title 'sgd_x' noenhanced" figs/cmp.gp
check "title" grep -q "set title 'reg_mass run' noenhanced" figs/cmp.gp
check "--x step" grep -q "set xlabel 'step'" figs/cmp.gp
check "a loss on a log axis" grep -q "set logscale y" figs/cmp.gp
# the data: a_run's train_loss against step, as metrics.jsonl has them
first=$(grep -m1 train_loss a_run/metrics.jsonl | sed 's/.*"step":\([0-9]*\).*/\1/')
check "the .dat holds the runs' values" grep -q "^$first " figs/cmp.dat
if [ $have_gnuplot = 1 ]; then
    check "--out .pdf writes a PDF" magic figs/cmp.pdf "%PDF"
    check "a PDF gets no SVG copy" test ! -e figs/cmp.svg
    "$bin" plot a_run b_run --out figs/cmp.svg --x time >/dev/null 2>&1
    check "--out .svg writes an SVG" grep -q "<svg" figs/cmp.svg
    "$bin" plot a_run b_run --out cmp.png --metric test_loss --x epoch >/dev/null 2>&1
    check "--out .png writes a PNG" magic cmp.png $'\x89PNG'
    check "and its SVG copy" grep -q "<svg" cmp.svg
    rm -f cmp.png cmp.svg
    (gnuplot cmp.gp 2>/dev/null)
    check "gnuplot NAME.gp in the folder redraws PNG and SVG" test -s cmp.png -a -s cmp.svg
    # the train run's own figures: PNG, SVG, script, data
    for f in loss.png loss.svg loss.gp loss.dat; do check "train wrote plots/$f" test -s a_run/plots/$f; done
fi
check "train's loss figure: train as a line, test with dots" \
    grep -q "title 'test' noenhanced" a_run/plots/loss.gp

# no gnuplot on the PATH: exit 0, a note, the script and the data, no figure
rm -rf nog && mkdir nog
env PATH=/nonexistent "$bin" plot a_run --out nog/f.png >out 2>err
rc=$?
check "without gnuplot: exit 0" test $rc = 0
check "without gnuplot: a note" grep -q "gnuplot is not installed" err
check "without gnuplot: script and data" test -s nog/f.gp -a -s nog/f.dat
check "without gnuplot: no figure" test ! -e nog/f.png

echo "test_plot_cli: $pass passed, $fail failed"
[ $fail = 0 ]
