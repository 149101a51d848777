#!/bin/sh
# README command two: set up, build, and run the whole test suite twice:
# once as built for use, once under AddressSanitizer and
# UndefinedBehaviorSanitizer.
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh build
# The classifier and sample-generator tests use MNIST; fetch and verify it
# (a no-op when it is already there).
build/bin/blotter data mnist

jobs="$(nproc)"
echo "== tests (RelWithDebInfo)"
(cd build && ctest --output-on-failure -j "$jobs")

echo "== tests (AddressSanitizer + UndefinedBehaviorSanitizer)"
./scripts/build.sh build-asan -DBLOTTER_SANITIZE=ON
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The recovery test's batch (200 pages as built) is 40 pages here: the
# sanitized stages are several times slower.
export BLOTTER_TEST_PAGES=40
(cd build-asan && ctest --output-on-failure -j "$jobs")

# A short libFuzzer run over the scan readers and the message decoders
# (about a minute per target);
# skipped where clang's fuzzer runtime is missing.
if command -v clang >/dev/null 2>&1 &&
    dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "install ok installed"; then
    echo "== fuzz (libFuzzer, 60 s per target)"
    ./scripts/fuzz.sh 60
else
    echo "== fuzz: skipped (needs clang and libclang-rt-14-dev)"
fi
