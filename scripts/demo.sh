#!/bin/sh
# README command one: set up, build, and run the pipeline on the shipped
# samples with the shipped models, into blotter.db.
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh build
rm -f blotter.db blotter.db-wal blotter.db-shm
build/bin/blotter run samples/ --db blotter.db --batch samples
echo
build/bin/blotter query --db blotter.db --batch samples
