#!/bin/sh
# Pipeline throughput, CPU cost and each stage's peak memory, as the batch
# grows and with 1 or 2 instances of each middle stage.
#
#   bench/throughput/run.sh        (normally called by bench/run.sh)
#
# For each size in $BENCH_SIZES: `blotter run` over that many evaluation
# pages (seed $BENCH_SEED, from the page cache), through
# bench/lib/pipe_run.py, which also records the process tree's CPU time
# and each stage's peak RSS, and scores the run with `blotter eval
# pipeline`. Then $BENCH_INSTANCE_PAGES pages with the default
# configuration and with 2 instances of ingest, detect, segment, classify
# in turn, and of all four at once. Writes throughput-batch.md/.tsv and
# throughput-instances.md/.tsv into $BENCH_OUT.
set -eu
BENCH_ROOT=${BENCH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BENCH_ROOT/bench/lib/common.sh"
bench_defaults
cd "$BENCH_ROOT"

work=$(mktemp -d /tmp/bench-throughput.XXXXXX)
trap 'rm -rf "$work"' EXIT
rt=$work/run
mkdir -p "$rt"
facts_before=$(bench_facts)

run_one() { # label conf pages-dir jsonl
    echo "bench/throughput: $1 ($(find "$3" -type f \( -name '*.tif' -o -name '*.png' \) | wc -l) files)" >&2
    nice -n 10 "$BENCH_PYTHON" bench/lib/pipe_run.py "$BLOTTER" "$2" "$work/run.db" \
        "$3" "$3/truth.json" | "$BENCH_PYTHON" -c '
import json, sys
r = json.loads(sys.stdin.read()); r["label"] = sys.argv[1]; print(json.dumps(r))' "$1" >>"$4"
}

# Batch sizes.
: >"$work/batch.jsonl"
bench_conf "$work/default.conf" "pipeline.runtime_dir=$rt"
for n in $BENCH_SIZES; do
    dir=$(bench_pages "$n")
    run_one "$n pages" "$work/default.conf" "$dir" "$work/batch.jsonl"
done

# Instances.
: >"$work/inst.jsonl"
dir=$(bench_pages "$BENCH_INSTANCE_PAGES")
run_one "1 of each" "$work/default.conf" "$dir" "$work/inst.jsonl"
for s in ingest detect segment classify; do
    bench_conf "$work/$s.conf" "pipeline.runtime_dir=$rt" "instances.$s=2"
    run_one "2 $s" "$work/$s.conf" "$dir" "$work/inst.jsonl"
done
bench_conf "$work/all.conf" "pipeline.runtime_dir=$rt" instances.ingest=2 \
    instances.detect=2 instances.segment=2 instances.classify=2
run_one "2 of each middle stage" "$work/all.conf" "$dir" "$work/inst.jsonl"

facts_after=$(bench_facts)
# The raw lines, to draw the fragments again.
cp "$work/batch.jsonl" "$BENCH_OUT/throughput-raw-batch.jsonl"
cp "$work/inst.jsonl" "$BENCH_OUT/throughput-raw-instances.jsonl"
"$BENCH_PYTHON" bench/lib/fragment.py throughput "$work/batch.jsonl" "$work/inst.jsonl" \
    "$BENCH_OUT" "$facts_before" "$facts_after"
