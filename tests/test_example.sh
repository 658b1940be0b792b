#!/bin/bash
# The example programs.
#  1. examples/train_xor.c, built as example_train next to the linmass binary, trains XOR with
#     lm_trainer_step and Adam and exits 0 only when its final loss is small.
#  2. Outside programs: the build is installed (cmake --install) into a temporary prefix, which
#     is then moved (linmass.pc must find its prefix from where it lies), and the examples are
#     compiled with nothing but the installed pkg-config file: against the shared library
#     (pkg-config --cflags --libs) and, for probe_run, the static one (--static). probe_run
#     trains on data held in memory with lm_trainer_step, saves a run folder, opens it with
#     run.h and probes the opened model; it exits 0 only when the opened model's test loss is
#     the trained one's to the bit.
# Exits 77 (skipped) without cmake, pkg-config or a C compiler.
set -euo pipefail
bin_dir="$(dirname "$LINMASS_BIN")"
exe="$bin_dir/example_train"
[ -x "$exe" ] || { echo "example_train not found at $exe" >&2; exit 1; }
"$exe"
for tool in cmake pkg-config cc; do
    command -v "$tool" >/dev/null || { echo "skipped: no $tool" >&2; exit 77; }
done
san="" # a sanitizer build's library needs its runtime in the program too
grep -q "^LINMASS_SANITIZE:BOOL=ON" "$bin_dir/CMakeCache.txt" 2>/dev/null && san="-fsanitize=address,undefined"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$bin_dir" --prefix "$tmp/stage" >/dev/null
mv "$tmp/stage" "$tmp/moved"
pc=$(find "$tmp/moved" -name linmass.pc)
export PKG_CONFIG_PATH="$(dirname "$pc")"
libdir=$(cd "$(pkg-config --variable=libdir linmass)" && pwd)
[ -f "$libdir/liblinmass.so" ] && [ -f "$libdir/liblinmass.a" ] || { echo "no library in $libdir" >&2; exit 1; }
for ex in train_xor probe_run; do
    # shellcheck disable=SC2046 # the flags are words
    cc $san -std=c11 -Wall -Wextra -Werror "examples/$ex.c" $(pkg-config --cflags --libs linmass) -lm -o "$tmp/$ex"
    deps=$(LD_LIBRARY_PATH="$libdir" ldd "$tmp/$ex")
    [[ $deps == *"$libdir/liblinmass.so"* ]] || { echo "$ex: not linked to $libdir/liblinmass.so" >&2; exit 1; }
done
LD_LIBRARY_PATH="$libdir" "$tmp/train_xor" >/dev/null
LD_LIBRARY_PATH="$libdir" "$tmp/probe_run" "$tmp/run"
# shellcheck disable=SC2046
cc $san -std=c11 -Wall -Wextra -Werror examples/probe_run.c $(pkg-config --cflags linmass) "$libdir/liblinmass.a" \
    $(pkg-config --static --libs linmass | sed 's/-llinmass//') -lm -o "$tmp/probe_run_static"
deps=$(ldd "$tmp/probe_run_static")
[[ $deps != *liblinmass* ]] || { echo "probe_run_static loads liblinmass.so" >&2; exit 1; }
"$tmp/probe_run_static" "$tmp/run_static"
cmp "$tmp/run/checkpoints/last.safetensors" "$tmp/run_static/checkpoints/last.safetensors" ||
    { echo "the shared and static builds trained different weights" >&2; exit 1; }
echo "example: train_xor and probe_run, built through the installed linmass.pc (shared and static)"
