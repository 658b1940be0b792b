# Checks of the figures a report folder holds (sourced by test_repro.sh and test_demo.sh, which
# define check). check_figure FOLDER NAME WHAT: FOLDER/plots/NAME.gp and .dat exist, and with
# gnuplot NAME.png and its vector copy NAME.svg, shown in FOLDER/report.md; WHAT lists what the
# script must draw: band (a shaded band, filledcurves), ref (a dashed reference line, dt 2),
# points (markers without lines), or - for nothing in particular.
have_gnuplot=0
command -v gnuplot >/dev/null 2>&1 && have_gnuplot=1
[ $have_gnuplot = 1 ] || echo "note: gnuplot is missing, so only the scripts and data of the figures are checked"
checked_figures=" "
check_figure() { # folder name what
    local folder=$1 name=$2 what=$3 gp="$1/plots/$2.gp"
    checked_figures="$checked_figures$folder/plots/$name "
    check "$name: script" test -s "$gp"
    check "$name: data" test -s "$folder/plots/$name.dat"
    if [ $have_gnuplot = 1 ]; then
        check "$name: png" test -s "$folder/plots/$name.png"
        check "$name: svg" test -s "$folder/plots/$name.svg"
        check "$name: in the report" grep -qF "](plots/$name.png)" "$folder/report.md"
    fi
    case ",$what," in *,band,*) check "$name: band" grep -q "with filledcurves" "$gp" ;; esac
    case ",$what," in *,ref,*) check "$name: dashed reference" grep -q "with lines dt 2" "$gp" ;; esac
    case ",$what," in *,points,*) check "$name: points" grep -q "with points" "$gp" ;; esac
}
# Every script in the folders was checked above (a new figure needs its line in the test).
check_no_other_figures() { # plots folders...
    local folder gp
    for folder in "$@"; do
        for gp in "$folder"/*.gp; do
            [ -e "$gp" ] || continue
            case "$checked_figures" in *" ${gp%.gp} "*) ;; *) check "figure ${gp%.gp} is listed in the test" false ;; esac
        done
    done
}
