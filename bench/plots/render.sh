#!/bin/sh
# Draws the pictures of docs/ from the results of one bench/run.sh mode.
#
#   bench/plots/render.sh quick|full
#
# docs/img/classify-training.png   models/classify-cnn.csv (training.gp)
# docs/img/bench-batch-MODE.png     throughput-batch.tsv (batch.gp)
# docs/img/bench-instances-MODE.png throughput-instances.tsv (instances.gp)
# docs/img/bench-ocr-MODE.png       ocr.tsv (ocr.gp)
# docs/img/architecture.png         architecture.dot (graphviz)
# The confusion matrix is drawn by `blotter eval classify --confusion-png`
# (bench/classify/run.sh). A missing result file skips its picture.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mode=${1:-quick}
res=bench/results/$mode
img=docs/img
mkdir -p "$img"

plot() { # script data out
    if [ -f "$2" ]; then
        gnuplot -e "tsv='$2'; csv='$2'; out='$3'; mode='$mode'" "bench/plots/$1"
        echo "render.sh: $3" >&2
    else
        echo "render.sh: no $2; $3 not drawn" >&2
    fi
}
plot training.gp models/classify-cnn.csv "$img/classify-training.png"
plot batch.gp "$res/throughput-batch.tsv" "$img/bench-batch-$mode.png"
plot instances.gp "$res/throughput-instances.tsv" "$img/bench-instances-$mode.png"
plot ocr.gp "$res/ocr.tsv" "$img/bench-ocr-$mode.png"
dot -Tpng -Gdpi=96 bench/plots/architecture.dot -o "$img/architecture.png"
echo "render.sh: $img/architecture.png" >&2
