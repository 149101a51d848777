#!/bin/sh
# Checks every systemd unit in deploy/ with `systemd-analyze verify`.
#
#   deploy_verify.sh SOURCE_DIR BIN_DIR
#
# The units run /usr/local/bin/blotter*, which verify requires to exist;
# so that the check also passes on a machine where blotter is not
# installed (CI, a build tree), it verifies copies whose ExecStart and
# ExecStop point at the built executables in BIN_DIR instead; nothing
# else is changed. Templates are verified as an instance (@0). Any
# warning about a unit (an unknown key, a bad value) fails the test, not
# only an error. Without systemd-analyze it exits 77 (skipped).
set -u
src="$1"
bin="$2"
command -v systemd-analyze >/dev/null 2>&1 ||
    { echo "deploy_verify: SKIPPED: systemd-analyze is not installed (package systemd)"; exit 77; }
work="$(mktemp -d /tmp/blotter-units-XXXXXX)"
trap 'rm -rf "$work"' EXIT
status=0
count=0
for unit in "$src"/deploy/*.service "$src"/deploy/*.target; do
    [ -f "$unit" ] || continue
    name="$(basename "$unit")"
    sed "s|/usr/local/bin/|$bin/|g" "$unit" >"$work/$name"
    count=$((count + 1))
done
[ "$count" -ge 7 ] || { echo "deploy_verify: only $count units in $src/deploy" >&2; exit 1; }
for unit in "$work"/*; do
    name="$(basename "$unit")"
    case "$name" in
    *@.service) target="$work/${name%@.service}@0.service" ;;
    *) target="$unit" ;;
    esac
    out="$(cd "$work" && systemd-analyze verify "$target" 2>&1)"
    rc=$?
    # Only lines about our own units count (the host's units are not ours).
    ours="$(printf '%s\n' "$out" | grep -E "blotter" || true)"
    if [ $rc -ne 0 ] || [ -n "$ours" ]; then
        echo "deploy_verify: $name: FAILED (exit $rc)" >&2
        printf '%s\n' "$out" >&2
        status=1
    else
        echo "deploy_verify: $name: ok"
    fi
done
exit $status
