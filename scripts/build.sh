#!/bin/sh
# Configures and builds blotter into build/ (or the folder in $1, with any
# further arguments passed to cmake), warnings as errors.
set -eu
cd "$(dirname "$0")/.."
dir="${1:-build}"
[ $# -gt 0 ] && shift
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
