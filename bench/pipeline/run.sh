#!/bin/sh
# Pipeline throughput and memory, end to end.
#
#   bench/pipeline/run.sh PAGES [INSTANCES [STAGE]]
#
# Generates PAGES synthetic A4 pages (`blotter samples`: 300 dpi, one
# bilevel CCITT G4 TIFF per page, seed 4242) once into a cache folder
# ($BENCH_CACHE, default /tmp/blotter-bench-pages), then runs `blotter run
# --json` over them into a fresh database with INSTANCES (default 1)
# instances of STAGE (default ingest, the busiest; every other stage keeps 1), and
# prints: pages/s end to end (wall), per stage its items, busy seconds,
# CPU seconds and items per busy second, and per stage process its peak
# RSS (VmHWM from /proc/PID/status, sampled every half second while it
# runs) with its RSS at 10% and 90% of the batch, so a growing stage
# shows. The machine may be shared: CPU seconds per page is the figure
# other jobs disturb least, and the load average is printed before and
# after.
#
# Without arguments under bench/run.sh (BENCH_MODE set) it runs 500 pages
# with 1 and with 2 ingest instances.
#
# Environment: BLOTTER (default build/bin/blotter), BENCH_CACHE, BENCH_OUT
# (folder for the database, summary and samples; default a new /tmp
# folder), BENCH_SEED (4242).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)

# Run by bench/run.sh (BENCH_MODE set, no arguments): the 500-page batch
# with one instance of every stage, then with two of ingest, the busiest,
# each into a folder of its own (the harness's BENCH_OUT holds results,
# not databases) and with its G4 pages in its own cache.
if [ $# -eq 0 ] && [ -n "${BENCH_MODE:-}" ]; then
    for spec in "1 ingest" "2 ingest"; do
        echo "== bench/pipeline/run.sh 500 $spec"
        # shellcheck disable=SC2086 # spec is two words on purpose
        BENCH_OUT= BENCH_CACHE=/tmp/blotter-bench-pages "$0" 500 $spec
        echo
    done
    exit 0
fi

PAGES=${1:?usage: run.sh PAGES [INSTANCES [STAGE]]}
INSTANCES=${2:-1}
STAGE=${3:-ingest}
BLOTTER=${BLOTTER:-$root/build/bin/blotter}
BENCH_CACHE=${BENCH_CACHE:-/tmp/blotter-bench-pages}
BENCH_SEED=${BENCH_SEED:-4242}
out=${BENCH_OUT:-$(mktemp -d /tmp/blotter-bench.XXXXXX)}
mkdir -p "$out"

# More than BENCH_BASE pages (default 500) are made as distinct copies of
# BENCH_BASE generated ones (vary_pages: each copy carries a few marks in
# its margin, so it is a new scan to the writer): generating 10,000 pages
# would take most of an hour of CPU.
BENCH_BASE=${BENCH_BASE:-500}
generate() { # DIR N
    if [ ! -f "$1/truth.json" ]; then
        echo "generating $2 pages into $1 (once)" >&2
        rm -rf "$1.tmp"
        "$BLOTTER" samples --out "$1.tmp" --pages "$2" --seed "$BENCH_SEED" \
            --dpi 300 --format tiff >/dev/null 2>"$out/samples.txt"
        mv "$1.tmp" "$1"
    fi
}
if [ "$PAGES" -le "$BENCH_BASE" ]; then
    pages_dir=$BENCH_CACHE/g4-300dpi-$PAGES-seed$BENCH_SEED
    generate "$pages_dir" "$PAGES"
else
    if [ $((PAGES % BENCH_BASE)) -ne 0 ]; then
        echo "run.sh: PAGES above $BENCH_BASE must be a multiple of it" >&2
        exit 2
    fi
    base_dir=$BENCH_CACHE/g4-300dpi-$BENCH_BASE-seed$BENCH_SEED
    generate "$base_dir" "$BENCH_BASE"
    pages_dir=$BENCH_CACHE/g4-300dpi-$PAGES-from-$BENCH_BASE-seed$BENCH_SEED
    if [ ! -d "$pages_dir" ]; then
        vary=$(dirname "$BLOTTER")/vary_pages
        echo "making $PAGES pages from $BENCH_BASE into $pages_dir (once)" >&2
        rm -rf "$pages_dir.tmp"
        "$vary" "$pages_dir.tmp" $((PAGES / BENCH_BASE)) "$base_dir"/*.tif
        mv "$pages_dir.tmp" "$pages_dir"
    fi
fi

conf=$out/bench.conf
run_dir=$out/run
cat >"$conf" <<CONF
[pipeline]
runtime_dir = $run_dir
templates = $root/templates
[models]
ingest = $root/models/ingest-orient.blm
detect = $root/models/detect-regions.blm
segment = $root/models/segment-cuts.blm
classify = $root/models/classify-cnn.blm
write = $root/models/write-gate.blm
[instances]
$STAGE = $INSTANCES
CONF

db=$out/bench.db
rm -f "$db" "$db-wal" "$db-shm"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$BLOTTER" run --quiet --json --config "$conf" --db "$db" --batch bench \
    "$pages_dir" >"$out/summary.json" 2>"$out/stderr.txt" &
front=$!

# Samples the stage processes' memory while the batch runs: one line per
# sample and process: seconds, pages stored so far, pid, stage, VmRSS kB,
# VmHWM kB.
samples=$out/rss.txt
: >"$samples"
t0=$(date +%s.%N)
while kill -0 "$front" 2>/dev/null; do
    stored=$(sqlite3 "file:$db?mode=ro" 'SELECT count(*) FROM pages' 2>/dev/null || echo 0)
    now=$(date +%s.%N)
    for pid in $(cat /proc/"$front"/task/*/children 2>/dev/null); do
        # A process may end between the listing and the reading.
        cmd=$(cat "/proc/$pid/cmdline" 2>/dev/null | tr '\0' ' ') || continue
        [ -n "$cmd" ] || continue
        name=${cmd%% *}
        inst=$(echo "$cmd" | sed -n 's/.*--instance \([0-9]*\).*/\1/p')
        mem=$(awk '/^VmRSS/ {r = $2} /^VmHWM/ {h = $2} END {if (r) print r, h}' "/proc/$pid/status" 2>/dev/null) || continue
        [ -n "$mem" ] || continue
        echo "$(echo "$now - $t0" | bc) ${stored:-0} $pid ${name##*/}.$inst $mem" >>"$samples"
    done
    sleep 0.5
done
status=0
wait "$front" || status=$?
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
if [ "$status" -ne 0 ]; then
    echo "blotter run exited $status:" >&2
    cat "$out/stderr.txt" >&2
    exit 1
fi

echo "pages $PAGES, $INSTANCES x $STAGE; output in $out"
python3 - "$out/summary.json" "$samples" "$PAGES" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
pages = int(sys.argv[3])
print("%d pages (%d stored, %d duplicate scans), %d fields, %d errors in %.1f s: "
      "%.2f pages/s (wall)" % (s["pages_this_run"], s["pages"], s["duplicate_pages"],
      s["fields"], s["errors"], s["seconds"], s["pages_per_second"]))
print("%-9s %4s %7s %9s %8s %11s %9s" % ("stage", "inst", "items", "busy s",
      "cpu s", "items/busy s", "cpu ms/item"))
cpu_total = 0
for name in ("ingest", "detect", "segment", "classify", "write"):
    t = s["stages"][name]
    cpu_total += t["cpu_seconds"]
    n = t["items_in"] or 1
    print("%-9s %4d %7d %9.1f %8.1f %11.1f %9.1f" % (name, t["instances"],
          t["items_in"], t["busy_seconds"], t["cpu_seconds"],
          t["items_per_busy_second"], 1000 * t["cpu_seconds"] / n))
print("stage CPU %.1f s in all: %.1f ms per page; front end CPU %.2f s" %
      (cpu_total, 1000 * cpu_total / max(s["pages_this_run"], 1), s["front_cpu_seconds"]))
rows = {}
for line in open(sys.argv[2]):
    f = line.split()
    if len(f) < 6:
        continue
    t, stored, pid, name, rss, hwm = float(f[0]), int(f[1]), f[2], f[3], int(f[4]), int(f[5])
    rows.setdefault((name, pid), []).append((t, stored, rss, hwm))
print("peak RSS per stage (front end's /proc reading): " + ", ".join(
      "%s %.1f MiB" % (n, s["stages"][n]["peak_rss_kb"] / 1024)
      for n in ("ingest", "detect", "segment", "classify", "write")))
print("%-22s %8s %12s %12s %10s" % ("process", "pid", "RSS@10% MiB", "RSS@90% MiB", "peak MiB"))
for (name, pid), r in sorted(rows.items()):
    def at(frac):
        want = frac * pages
        best = min(r, key=lambda x: abs(x[1] - want))
        return best[2] / 1024
    print("%-22s %8s %12.1f %12.1f %10.1f" % (name, pid, at(0.1), at(0.9), max(x[3] for x in r) / 1024))
PY
