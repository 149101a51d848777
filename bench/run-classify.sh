#!/bin/sh
# Digit classifier: blotter against PyTorch on the identical CNN, in one run.
#
#   bench/run-classify.sh [RAW_OUT]
#
# Builds bench_classify (build-bench/, Release), then runs it and
# bench/classify/torch_bench.py alternately, ROUNDS times per thread count
# (1 and 2), each process repeating every measurement REPS times, and prints
# a table of the best figures: training seconds per epoch (10,000 digits,
# batch 128, Adam), inference digits/s at batch 1 and 64, and the peak RSS
# of classifying 10,000 digits in batches of 64. Best, not mean: other jobs
# share the machine, and the best run is the one least disturbed by them;
# wall and process-CPU time are both shown for the same reason.
# Threads: OMP_NUM_THREADS and OPENBLAS_NUM_THREADS are set per process,
# plus --threads (openblas_set_num_threads / torch.set_num_threads).
#
# Needs MNIST (`blotter data mnist`) and PyTorch (scripts/bench-setup.sh).
# Environment: ROUNDS (2), REPS (2), TRAIN_DIGITS (10000), PYTHON
# (/usr/bin/python3, where Debian's python3-torch lives).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ROUNDS=${ROUNDS:-2}
REPS=${REPS:-2}
TRAIN_DIGITS=${TRAIN_DIGITS:-10000}
PYTHON=${PYTHON:-/usr/bin/python3}
raw=${1:-$(mktemp /tmp/bench-classify.XXXXXX)}
: >"$raw"

if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
    echo "run-classify.sh: $PYTHON cannot import torch; run scripts/bench-setup.sh" >&2
    exit 1
fi
if [ ! -f data/mnist/t10k-images-idx3-ubyte ]; then
    echo "run-classify.sh: no MNIST in data/mnist; run \`blotter data mnist\`" >&2
    exit 1
fi
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DBLOTTER_TESTS=OFF >/dev/null
cmake --build build-bench -j2 --target bench_classify >/dev/null
bench=build-bench/bin/bench_classify
model=models/classify-cnn.blm
torch_version=$(dpkg-query -W -f '${Version}' python3-torch 2>/dev/null || "$PYTHON" -c 'import torch; print(torch.__version__)')

{
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -n) nproc=$(nproc) torch=$torch_version"
    echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$raw"
round=1
while [ "$round" -le "$ROUNDS" ]; do
    for t in 1 2; do
        echo "round $round/$ROUNDS, $t thread(s): blotter" >&2
        OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$bench" --threads "$t" --reps "$REPS" \
            --train-digits "$TRAIN_DIGITS" --model "$model" --data data/mnist >>"$raw"
        echo "round $round/$ROUNDS, $t thread(s): torch" >&2
        OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$PYTHON" bench/classify/torch_bench.py \
            --threads "$t" --reps "$REPS" --train-digits "$TRAIN_DIGITS" --data data/mnist \
            2>/dev/null >>"$raw"
    done
    round=$((round + 1))
done
"$bench" --rss --model "$model" --data data/mnist >>"$raw"
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$PYTHON" bench/classify/torch_bench.py --rss \
    --data data/mnist 2>/dev/null >>"$raw"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$raw"

awk -v runs="$((ROUNDS * REPS))" -v tv="$torch_version" '
/^#/ { print; next }
{
    delete f
    for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    k = f["what"] "/" f["batch"] "/" f["threads"] "/" f["impl"]
    if (f["what"] == "rss") { rss[k] = f["max_rss_kib"]; next }
    if (!(k in wall) || f["wall_s"] + 0 < wall[k]) wall[k] = f["wall_s"] + 0
    if (!(k in cpu) || f["cpu_s"] + 0 < cpu[k]) cpu[k] = f["cpu_s"] + 0
    digits[k] = f["digits"]
}
function cell(k, what) {
    if (!(k in wall)) return sprintf("%9s %9s", "-", "-")
    if (what == "train") return sprintf("%9.2f %9.2f", wall[k], cpu[k])
    return sprintf("%9.0f %9.0f", digits[k] / wall[k], digits[k] / cpu[k])
}
END {
    printf "\nbest of %d runs each; wall = elapsed, cpu = process CPU time (all threads)\n", runs
    printf "%-40s %3s   %-19s   %-19s\n", "", "thr", "blotter", "PyTorch"
    printf "%-40s %3s   %9s %9s   %9s %9s\n", "", "", "wall", "cpu", "wall", "cpu"
    n = split("train/128 infer/1 infer/64", rows, " ")
    name["train/128"] = "train s/epoch (10k digits, b128, Adam)"
    name["infer/1"] = "infer digits/s, batch 1"
    name["infer/64"] = "infer digits/s, batch 64"
    for (r = 1; r <= n; r++)
        for (t = 1; t <= 2; t++) {
            split(rows[r], wb, "/")
            kb = rows[r] "/" t "/blotter"; kt = rows[r] "/" t "/torch"
            printf "%-40s %3d   %s   %s\n", name[rows[r]], t, cell(kb, wb[1]), cell(kt, wb[1])
        }
    printf "%-40s %3d   %9.1f %9s   %9.1f %9s\n", "peak RSS MiB (10k digits, b64)", 1,
           rss["rss/64/1/blotter"] / 1024, "", rss["rss/64/1/torch"] / 1024, ""
}' "$raw"
echo "raw figures: $raw" >&2
