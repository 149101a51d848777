#!/usr/bin/env python3
"""Plays the reviewer for the transfer benchmark: fills new_value in a
review sheet (review.csv of `blotter review export`) from the generator's
truth.json, pairing each sheet row with the true field of its page whose
box overlaps it most (IoU >= 0.5, as the pipeline scorer pairs them).

Stops adding rows once the filled values hold --max-digits digits (each
corrected digit counts, so at most that many digits are taught).

usage: fill_from_truth.py SHEET.csv TRUTH.json OUT.csv [--max-digits 500]
Prints: rows filled, digits in them, rows left empty.
"""
import csv
import json
import os
import sys


def iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    sheet, truth_path, out = argv[1], argv[2], argv[3]
    max_digits = 500
    if len(argv) > 5 and argv[4] == "--max-digits":
        max_digits = int(argv[5])
    truth = json.load(open(truth_path))
    pages = {}
    for p in truth["pages"]:
        pages[(p["file"], p["page_index"])] = p["fields"]
    rows = list(csv.DictReader(open(sheet, newline="")))
    filled = digits = empty = 0
    for r in rows:
        key = None
        for (f, i) in pages:
            if int(r["page_index"]) == i and (r["source_path"] == f or r["source_path"].endswith("/" + f)):
                key = (f, i)
                break
        box = [int(r[k]) for k in ("x", "y", "w", "h")]
        best, value = 0.5, None
        for t in pages.get(key, []):
            o = iou(box, t["box"])
            if o >= best:
                best, value = o, t["value"]
        if value is None or digits + len(value) > max_digits:
            r["new_value"] = ""
            empty += 1
            continue
        r["new_value"] = value
        filled += 1
        digits += len(value)
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=rows[0].keys() if rows else ["field_id", "value", "new_value"])
        w.writeheader()
        w.writerows(rows)
    print(f"filled {filled} rows, {digits} digits; left {empty} empty")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
