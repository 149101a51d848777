# Shared by the benchmark scripts under bench/ (sourced, not run).
#
# bench/run.sh exports the environment below before it calls each
# benchmark's run.sh (bench/README.md is the contract); a benchmark run on
# its own gets the same defaults from bench_defaults.

# bench_defaults: fill in what bench/run.sh would have exported.
bench_defaults() {
    BENCH_ROOT=${BENCH_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
    BENCH_MODE=${BENCH_MODE:-quick}
    BENCH_OUT=${BENCH_OUT:-$BENCH_ROOT/bench/results/$BENCH_MODE}
    BENCH_CACHE=${BENCH_CACHE:-$BENCH_ROOT/bench/cache}
    BENCH_BUILD=${BENCH_BUILD:-$BENCH_ROOT/build-bench}
    BLOTTER=${BLOTTER:-$BENCH_BUILD/bin/blotter}
    BENCH_IMG=${BENCH_IMG:-$BENCH_ROOT/docs/img}
    BENCH_PYTHON=${BENCH_PYTHON:-/usr/bin/python3}
    if [ "$BENCH_MODE" = full ]; then
        BENCH_SIZES=${BENCH_SIZES:-100 1000 10000}
        BENCH_INSTANCE_PAGES=${BENCH_INSTANCE_PAGES:-1000}
        BENCH_OCR_PAGES=${BENCH_OCR_PAGES:-100}
    else
        BENCH_SIZES=${BENCH_SIZES:-20 50 100}
        BENCH_INSTANCE_PAGES=${BENCH_INSTANCE_PAGES:-50}
        BENCH_OCR_PAGES=${BENCH_OCR_PAGES:-20}
    fi
    BENCH_SEED=${BENCH_SEED:-5001}
    export BENCH_ROOT BENCH_MODE BENCH_OUT BENCH_CACHE BENCH_BUILD BLOTTER \
        BENCH_IMG BENCH_PYTHON BENCH_SIZES BENCH_INSTANCE_PAGES \
        BENCH_OCR_PAGES BENCH_SEED
    mkdir -p "$BENCH_OUT" "$BENCH_CACHE" "$BENCH_IMG"
}

# bench_facts: one line of machine facts for a result fragment.
bench_facts() {
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
    printf '%s on %s, %s cores (%s), load average %s' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -n)" "$(nproc)" \
        "${cpu:-unknown CPU}" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# bench_pages N: print the folder of the N-page evaluation set (seed
# $BENCH_SEED, every artefact at its default), making it first if needed.
# Page k of `blotter samples` does not depend on --pages, so smaller sets
# are hard-linked from the largest one and their truth.json cut to their
# pages: the pages are generated once for every size. A set larger than
# BENCH_DISTINCT (1000) pages, a multiple of it, is made of marked copies
# of the BENCH_DISTINCT-page set (vary_pages), and is never cut from.
bench_pages() {
    n=$1
    dir=$BENCH_CACHE/eval-$BENCH_SEED-$n
    if [ -f "$dir/truth.json" ] && [ -f "$dir/.complete" ]; then
        echo "$dir"
        return 0
    fi
    big=""
    for d in "$BENCH_CACHE"/eval-"$BENCH_SEED"-*; do
        [ -f "$d/.complete" ] && [ ! -f "$d/.copies" ] || continue
        m=${d##*-}
        if [ "$m" -gt "$n" ] && { [ -z "$big" ] || [ "$m" -lt "${big##*-}" ]; }; then
            big=$d
        fi
    done
    rm -rf "$dir"
    base_n=${BENCH_DISTINCT:-1000}
    if [ -z "$big" ] && [ "$n" -gt "$base_n" ] && [ $((n % base_n)) -eq 0 ]; then
        # Generating costs about 0.25 s of CPU a page: above BENCH_DISTINCT
        # pages the set is made of marked copies of the first BENCH_DISTINCT
        # (bench/pipeline/vary_pages.c), each a new scan to the writer.
        base=$(bench_pages "$base_n") || return 1
        echo "bench: making $n pages as $((n / base_n)) marked copies of $base" >&2
        "$(dirname "$BLOTTER")/vary_pages" "$dir" $((n / base_n)) "$base"/*.tif >&2 || return 1
        "$BENCH_PYTHON" "$BENCH_ROOT/bench/lib/copies_truth.py" "$base" "$dir" $((n / base_n)) >&2 ||
            return 1
        : >"$dir/.copies"
    elif [ -n "$big" ]; then
        "$BENCH_PYTHON" "$BENCH_ROOT/bench/lib/subset.py" "$big" "$dir" "$n" >&2
    else
        echo "bench: generating $n pages (seed $BENCH_SEED) into $dir" >&2
        if ! nice -n 10 "$BLOTTER" samples --out "$dir" --pages "$n" --seed "$BENCH_SEED" \
            >"$BENCH_CACHE/samples.log" 2>&1; then
            cat "$BENCH_CACHE/samples.log" >&2
            return 1
        fi
        tail -n 1 "$BENCH_CACHE/samples.log" >&2
    fi
    : >"$dir/.complete"
    echo "$dir"
}

# bench_conf OUT [KEY=VALUE ...]: write a pipeline.conf for a benchmark
# run: the source tree's file with absolute model paths, a private runtime
# directory, and each KEY (section.key) set to VALUE.
bench_conf() {
    out=$1
    shift
    # retry_timeout: on a machine shared with other jobs a page can wait in
    # the queues longer than the default 60 s, and the front end would feed
    # its file again (at-least-once recovery, harmless to the results but
    # counted twice in the cost). The benchmarks measure processing, not
    # recovery; pipe_run.py still counts any file fed again.
    "$BENCH_PYTHON" "$BENCH_ROOT/bench/lib/conf.py" "$BENCH_ROOT/pipeline.conf" "$out" \
        pipeline.retry_timeout=3600 "$@"
}
