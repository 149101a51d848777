#!/bin/sh
# Backups of a database while the pipeline writes to it: `sqlite3 DB
# ".backup COPY"` and `blotter backup`, one after the other, once a second
# for as long as a `blotter run` over $BENCH_INSTANCE_PAGES pages lasts.
# Each copy is timed and checked (PRAGMA integrity_check and
# foreign_key_check; the number of pages it holds never goes down from one
# copy to the next), and a last copy after the run must hold every page.
# Writes backup.md and backup.tsv into $BENCH_OUT.
#
#   bench/backup/run.sh        (normally called by bench/run.sh)
set -eu
BENCH_ROOT=${BENCH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$BENCH_ROOT/bench/lib/common.sh"
bench_defaults
cd "$BENCH_ROOT"

work=$(mktemp -d /tmp/bench-backup.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/run"
before=$(bench_facts)
dir=$(bench_pages "$BENCH_INSTANCE_PAGES")
bench_conf "$work/c.conf" "pipeline.runtime_dir=$work/run"
live=$work/live.db
blotter_rel=${BLOTTER#"$BENCH_ROOT"/}

now() { date +%s.%N; }
check() { # copy -> "pages fields integrity fk_problems"
    printf '%s %s %s %s' \
        "$(sqlite3 "$1" 'SELECT count(*) FROM pages')" \
        "$(sqlite3 "$1" 'SELECT count(*) FROM fields')" \
        "$(sqlite3 "$1" 'PRAGMA integrity_check' | tr '\n' ' ' | sed 's/ $//')" \
        "$(sqlite3 "$1" 'PRAGMA foreign_key_check' | wc -l)"
}
copy() { # method n
    out=$work/copy-$1-$2.db
    t0=$(now)
    if [ "$1" = sqlite3 ]; then
        sqlite3 "$live" ".backup $out" 2>"$work/err" || { echo "$1 copy $2: $(cat "$work/err")" >&2; return 1; }
    else
        "$BLOTTER" backup --db "$live" "$out" >/dev/null 2>"$work/err" ||
            { echo "$1 copy $2: $(cat "$work/err")" >&2; return 1; }
    fi
    t1=$(now)
    set -- "$1" "$2" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" $(check "$out")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$work/copies.tsv"
    rm -f "$out"
}

printf 'method\tcopy\tseconds\tpages\tfields\tintegrity\tfk_problems\n' >"$work/copies.tsv"
"$BLOTTER" run --config "$work/c.conf" --db "$live" --quiet "$dir" >"$work/run.out" 2>&1 &
pid=$!
n=0
while kill -0 "$pid" 2>/dev/null; do
    if [ -f "$live" ] && [ "$(sqlite3 "$live" 'PRAGMA user_version' 2>/dev/null || echo 0)" -gt 0 ]; then
        n=$((n + 1))
        copy sqlite3 "$n" || true
        copy blotter "$n" || true
    fi
    sleep 1
done
status=0
wait "$pid" || status=$?
copy sqlite3 after || true
copy blotter after || true
after=$(bench_facts)
total=$(sqlite3 "$live" 'SELECT count(*) FROM pages')

"$BENCH_PYTHON" - "$work/copies.tsv" "$BENCH_OUT" "$status" "$total" "$BENCH_INSTANCE_PAGES" \
    "$before" "$after" "$blotter_rel" "$(sqlite3 --version | cut -d' ' -f1)" <<'PY'
import sys
tsv, out, status, total, npages, before, after, blotter, sqv = sys.argv[1:10]
rows = [l.rstrip("\n").split("\t") for l in open(tsv)][1:]
during = [r for r in rows if r[1] != "after"]
final = [r for r in rows if r[1] == "after"]
md = ["### Backups while the writer runs", "",
      f"Started {before}; ended {after}.", "",
      "```sh", "bench/backup/run.sh   # or bench/run.sh, which runs it",
      f"{blotter} run --config C --db live.db --quiet PAGES &   # {npages} evaluation pages",
      "# once a second while it runs, and once after:",
      'sqlite3 live.db ".backup copy.db"',
      f"{blotter} backup --db live.db copy.db",
      "sqlite3 copy.db 'PRAGMA integrity_check'; sqlite3 copy.db 'PRAGMA foreign_key_check'",
      "```", ""]
ok = True
for m in ("sqlite3", "blotter"):
    d = [r for r in during if r[0] == m]
    f = [r for r in final if r[0] == m]
    good = all(r[5] == "ok" and r[6] == "0" for r in d + f)
    pages = [int(r[3]) for r in d]
    mono = all(a <= b for a, b in zip(pages, pages[1:]))
    complete = bool(f) and f[0][3] == total
    ok = ok and good and mono and complete and len(d) > 0
    secs = sorted(float(r[2]) for r in d) or [0.0]
    md.append(f"- `{'sqlite3 .backup' if m == 'sqlite3' else 'blotter backup'}`: "
              f"{len(d)} copies during the run, holding {pages[0] if pages else '-'} to "
              f"{pages[-1] if pages else '-'} pages; every copy "
              f"{'passed' if good else 'did NOT pass'} integrity_check and foreign_key_check; "
              f"page counts {'never went down' if mono else 'went DOWN'}; the copy after the run "
              f"held {f[0][3] if f else '-'} of {total} pages; "
              f"{secs[len(secs) // 2]:.3f} s per copy (median, wall).")
md += ["", f"The run itself exited {status} and stored {total} pages. sqlite3 {sqv}. "
       + ("**The claim holds**: both ways give a consistent copy while the writer runs."
          if ok and status == "0" else "**Something failed**: see the figures above.")]
open(f"{out}/backup.md", "w").write("\n".join(md) + "\n")
open(f"{out}/backup.tsv", "w").write(open(tsv).read())
PY
