#!/bin/sh
# The transfer benchmark: teach the digit classifier a hand it reads
# poorly, through the verification queue, and measure before and after.
#
#   1. archive pages in the "heavy" hand (broad pen, strong slant):
#      `blotter samples --hand heavy` on MNIST training digits;
#   2. the pipeline reads them into an archive database with the shipped
#      classifier;
#   3. the review queue is exported and a script plays the reviewer,
#      filling in at most MAX_DIGITS digits from the generator's truth;
#      the sheet is imported;
#   4. `blotter train classify --base ... --freeze features --from-db`
#      fine-tunes the head on the corrected digits (with MNIST replay);
#   5. fresh pages of the same hand (test digits, other seeds) are read
#      with the base and with the fine-tuned model; `blotter eval
#      pipeline` gives digit accuracy for each, and `blotter eval
#      classify` the MNIST test accuracy of each model.
#
# usage: bench/transfer/run.sh [WORKDIR]   (default /tmp/blotter-transfer)
# Environment: TRAIN_PAGES (40), TEST_PAGES (50), MAX_DIGITS (500),
# REPLAY (2000), EPOCHS (15), LR (0.0003). Needs python3 (the reviewer
# stand-in) and MNIST in data/mnist. Takes about 10 minutes of CPU.
set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
# Under bench/run.sh, the benchmark build; run alone, the usual one.
bin="${BLOTTER:-$here/build/bin/blotter}"
work=${1:-/tmp/blotter-transfer}
TRAIN_PAGES=${TRAIN_PAGES:-40}
TEST_PAGES=${TEST_PAGES:-50}
MAX_DIGITS=${MAX_DIGITS:-500}
REPLAY=${REPLAY:-2000}
EPOCHS=${EPOCHS:-15}
LR=${LR:-0.0003}
export BLOTTER_USER=${BLOTTER_USER:-transfer-bench}

[ -x "$bin" ] || { echo "run.sh: build blotter first ($bin)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "run.sh: needs python3" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
cd "$work"

# A configuration naming the classifier to use (absolute paths).
conf() {
    cat > "$1" <<CONF
[pipeline]
templates = $here/templates
[models]
ingest = $here/models/ingest-orient.blm
detect = $here/models/detect-regions.blm
segment = $here/models/segment-cuts.blm
classify = $2
write = $here/models/write-gate.blm
CONF
}
conf base.conf "$here/models/classify-cnn.blm"

echo "== 1-2: $TRAIN_PAGES archive pages in the heavy hand, read with the base model"
"$bin" samples --out archive --pages "$TRAIN_PAGES" --seed 101 --split train --hand heavy >/dev/null
"$bin" run --config base.conf --db archive.db archive >/dev/null 2>&1
"$bin" eval pipeline --db archive.db --truth archive/truth.json | grep -E "digit accuracy|exact"

echo "== 3: the review queue, at most $MAX_DIGITS digits corrected"
"$bin" review export --db archive.db --out queue
python3 "$here/bench/transfer/fill_from_truth.py" queue/review.csv archive/truth.json \
    queue/filled.csv --max-digits "$MAX_DIGITS"
"$bin" review import --db archive.db queue/filled.csv

echo "== 4: fine-tuning the head"
"$bin" train classify --base "$here/models/classify-cnn.blm" --freeze features \
    --from-db archive.db --replay "$REPLAY" --epochs "$EPOCHS" --lr "$LR" \
    --out classify-heavy.blm 2>/dev/null
conf tuned.conf "$work/classify-heavy.blm"

echo "== 5: $TEST_PAGES fresh pages of the same hand (test digits)"
"$bin" samples --out fresh --pages "$TEST_PAGES" --seed 4101 --split test --hand heavy >/dev/null
"$bin" run --config base.conf --db fresh-base.db fresh >/dev/null 2>&1
"$bin" run --config tuned.conf --db fresh-tuned.db fresh >/dev/null 2>&1
echo "-- base model:"
"$bin" eval pipeline --db fresh-base.db --truth fresh/truth.json | grep -E "digit accuracy|exact"
echo "-- fine-tuned model:"
"$bin" eval pipeline --db fresh-tuned.db --truth fresh/truth.json | grep -E "digit accuracy|exact"
echo "-- MNIST test accuracy, base then fine-tuned:"
"$bin" eval classify --model "$here/models/classify-cnn.blm" | grep '^accuracy'
"$bin" eval classify --model classify-heavy.blm | grep '^accuracy'
