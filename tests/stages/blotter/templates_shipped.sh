#!/bin/sh
# The shipped form templates are exactly the generator's output:
# `blotter samples --templates` into a temporary folder, compared with
# templates/ (its README.md aside). Usage: templates_shipped.sh BLOTTER DIR
set -eu
blotter=$1
shipped=$2
tmp=$(mktemp -d /tmp/bl-templates-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$blotter" samples --templates "$tmp/t" >/dev/null
diff -r -x README.md "$shipped" "$tmp/t"
n=$(ls "$tmp/t"/*.ini | wc -l)
[ "$n" -eq 3 ] || { echo "want 3 templates, got $n"; exit 1; }
echo "templates_shipped: $n templates match $shipped"
