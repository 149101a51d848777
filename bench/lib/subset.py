"""Make an N-page evaluation set from a larger one: hard links to the first
N pages' files and a truth.json restricted to them (bench/lib/common.sh)."""
import json
import os
import sys

src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(os.path.join(src, "truth.json")) as f:
    truth = json.load(f)
pages = truth["pages"][:n]
if len(pages) < n:
    sys.exit(f"subset.py: {src} has only {len(truth['pages'])} pages")
os.makedirs(dst)
for name in sorted({p["file"] for p in pages}):
    os.link(os.path.join(src, name), os.path.join(dst, name))
truth["pages"] = pages
with open(os.path.join(dst, "truth.json"), "w") as f:
    json.dump(truth, f, indent=1)
print(f"subset.py: {dst}: first {n} pages of {src}")
