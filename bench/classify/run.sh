#!/bin/sh
# MNIST: the shipped classifier's accuracy and speed through `blotter eval
# classify`, its confusion matrix as a picture, and blotter against PyTorch
# on the identical CNN (bench/run-classify.sh).
#
#   bench/classify/run.sh        (normally called by bench/run.sh)
#
# Quick mode runs bench/run-classify.sh with ROUNDS=1 REPS=1 (best of 1);
# full mode with its defaults (ROUNDS=2 REPS=2, best of 4). Writes
# classify.md and classify.tsv into $BENCH_OUT and
# $BENCH_IMG/classify-confusion.png.
set -eu
BENCH_ROOT=${BENCH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BENCH_ROOT/bench/lib/common.sh"
bench_defaults
cd "$BENCH_ROOT"

if [ ! -f data/mnist/t10k-images-idx3-ubyte ]; then
    echo "bench/classify: no MNIST in data/mnist; run \`blotter data mnist\`" >&2
    exit 1
fi
work=$(mktemp -d /tmp/bench-classify.XXXXXX)
trap 'rm -rf "$work"' EXIT
before=$(bench_facts)
model=models/classify-cnn.blm
blotter_rel=${BLOTTER#"$BENCH_ROOT"/}

echo "bench/classify: blotter eval classify" >&2
/usr/bin/time -f '%e %U %S %M' -o "$work/time" nice -n 10 "$BLOTTER" eval classify \
    --model "$model" --threads 1 --confusion-png "$BENCH_IMG/classify-confusion.png" \
    >"$work/eval.txt" 2>"$work/eval.err"
acc=$(sed -n 's/^accuracy: //p' "$work/eval.txt")
read -r wall user sys rss <"$work/time"

if [ "$BENCH_MODE" = full ]; then rounds=2 reps=2; else rounds=1 reps=1; fi
echo "bench/classify: bench/run-classify.sh (ROUNDS=$rounds REPS=$reps)" >&2
ROUNDS=$rounds REPS=$reps nice -n 10 bench/run-classify.sh "$work/raw.txt" >"$work/table.txt"
after=$(bench_facts)

{
    echo "### MNIST classifier: accuracy, speed, and PyTorch on the same CNN"
    echo
    echo "Mode \`$BENCH_MODE\`. Started $before; ended $after."
    echo
    echo '```sh'
    echo "$blotter_rel eval classify --model $model --threads 1 --confusion-png docs/img/classify-confusion.png   # under /usr/bin/time"
    echo "ROUNDS=$rounds REPS=$reps bench/run-classify.sh"
    echo '```'
    echo
    echo "| figure | value |"
    echo "| --- | --- |"
    echo "| test accuracy, 10,000 MNIST test digits | **$acc** |"
    awk -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" 'BEGIN {
        printf "| eval classify, whole command (load, 10,000 digits, one thread) | %.2f s wall, %.2f s CPU: %.0f digits per CPU-second |\n", w, u + s, 10000 / (u + s)
        printf "| its peak RSS | %.1f MiB |\n", r / 1024 }'
    echo "| its own report | $(grep 'digits/s' "$work/eval.err" | sed 's/|/\\|/g') |"
    echo
    echo "Confusion matrix (rows: true class, columns: predicted):"
    echo
    echo '![confusion matrix](img/classify-confusion.png)'
    echo
    echo "blotter against PyTorch (bench/run-classify.sh; the section \"blotter"
    echo "against PyTorch on the identical CNN\" below says what each row measures):"
    echo
    echo '```'
    cat "$work/table.txt"
    echo '```'
} >"$BENCH_OUT/classify.md"
{
    printf 'accuracy\teval_wall_s\teval_cpu_s\teval_rss_kib\n'
    printf '%s\t%s\t%s\t%s\n' "$acc" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" "$rss"
} >"$BENCH_OUT/classify.tsv"
cp "$work/raw.txt" "$BENCH_OUT/classify-raw.txt"
echo "bench/classify: wrote $BENCH_OUT/classify.md" >&2
