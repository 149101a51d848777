#!/bin/sh
# `blotter train write` refuses to reuse a work folder whose pages are not
# the ones asked for (other --pages or --seed), naming the folder, before
# generating or running anything; evaluation seeds are refused too.
# A pipeline run that fails (here: the writer's gate file is not a model)
# leaves no database behind to be taken for a whole one next time, and a
# database read by other models or templates than the configured ones is
# read again.
# Usage: train_write.sh BLOTTER CONFIG   (the last part needs MNIST)
set -eu
blotter=$1
config=$2
tmp=$(mktemp -d /tmp/bl-train-write-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/w/train"
printf '{"seed": 1, "pages": [{"file": "page-001.tif", "page_index": 0, "fields": []}]}\n' \
    >"$tmp/w/train/truth.json"
if "$blotter" train write --work "$tmp/w" --pages 2 --out "$tmp/g.blm" 2>"$tmp/err"; then
    echo "a folder of 1 page was taken for 2"; exit 1
fi
cat "$tmp/err"
grep -q "$tmp/w/train/truth.json holds 1 pages of seed 1, not the 2 of seed 1" "$tmp/err"
if "$blotter" train write --work "$tmp/w" --pages 1 --seed 3 --out "$tmp/g.blm" 2>"$tmp/err"; then
    echo "a folder of seed 1 was taken for seed 3"; exit 1
fi
grep -q "not the 1 of seed 3" "$tmp/err"
[ ! -e "$tmp/g.blm" ] || { echo "a model was written"; exit 1; }
if "$blotter" train write --work "$tmp/e" --seed 5001 --pages 1 2>"$tmp/err"; then
    echo "an evaluation seed was accepted"; exit 1
fi
grep -q "5001" "$tmp/err"

if [ -f "$(dirname "$config")/data/mnist/train-images-idx3-ubyte" ]; then
    src=$(cd "$(dirname "$config")" && pwd)
    sed -e "s|= models/|= $src/models/|" -e "s|^write = .*write-gate.blm|write = $tmp/bad.blm|" \
        -e "s|^templates = templates|templates = $src/templates|" "$config" >"$tmp/bad.conf"
    echo "not a model" >"$tmp/bad.blm"
    if "$blotter" train write --work "$tmp/r" --pages 1 --config "$tmp/bad.conf" \
        --out "$tmp/g.blm" >"$tmp/out" 2>&1; then
        cat "$tmp/out"; echo "a run with a broken gate file succeeded"; exit 1
    fi
    grep -q "bad.blm" "$tmp/out" || { cat "$tmp/out"; echo "the bad file is not named"; exit 1; }
    [ -f "$tmp/r/train/truth.json" ] || { echo "no pages were made"; exit 1; }
    [ ! -e "$tmp/r/train.db" ] || { echo "the failed run's database was left"; exit 1; }

    # A whole (tiny) run; the next one reuses its databases, but not once
    # a model that reads the pages has changed (here: detect without one).
    small="--work $tmp/s --pages 12 --val-pages 3 --check-pages 2 --epochs 2"
    # shellcheck disable=SC2086
    "$blotter" train write $small --config "$config" --out "$tmp/g.blm" >"$tmp/out" 2>&1 ||
        { cat "$tmp/out"; echo "a small training run failed"; exit 1; }
    [ -s "$tmp/g.blm" ] || { echo "no gate was written"; exit 1; }
    grep -q "^ingest=[0-9a-f]\{8\} detect=[0-9a-f]\{8\} segment=" "$tmp/s/train.models" ||
        { cat "$tmp/s/train.models"; echo "the models were not recorded"; exit 1; }
    # shellcheck disable=SC2086
    "$blotter" train write $small --config "$config" --out "$tmp/g.blm" >"$tmp/out" 2>&1
    if grep -q "running the pipeline" "$tmp/out"; then
        cat "$tmp/out"; echo "databases of the same models were not reused"; exit 1
    fi
    sed -e "s|= models/|= $src/models/|" -e "s|^detect = .*detect-regions.blm|detect =|" \
        -e "s|^templates = templates|templates = $src/templates|" "$config" >"$tmp/nodetect.conf"
    # shellcheck disable=SC2086
    "$blotter" train write $small --config "$tmp/nodetect.conf" --out "$tmp/g.blm" >"$tmp/out" 2>&1 ||
        { cat "$tmp/out"; echo "the run without a detect model failed"; exit 1; }
    grep -q "$tmp/s/train.db was read by other models" "$tmp/out" ||
        { cat "$tmp/out"; echo "a database of other models was reused"; exit 1; }
    grep -q "detect=00000000" "$tmp/s/train.models" ||
        { cat "$tmp/s/train.models"; echo "the new models were not recorded"; exit 1; }

    # Nor once the templates whose rules mend the readings have changed.
    mkdir "$tmp/tpl"
    cp "$src"/templates/*.ini "$tmp/tpl/"
    sed -i 's/years=1900-2029/years=1950-1999/' "$tmp/tpl/arrest_record.ini"
    sed -e "s|^templates = .*|templates = $tmp/tpl|" "$tmp/nodetect.conf" >"$tmp/tpl.conf"
    before=$(sed 's/ templates=.*//' "$tmp/s/train.models")
    # shellcheck disable=SC2086
    "$blotter" train write $small --config "$tmp/tpl.conf" --out "$tmp/g.blm" >"$tmp/out" 2>&1 ||
        { cat "$tmp/out"; echo "the run with other templates failed"; exit 1; }
    grep -q "$tmp/s/train.db was read by other models or templates" "$tmp/out" ||
        { cat "$tmp/out"; echo "a database of other templates was reused"; exit 1; }
    [ "$(sed 's/ templates=.*//' "$tmp/s/train.models")" = "$before" ] ||
        { cat "$tmp/s/train.models"; echo "the models' part of the record changed"; exit 1; }
fi
echo "train_write: refusals named"
