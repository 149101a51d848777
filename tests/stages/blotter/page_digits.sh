#!/bin/sh
# `blotter data page-digits` writes an IDX training split of the digits the
# pipeline cuts from generated pages, which `train classify --extra-data`
# reads; evaluation seeds and a missing --out are refused.
# Usage: page_digits.sh BLOTTER CONFIG   (exit 77: MNIST not fetched)
set -eu
blotter=$1
config=$2
[ -f "$(dirname "$config")/data/mnist/train-images-idx3-ubyte" ] || exit 77
tmp=$(mktemp -d /tmp/bl-page-digits-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$blotter" data page-digits --config "$config" --out "$tmp/d" --pages 3 --seed 3 >"$tmp/out" 2>&1
cat "$tmp/out"
# Big-endian 32-bit word N (0-based) of a file.
word() { od -An -tu1 -j $(($2 * 4)) -N4 "$1" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}'; }
img="$tmp/d/train-images-idx3-ubyte"
lab="$tmp/d/train-labels-idx1-ubyte"
[ "$(word "$img" 0)" -eq 2051 ] || { echo "images: bad magic"; exit 1; }
[ "$(word "$lab" 0)" -eq 2049 ] || { echo "labels: bad magic"; exit 1; }
n=$(word "$img" 1)
[ "$n" -gt 10 ] || { echo "only $n digits from 3 pages"; exit 1; }
[ "$(word "$lab" 1)" -eq "$n" ] || { echo "label count differs from image count"; exit 1; }
[ "$(word "$img" 2)" -eq 28 ] && [ "$(word "$img" 3)" -eq 28 ] || { echo "not 28 x 28"; exit 1; }
[ "$(stat -c %s "$img")" -eq $((16 + n * 784)) ] || { echo "images: wrong size"; exit 1; }
[ "$(stat -c %s "$lab")" -eq $((8 + n)) ] || { echo "labels: wrong size"; exit 1; }
grep -q "$n digits" "$tmp/out" || { echo "summary does not give $n digits"; exit 1; }
# Every label is a digit, and more than one class occurs.
classes=$(od -An -tu1 -j 8 -v "$lab" | tr -s ' ' '\n' | grep -v '^$' | sort -u)
for c in $classes; do [ "$c" -le 9 ] || { echo "label $c"; exit 1; }; done
[ "$(echo "$classes" | wc -l)" -gt 3 ] || { echo "labels of too few classes"; exit 1; }

# The training command takes them (one tiny epoch of the MLP).
"$blotter" train classify --arch mlp --epochs 1 --extra-data "$tmp/d" --threads 1 \
    --out "$tmp/m.blm" >"$tmp/train" 2>&1 || { cat "$tmp/train"; exit 1; }
grep -q "$((54000 + n)) train" "$tmp/train" || { cat "$tmp/train"; exit 1; }

# Refusals.
if "$blotter" data page-digits --config "$config" --out "$tmp/e" --pages 2 --seed 5001 2>"$tmp/err"; then
    echo "an evaluation seed was accepted"; exit 1
fi
grep -q "evaluation" "$tmp/err"
if "$blotter" data page-digits --config "$config" --pages 2 2>"$tmp/err"; then
    echo "no --out was accepted"; exit 1
fi
grep -q -- "--out" "$tmp/err"
echo "page_digits: $n digits from 3 pages"
