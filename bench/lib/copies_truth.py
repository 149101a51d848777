"""Truth for a page set made by vary_pages: every page of the base set's
truth.json once per copy, its file under copy-NNN/ (bench/lib/common.sh).
The copies' margin marks lie far from every field, so the fields and their
boxes are the base pages' own."""
import json
import os
import sys

base, dst, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(os.path.join(base, "truth.json")) as f:
    truth = json.load(f)
pages = []
for c in range(1, copies + 1):
    for p in truth["pages"]:
        q = dict(p)
        q["file"] = f"copy-{c:03d}/{p['file']}"
        pages.append(q)
truth["pages"] = pages
truth["copies_of"] = {"pages": len(pages) // copies, "copies": copies}
with open(os.path.join(dst, "truth.json"), "w") as f:
    json.dump(truth, f, indent=1)
print(f"copies_truth.py: {dst}: {copies} marked copies of {base}")
