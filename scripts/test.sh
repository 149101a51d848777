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
(cd build-asan && ctest --output-on-failure -j "$jobs")
