#!/bin/sh
# `blotter eval segment` on the first six evaluation pages: the report's
# figures, and --dump: one PNG per misread field listed by --verbose, each
# the field's crop with a row of the digits as the classifier saw them
# below it (56 px cells), in a directory it makes.
# Usage: eval_segment.sh BLOTTER CONFIG   (exit 77: MNIST not fetched)
set -eu
blotter=$1
config=$2
[ -f "$(dirname "$config")/data/mnist/t10k-images-idx3-ubyte" ] || exit 77
tmp=$(mktemp -d /tmp/bl-eval-segment-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$blotter" eval segment --config "$config" --pages 6 --verbose --dump "$tmp/dump" \
    >"$tmp/out" 2>&1 || { cat "$tmp/out"; exit 1; }
cat "$tmp/out"
grep -q "^pages: 6, true fields: " "$tmp/out"
grep -q "^exact accuracy: 0\.[0-9]*" "$tmp/out"
grep -q "^cpu per page (detect + segment): " "$tmp/out"
misread=$(grep -c "^page [0-9]*: .* digits '" "$tmp/out" || true)
[ "$misread" -gt 0 ] || { echo "no misread field in six pages: nothing to check"; exit 1; }
[ "$(ls "$tmp/dump" | wc -l)" -eq "$misread" ] || { echo "dumps differ from misreads"; exit 1; }
# Big-endian 32-bit word at byte offset $2 of a file.
word() { od -An -tu1 -j "$2" -N4 "$1" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}'; }
grep "^page [0-9]*: .* digits '" "$tmp/out" | while read -r _ page name truth rest; do
    page=$(printf '%03d' "${page%:}")
    read=$(echo "$rest" | sed "s/.* digits '\([0-9]*\)'.*/\1/")
    truth=$(echo "$truth" | tr -d "'")
    f="$tmp/dump/p$page-$name-$truth-${read:-none}.png"
    [ -f "$f" ] || { echo "no $f"; exit 1; }
    w=$(word "$f" 16)
    h=$(word "$f" 20)
    # The crop is at least 60 px tall (30 px margins); the digit row adds 60.
    [ "$h" -ge 120 ] || { echo "$f: $h px tall, no digit row"; exit 1; }
    [ "$w" -ge $((${#read} * 60)) ] || { echo "$f: $w px wide for ${#read} digits"; exit 1; }
done
echo "eval_segment: $misread misread fields dumped"
