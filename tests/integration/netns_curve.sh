#!/bin/sh
# Two hosts over tcp:// with CURVE, as two network namespaces joined by a
# veth pair on this machine:
#   host A (10.231.N.1): blotter up (front end), blotter-ingest, blotter-write
#   host B (10.231.N.2): blotter-detect, -segment, -classify, started on
#                        their own as an operator (or deploy/'s units) would
# so every page crosses the link twice, encrypted. Checks:
#   1. a small batch (samples/, a few pages) is stored end to end;
#   2. `blotter top --once` on host B, with B's key, shows every stage;
#   3. a peer whose key is authorised gets a file through (the control that
#      shows the next check can fail), and a peer with a key that is not
#      authorised is refused (ZAP 400, logged with its key) and gets
#      nothing through; `blotter top` with that key sees nothing.
#
#   netns_curve.sh BIN_DIR SOURCE_DIR
#
# Needs root and `ip netns`; without them it says why and exits 77, which
# ctest reports as skipped (CI runs as root, so there it runs). Namespaces,
# processes and files are removed on every exit, failures included.
# Cost: about 16 s (22 s under AddressSanitizer); NETNS_PAGES (default 3)
# sets how many sample files are fed.
set -u
bin="$1"
src="$2"
pages="${NETNS_PAGES:-3}"

skip() { echo "netns_curve: SKIPPED: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root to create network namespaces"
command -v ip >/dev/null 2>&1 || skip "the ip command (iproute2) is not installed"

tag="bl$$"
nsa="${tag}a"
nsb="${tag}b"
net="10.231.$(($$ % 250)).0"
ipa="${net%.0}.1"
ipb="${net%.0}.2"
work="$(mktemp -d /tmp/blotter-netns-XXXXXX)"
pids=""

cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for ns in "$nsa" "$nsb"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
    echo "netns_curve: FAILED: $*" >&2
    for f in "$work"/*.log; do
        [ -f "$f" ] && { echo "---- $f" >&2; tail -n 30 "$f" >&2; }
    done
    exit 1
}

ip netns add "$nsa" 2>"$work/ip.err" || skip "ip netns add failed: $(cat "$work/ip.err")"
ip netns add "$nsb" || fail "ip netns add $nsb"
ip link add "${tag}va" type veth peer name "${tag}vb" || fail "veth pair"
ip link set "${tag}va" netns "$nsa" && ip link set "${tag}vb" netns "$nsb" || fail "veth into namespaces"
ip -n "$nsa" addr add "$ipa/24" dev "${tag}va" && ip -n "$nsb" addr add "$ipb/24" dev "${tag}vb" || fail "addresses"
for ns in "$nsa" "$nsb"; do
    ip -n "$ns" link set lo up && ip -n "$ns" link set "${tag}v${ns#"$tag"}" up || fail "links up in $ns"
done

# Keys: the pipeline's server pair, one client pair per host, and a rogue
# pair that is never authorised.
cd "$work" || fail "cd $work"
for k in server hosta hostb rogue; do
    "$bin/blotter" keys --out keys "$k" >/dev/null || fail "blotter keys $k"
done
mkdir authorized && cp keys/hosta.key keys/hostb.key authorized/ || fail "authorized keys"
rogue_key="$(grep -v '^#' keys/rogue.key)"

conf() { # conf FILE CLIENT_KEY_NAME
    cat >"$1" <<CONF
[pipeline]
runtime_dir = $work/run
log_file = $work/$2.log
start_timeout = 60
[endpoints]
events = tcp://$ipa:25500
control = tcp://$ipa:25501
metrics = tcp://$ipa:25502
ingest = tcp://$ipa:25510
detect = tcp://$ipb:25520
segment = tcp://$ipb:25530
classify = tcp://$ipb:25540
write = tcp://$ipa:25550
[models]
ingest = $src/models/ingest-orient.blm
detect = $src/models/detect-regions.blm
classify = $src/models/classify-cnn.blm
[security]
curve = on
server_secret_key = keys/server.key_secret
client_secret_key = keys/$2.key_secret
authorized_keys = authorized
CONF
}
conf a.conf hosta
conf b.conf hostb
conf rogue.conf rogue
mkdir -p in peer
ls "$src"/samples/*.tif "$src"/samples/*.png | head -n "$pages" | while read -r f; do
    cp "$f" in/
done
# The peers send a file the batch does not hold (a scan fed twice is
# stored once).
cp "$(ls "$src"/samples/*.tif "$src"/samples/*.png | sed -n "$((pages + 1))p")" peer/scan.tif

# Host B's stages first, as services that wait for the front end.
for s in detect segment classify; do
    ip netns exec "$nsb" "$bin/blotter-$s" --config b.conf --instance 0 &
    pids="$pids $!"
done
ip netns exec "$nsa" "$bin/blotter" up --config a.conf --db "$work/a.db" 2>"$work/up.log" &
up_pid=$!
pids="$pids $up_pid"
i=0
until [ -S run/front ]; do
    kill -0 "$up_pid" 2>/dev/null || fail "blotter up exited"
    i=$((i + 1))
    [ $i -le 600 ] || fail "blotter up did not come up within 60 s"
    sleep 0.1
done

ip netns exec "$nsa" timeout 120 "$bin/blotter" feed --config a.conf --batch netns --wait in \
    >feed.out 2>feed.err || { cat feed.out feed.err >&2; fail "blotter feed"; }
stored="$(sqlite3 a.db "SELECT count(DISTINCT source_path || '#' || page_index) FROM v_fields WHERE batch = 'netns'")"
[ "${stored:-0}" -ge "$pages" ] || fail "expected fields from at least $pages pages, got ${stored:-0}"
echo "netns_curve: $stored pages stored across the link"

ip netns exec "$nsb" timeout 30 "$bin/blotter" top --config b.conf --once >top.out 2>top.err ||
    { cat top.err >&2; fail "blotter top on host B"; }
for s in ingest detect segment classify write; do
    grep -q "$s" top.out || { cat top.out >&2; fail "blotter top shows no $s"; }
done

ip netns exec "$nsb" "$bin/curve_peer" b.conf "tcp://$ipa:25510" "$work/peer/scan.tif" peer-ok ||
    fail "curve_peer with host B's key"
ip netns exec "$nsb" "$bin/curve_peer" rogue.conf "tcp://$ipa:25510" "$work/peer/scan.tif" peer-rogue ||
    fail "curve_peer with the rogue key"
ip netns exec "$nsb" timeout 30 "$bin/blotter" top --config rogue.conf --once >rogue-top.out 2>&1 &&
    fail "blotter top with an unauthorised key saw figures: $(cat rogue-top.out)"

# The authorised peer's file arrives; give it the time a page takes.
i=0
while [ "$(sqlite3 a.db "SELECT count(*) FROM v_fields WHERE batch = 'peer-ok'" 2>/dev/null || echo 0)" = 0 ]; do
    i=$((i + 1))
    [ $i -le 60 ] || fail "the authorised peer's file was not stored"
    sleep 1
done
rogue_rows="$(sqlite3 a.db "SELECT (SELECT count(*) FROM batches WHERE name = 'peer-rogue') + (SELECT count(*) FROM errors WHERE batch = 'peer-rogue')")"
[ "$rogue_rows" = 0 ] || fail "the rogue peer got something through ($rogue_rows rows)"
grep -qF "CURVE client refused (ZAP 400): key $rogue_key" hosta.log ||
    fail "no refusal of key $rogue_key logged on host A"
echo "netns_curve: unauthorised key $rogue_key refused and logged"

ip netns exec "$nsa" timeout 60 "$bin/blotter" down --config a.conf >/dev/null 2>&1 || fail "blotter down"
wait "$up_pid" || fail "blotter up exited with status $?"
# No stage died on the way (the front end restarts a dead one) and none
# reported a sanitizer error.
if grep -E "restarted|AddressSanitizer|LeakSanitizer|runtime error" up.log hosta.log hostb.log; then
    fail "a process died or reported an error"
fi
echo "netns_curve: passed"
