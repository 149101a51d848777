#!/bin/bash
# What CURVE costs: the same batch through the same pipeline three times,
# on one host, with the stages talking over
#   ipc   ipc:// sockets (the default),
#   tcp   tcp:// on the loopback, plain,
#   curve tcp:// on the loopback with [security] curve = on,
# each run ROUNDS times. Reports the median wall time and the median CPU
# time (user + system) of `blotter run` and every stage process it started
# (they are its children, so bash's `time` counts them). CPU time is the figure to compare on a
# shared machine; wall time is shown for reference.
#
#   bench/curve/curve_cost.sh [BIN_DIR] [PAGES] [ROUNDS]
#       (defaults: build/bin, 60 generated pages, 3 rounds)
set -eu
src="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$(cd "${1:-$src/build/bin}" && pwd)"
pages="${2:-60}"
rounds="${3:-3}"
work="$(mktemp -d /tmp/blotter-curve-bench-XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin/blotter" samples --out pages --pages "$pages" --seed 7 >/dev/null
for k in server client; do "$bin/blotter" keys --out keys "$k" >/dev/null; done
mkdir authorized && cp keys/client.key authorized/

conf() { # conf NAME SCHEME CURVE
    {
        echo "[pipeline]"
        echo "log_level = warn"
        if [ "$2" = tcp ]; then
            echo "[endpoints]"
            p=27500
            for e in events control metrics ingest detect segment classify write; do
                echo "$e = tcp://127.0.0.1:$p"
                p=$((p + 10))
            done
        fi
        echo "[models]"
        echo "ingest = $src/models/ingest-orient.blm"
        echo "detect = $src/models/detect-regions.blm"
        echo "classify = $src/models/classify-cnn.blm"
        echo "[security]"
        echo "curve = $3"
        echo "server_secret_key = keys/server.key_secret"
        echo "client_secret_key = keys/client.key_secret"
        echo "authorized_keys = authorized"
    } >"$1.conf"
}
conf ipc ipc off
conf tcp tcp off
conf curve tcp on

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

echo "pages: $pages, rounds: $rounds"
printf '%-6s %10s %10s %12s\n' setup wall_s cpu_s cpu_ms/page
for setup in ipc tcp curve; do
    : >"$setup.wall"
    : >"$setup.cpu"
    for r in $(seq "$rounds"); do
        rm -f "$setup.db"
        # bash's time keyword: wall, then user and system time of the
        # command and every process it waited for (the stages).
        TIMEFORMAT='%R %U %S'
        { time "$bin/blotter" run --config "$setup.conf" --db "$setup.db" pages \
              >/dev/null 2>"$setup.err"; } 2>"$setup.time" ||
            { cat "$setup.err" >&2; exit 1; }
        read -r wall user sys <"$setup.time"
        echo "$wall" >>"$setup.wall"
        awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }' >>"$setup.cpu"
        stored=$(sqlite3 "$setup.db" "SELECT count(*) FROM pages")
        [ "$stored" = "$pages" ] || { echo "$setup: $stored of $pages pages stored" >&2; exit 1; }
    done
    wall=$(median <"$setup.wall")
    cpu=$(median <"$setup.cpu")
    printf '%-6s %10.2f %10.2f %12.1f\n' "$setup" "$wall" "$cpu" "$(awk -v c="$cpu" -v p="$pages" 'BEGIN { print c * 1000 / p }')"
done
