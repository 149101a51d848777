#!/bin/sh
# Installs what the benchmarks (bench/run.sh) need on top of
# scripts/setup.sh: Debian's PyTorch (and numpy with it) for
# bench/run-classify.sh, Pillow to cut field crops for Tesseract, Tesseract 5 with its English data for the
# side-by-side OCR figures, gnuplot (no X) for the pictures in docs/img/,
# graphviz for the architecture diagram, and sqlite3 for the scorer's
# databases. Nothing here is needed to build, test or run blotter. Safe to
# run any number of times.
set -eu

PACKAGES="python3 python3-numpy python3-pil python3-torch tesseract-ocr tesseract-ocr-eng gnuplot-nox graphviz sqlite3"

if [ "$(id -u)" -ne 0 ]; then
    echo "bench-setup.sh: run as root (it installs Debian packages)" >&2
    exit 1
fi
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "bench-setup.sh: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
else
    echo "bench-setup.sh: all packages present"
fi
