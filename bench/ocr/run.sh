#!/bin/sh
# blotter against Tesseract on the same generated pages, in the same run.
#
#   bench/ocr/run.sh        (normally called by bench/run.sh)
#
# Takes the $BENCH_OCR_PAGES-page evaluation set from the page cache, runs
# blotter over it (bench/lib/pipe_run.py), then Tesseract on the whole
# pages and on the true field crops (bench/ocr/tesseract_bench.py), and
# scores all three with `blotter eval pipeline`. Writes ocr.md and ocr.tsv
# into $BENCH_OUT.
set -eu
BENCH_ROOT=${BENCH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BENCH_ROOT/bench/lib/common.sh"
bench_defaults
cd "$BENCH_ROOT"

if ! command -v tesseract >/dev/null 2>&1; then
    echo "bench/ocr: no tesseract; run scripts/bench-setup.sh" >&2
    exit 1
fi
work=$(mktemp -d /tmp/bench-ocr.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/run"
before=$(bench_facts)
dir=$(bench_pages "$BENCH_OCR_PAGES")
truth=$dir/truth.json

bench_conf "$work/c.conf" "pipeline.runtime_dir=$work/run"
echo "bench/ocr: blotter on $BENCH_OCR_PAGES pages" >&2
nice -n 10 "$BENCH_PYTHON" bench/lib/pipe_run.py "$BLOTTER" "$work/c.conf" "$work/b.db" \
    "$dir" "$truth" >"$work/blotter.json"
for mode in page crops; do
    echo "bench/ocr: Tesseract, $mode" >&2
    nice -n 10 "$BENCH_PYTHON" bench/ocr/tesseract_bench.py --mode "$mode" --pages "$dir" \
        --db "$work/$mode.db" >"$work/$mode.json"
    "$BLOTTER" eval pipeline --db "$work/$mode.db" --truth "$truth" --json >"$work/$mode-eval.json"
done
version=$(tesseract --version 2>&1 | sed -n '1s/^tesseract //p')
"$BENCH_PYTHON" - "$work" "$dir" "$version" >"$work/ocr.json" <<'PY'
import json, sys
w, d, v = sys.argv[1:4]
load = lambda n: json.load(open(f"{w}/{n}.json"))
r = {"pages_dir": d, "tesseract_version": v, "blotter": load("blotter")}
for m in ("page", "crops"):
    r[m] = load(m)
    r[m]["eval"] = load(f"{m}-eval")
r["pages"] = r["blotter"]["eval"]["truth_pages"]
r["true_fields"] = r["blotter"]["eval"]["true_fields"]
print(json.dumps(r))
PY
after=$(bench_facts)
cp "$work/ocr.json" "$BENCH_OUT/ocr-raw.json"   # to draw the fragment again
"$BENCH_PYTHON" bench/lib/fragment.py ocr "$work/ocr.json" "$BENCH_OUT" "$before" "$after"
