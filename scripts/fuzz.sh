#!/bin/sh
# Fuzzes the scan readers (TIFF and PNG through bl_scan_open/read_page and
# the ingest normalisation) and the message decoders (every frame a stage
# receives: header, notes, pages) with libFuzzer under AddressSanitizer and
# UndefinedBehaviorSanitizer, starting from tests/fuzz/corpus.
#
#   scripts/fuzz.sh [SECONDS]    (default 60 per target)
#
# Needs clang and libclang-rt-14-dev (scripts/setup.sh installs them).
# Builds into build-fuzz/. New inputs that add coverage go to
# build-fuzz/corpus-*/ (the seed corpus in git is only read); a crash
# leaves build-fuzz/crash-* and a non-zero exit: copy the file into
# tests/fuzz/corpus/tiff, png or msg so ctest replays it from then on.
set -eu
cd "$(dirname "$0")/.."
secs="${1:-60}"
command -v clang >/dev/null 2>&1 || { echo "fuzz.sh: clang is not installed" >&2; exit 1; }
# The gcc builds are the warning gate (-Werror there); clang warns about
# other things (libtiff's non-literal handler formats, gcc-only options),
# so its warnings stay warnings here: a wrapper appends -Wno-error after
# the project's own flags, and every file is instrumented for coverage
# (fuzzer-no-link), not only the target.
mkdir -p build-fuzz
printf '#!/bin/sh\nexec clang -fsanitize=fuzzer-no-link "$@" -Wno-error -Wno-unknown-warning-option\n' >build-fuzz/cc
chmod +x build-fuzz/cc
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER="$PWD/build-fuzz/cc" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBLOTTER_SANITIZE=ON -DBLOTTER_FUZZ=ON >/dev/null
cmake --build build-fuzz --target fuzz_scan fuzz_msg -j "$(nproc)" >/dev/null
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
for kind in tiff png msg; do
    target=fuzz_scan
    [ "$kind" = msg ] && target=fuzz_msg
    work="build-fuzz/corpus-$kind"
    mkdir -p "$work"
    echo "== fuzz $kind for ${secs}s"
    # -rss_limit_mb: the readers' limits (16 MP per page in the target)
    # must keep memory far below this; -timeout catches decoder hangs.
    build-fuzz/bin/$target -max_total_time="$secs" -rss_limit_mb=1024 -timeout=10 \
        -max_len=65536 -artifact_prefix=build-fuzz/ -print_final_stats=1 \
        "$work" "tests/fuzz/corpus/$kind" >"build-fuzz/fuzz-$kind.log" 2>&1 || status=$?
    tail -n 12 "build-fuzz/fuzz-$kind.log"
    if [ "${status:-0}" -ne 0 ]; then
        echo "fuzz.sh: $kind: failed (exit $status), see build-fuzz/fuzz-$kind.log" >&2
        exit 1
    fi
done
