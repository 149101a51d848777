#!/bin/sh
# Runs every benchmark of blotter and writes docs/BENCHMARKS.md from the
# results.
#
#   bench/run.sh [--quick] [--skip NAME]...
#
# Needs the packages of scripts/setup.sh and scripts/bench-setup.sh, and
# MNIST in data/mnist (`blotter data mnist`). Steps:
#  1. builds blotter and the benchmark programs, Release, into build-bench/
#     (tests off);
#  2. generates the evaluation pages once into bench/cache/ (`blotter
#     samples`, seed 5001 and up: MNIST test digits, every artefact at its
#     default), the largest set first, the smaller ones cut from it;
#  3. runs each benchmark, each writing its result fragments (NAME.md with
#     the commands, date, machine and load; NAME.tsv with the figures) into
#     bench/results/MODE/:
#       classify     bench/classify/run.sh  MNIST accuracy and speed,
#                    confusion matrix, blotter against PyTorch
#       throughput   bench/throughput/run.sh  throughput, CPU and peak RSS
#                    per stage against the batch size, 1 or 2 instances
#       ocr          bench/ocr/run.sh  blotter against Tesseract
#     then every other bench/*/run.sh (bench/pipeline/run.sh,
#     bench/transfer/run.sh, ...: bench/README.md is the contract), and
#     notes the ones this tree does not have;
#  4. draws the pictures into docs/img/ (bench/plots/render.sh);
#  5. writes the generated part of docs/BENCHMARKS.md
#     (bench/write-benchmarks.py), both modes' results.
#
# --quick: 20, 50 and 100 pages instead of 100, 1,000 and 10,000; 50
# pages for the instance runs instead of 1,000; 20 for Tesseract instead
# of 100; best of 1 instead of 4 against PyTorch. About 15-20 minutes on two
# busy cores; the full run about 30 minutes on two quiet ones (the
# 10,000-page batch alone takes about 6).
# --skip NAME leaves out one benchmark (classify, throughput, ocr, or a
# plugged-in folder's name); its fragments of the last run stay.
# Environment: BENCH_SIZES, BENCH_INSTANCE_PAGES, BENCH_OCR_PAGES,
# BENCH_SEED override the sizes (bench/lib/common.sh). Sets larger than
# BENCH_DISTINCT (1000) pages are marked copies of the first 1000
# (bench/pipeline/vary_pages.c): each copy is a new scan to the writer.
# A failing benchmark is reported and the others still run; the exit
# status is then 1.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BENCH_ROOT=$root
BENCH_MODE=full
invocation="$(env | grep -E '^BENCH_(SIZES|INSTANCE_PAGES|OCR_PAGES|SEED|DISTINCT)=' | sort | sed 's/=\(.*\)$/="\1"/' | tr '\n' ' ')bench/run.sh $*"
skip=" "
while [ $# -gt 0 ]; do
    case $1 in
        --quick) BENCH_MODE=quick ;;
        --skip) skip="$skip$2 "; shift ;;
        -h|--help) sed -n '2,/^set -eu/p' "$0" | sed 's/^# \{0,1\}//; /^set -eu/d'; exit 0 ;;
        *) echo "bench/run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
export BENCH_ROOT BENCH_MODE
. bench/lib/common.sh
bench_defaults

missing=""
for tool in tesseract gnuplot dot sqlite3 cmake; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
"$BENCH_PYTHON" -c 'import PIL, torch' 2>/dev/null || missing="$missing python3-pil/python3-torch"
if [ -n "$missing" ]; then
    echo "bench/run.sh: missing:$missing; run scripts/bench-setup.sh (as root)" >&2
    exit 2
fi

echo "bench/run.sh: $BENCH_MODE run; building into $BENCH_BUILD" >&2
cmake -S . -B "$BENCH_BUILD" -DCMAKE_BUILD_TYPE=Release -DBLOTTER_TESTS=OFF >/dev/null
cmake --build "$BENCH_BUILD" -j2 >/dev/null

# Each benchmark run replaces its own fragments of this mode; one left out
# with --skip keeps those of its last run (each fragment is dated).
rm -f "$BENCH_OUT/00-run.md" "$BENCH_OUT/zz-not-run.md"

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit (with uncommitted changes)"
{
    echo "\`$invocation\`: run of $(bench_facts); source tree at commit $commit."
    echo "Batch sizes $BENCH_SIZES pages; $BENCH_INSTANCE_PAGES pages for the instance runs,"
    echo "$BENCH_OCR_PAGES for Tesseract; evaluation pages of seed $BENCH_SEED (\`blotter samples\`,"
    echo "MNIST test digits, every artefact at its default). A benchmark left out with"
    echo "\`--skip\` shows its last run's fragment, with that run's own date and commands."
} >"$BENCH_OUT/00-run.md"

# The largest page set first: the smaller ones are cut from it.
largest=0
for n in $BENCH_SIZES $BENCH_INSTANCE_PAGES $BENCH_OCR_PAGES; do
    [ "$n" -gt "$largest" ] && largest=$n
done
bench_pages "$largest" >/dev/null

failed=""
run_bench() { # name script
    case $skip in *" $1 "*) echo "bench/run.sh: skipping $1 (--skip)" >&2; return 0 ;; esac
    echo "bench/run.sh: == $1 ($2) ==" >&2
    rm -f "$BENCH_OUT/$1".* "$BENCH_OUT/$1"-*
    log=$BENCH_OUT/$1.log
    if ! "$2" >"$log.out" 2>"$log"; then
        failed="$failed $1"
        echo "bench/run.sh: $1 FAILED; its messages: bench/results/$BENCH_MODE/$1.log" >&2
        tail -n 5 "$log" >&2
    fi
    # A benchmark that wrote no fragment of its own is shown by what it
    # printed, with the command and the machine.
    if ! ls "$BENCH_OUT/$1"*.md >/dev/null 2>&1; then
        {
            echo "### $1 ($2)"
            echo
            echo "Mode \`$BENCH_MODE\`, $(bench_facts)."
            echo
            echo '```sh'
            echo "BENCH_MODE=$BENCH_MODE $2"
            echo '```'
            echo
            case $failed in *" $1"*) echo "**It failed**; the end of its messages:"; echo; echo '```'; tail -n 20 "$log"; echo '```' ;; esac
            echo "What it printed:"
            echo
            echo '```'
            cat "$log.out"
            echo '```'
        } >"$BENCH_OUT/$1.md"
    fi
    rm -f "$log.out"
    [ -s "$log" ] || rm -f "$log"
}

run_bench classify bench/classify/run.sh
run_bench throughput bench/throughput/run.sh
run_bench ocr bench/ocr/run.sh
absent=""
for expected in pipeline transfer; do
    [ -x "bench/$expected/run.sh" ] || absent="$absent bench/$expected/run.sh"
done
if [ -n "$absent" ]; then
    echo "bench/run.sh: not in this tree, skipped:$absent" >&2
    {
        echo "### Benchmarks not run"
        echo
        echo "This tree has no$absent, so their figures are not in this run."
    } >"$BENCH_OUT/zz-not-run.md"
fi
for script in bench/*/run.sh; do
    name=$(basename "$(dirname "$script")")
    case $name in classify|throughput|ocr|plots|lib) continue ;; esac
    [ -x "$script" ] || continue
    run_bench "$name" "$script"
done

bench/plots/render.sh "$BENCH_MODE"
"$BENCH_PYTHON" bench/write-benchmarks.py "$root"
if [ -n "$failed" ]; then
    echo "bench/run.sh: failed:$failed" >&2
    exit 1
fi
echo "bench/run.sh: done; docs/BENCHMARKS.md and docs/img/ updated" >&2
