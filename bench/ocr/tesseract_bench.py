"""Tesseract on blotter's evaluation pages, scored like blotter.

tesseract_bench.py --mode page|crops --pages DIR --db OUT.db [--psm N]

Reads DIR/truth.json (`blotter samples`), runs Tesseract and stores what it
read as a blotter database (the real schema, from schema/*.sql, so that
`blotter eval pipeline` scores it with the very code, matching rule and
definitions that score blotter: stages/blotter/score.c). Prints one JSON
object: the Tesseract command, pages, fields, and the CPU and wall time of
the Tesseract processes alone (cutting crops and writing the database are
not counted).

--mode page: Tesseract reads each whole page (`tesseract FILE - --psm 3
tsv`: page segmentation with no orientation detection, as it runs by
default). Only words holding a digit are kept, cut to their digits. A word
belongs to the true field that covers the largest share of its box, if
that share is at least half of the word (so a field's digits that
Tesseract split into several words are put back together, left to right,
and their boxes joined); every other word is a stored field of its own.
The truth is used only to group words, never to choose or correct them, and
`blotter eval pipeline` then pairs stored and true fields by IoU >= 0.5
as for blotter.

--mode crops: Tesseract reads each true field's box (plus 8 px of margin
on every side, cut from the page file) as one line of digits (`--psm 7 -c
tessedit_char_whitelist=0123456789`). Detection is given, so precision and
recall are 1 by construction and only reading is measured.

Tesseract runs on one core (OMP_THREAD_LIMIT=1) and is given the images as
a list file, so that its start-up (loading the language model) is paid once
per run rather than per image.
"""
import argparse
import glob
import json
import os
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time

from PIL import Image

ap = argparse.ArgumentParser()
ap.add_argument("--mode", choices=("page", "crops"), required=True)
ap.add_argument("--pages", required=True)
ap.add_argument("--db", required=True)
ap.add_argument("--psm", type=int, default=None)
ap.add_argument("--schema", default=os.path.join(os.path.dirname(__file__), "..", "..", "schema"))
ap.add_argument("--tesseract", default="tesseract")
args = ap.parse_args()

with open(os.path.join(args.pages, "truth.json")) as f:
    truth = json.load(f)
pages = truth["pages"]
for p in pages:
    if p["page_index"] != 0:
        sys.exit(f"tesseract_bench.py: {p['file']}: multi-page files are not supported; "
                 "generate single-page TIFF or PNG pages")


def run_tesseract(images, extra):
    """Run Tesseract once over a list of images; return (TSV text, cpu s, wall s)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as lst:
        lst.write("\n".join(images) + "\n")
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    cmd = [args.tesseract, lst.name, "-"] + extra + ["tsv"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    res = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.unlink(lst.name)
    if res.returncode != 0:
        sys.exit(f"tesseract_bench.py: tesseract failed ({res.returncode}): {res.stderr[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    shown = [args.tesseract, "LIST", "-"] + extra + ["tsv"]
    return res.stdout, cpu, wall, " ".join(shown)


def words(tsv):
    """Words of a TSV output, grouped by page_num (1-based): [(x,y,w,h,text)]."""
    out = {}
    for line in tsv.splitlines()[1:]:
        f = line.split("\t")
        if len(f) < 12 or f[0] != "5":
            continue
        out.setdefault(int(f[1]), []).append((int(f[6]), int(f[7]), int(f[8]), int(f[9]),
                                              f[11]))
    return out


def overlap(a, b):
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


stored = []   # (page number, value, x, y, w, h)
if args.mode == "page":
    images = [os.path.join(args.pages, p["file"]) for p in pages]
    psm = args.psm if args.psm is not None else 3
    extra = ["--psm", str(psm)]
    tsv, cpu, wall, shown = run_tesseract(images, extra)
    by_page = words(tsv)
    for i, p in enumerate(pages):
        groups = {}
        for (x, y, w, h, text) in by_page.get(i + 1, []):
            digits = re.sub(r"[^0-9]", "", text)
            if not digits:
                continue
            best, share = None, 0.0
            for k, fld in enumerate(p["fields"]):
                s = overlap((x, y, w, h), fld["box"]) / max(w * h, 1)
                if s > share:
                    best, share = k, s
            key = best if share >= 0.5 else ("word", x, y)
            groups.setdefault(key, []).append((x, y, w, h, digits))
        for parts in groups.values():
            parts.sort()
            x0 = min(q[0] for q in parts)
            y0 = min(q[1] for q in parts)
            x1 = max(q[0] + q[2] for q in parts)
            y1 = max(q[1] + q[3] for q in parts)
            stored.append((i, "".join(q[4] for q in parts), x0, y0, x1 - x0, y1 - y0))
else:
    psm = args.psm if args.psm is not None else 7
    extra = ["--psm", str(psm), "-c", "tessedit_char_whitelist=0123456789"]
    tmp = tempfile.mkdtemp(prefix="tess-crops-")
    images, owners = [], []
    margin = 8
    for i, p in enumerate(pages):
        if not p["fields"]:
            continue
        with Image.open(os.path.join(args.pages, p["file"])) as im:
            im.load()
            for k, fld in enumerate(p["fields"]):
                x, y, w, h = fld["box"]
                box = (max(x - margin, 0), max(y - margin, 0),
                       min(x + w + margin, im.width), min(y + h + margin, im.height))
                name = os.path.join(tmp, f"{i:05d}-{k:02d}.png")
                im.crop(box).convert("L").save(name)
                images.append(name)
                owners.append((i, fld))
    tsv, cpu, wall, shown = run_tesseract(images, extra) if images else ("", 0.0, 0.0, "")
    by_img = words(tsv)
    for n, (i, fld) in enumerate(owners):
        text = "".join(w[4] for w in sorted(by_img.get(n + 1, [])))
        stored.append((i, re.sub(r"[^0-9]", "", text), *fld["box"]))
    for name in images:
        os.unlink(name)
    os.rmdir(tmp)

# The database, in blotter's own schema.
for suffix in ("", "-wal", "-shm"):
    if os.path.exists(args.db + suffix):
        os.unlink(args.db + suffix)
db = sqlite3.connect(args.db)
version = 0
for path in sorted(glob.glob(os.path.join(args.schema, "[0-9][0-9][0-9]_*.sql"))):
    with open(path) as f:
        db.executescript(f.read())
    version = int(os.path.basename(path)[:3])
db.execute(f"PRAGMA user_version = {version}")
db.execute("INSERT INTO batches (id, name) VALUES (1, 'tesseract')")
for i, p in enumerate(pages):
    db.execute("INSERT INTO documents (id, batch_id, source_path, page_count) VALUES (?, 1, ?, 1)",
               (i + 1, os.path.join(os.path.abspath(args.pages), p["file"])))
    db.execute("INSERT INTO pages (id, document_id, page_index, width, height, dpi_x, dpi_y, "
               "rotation, skew, content_hash, tr_a, tr_b, tr_c, tr_d, tr_e, tr_f, "
               "model_classify) VALUES (?, ?, 0, ?, ?, ?, ?, 0, 0, ?, 1, 0, 0, 0, 1, 0, ?)",
               (i + 1, i + 1, p["width"], p["height"], p["dpi"], p["dpi"], f"{i:016x}",
                "tesseract"))
counts = {}
for (i, value, x, y, w, h) in stored:
    k = counts.get(i, 0)
    counts[i] = k + 1
    db.execute("INSERT INTO fields (page_id, field_index, field_name, value, confidence, "
               "needs_review, x, y, w, h, px, py, pw, ph) VALUES (?, ?, ?, ?, 1, 0, ?, ?, ?, ?, "
               "?, ?, ?, ?)", (i + 1, k, f"field_{k}", value, x, y, w, h, x, y, w, h))
db.commit()
db.close()
print(json.dumps({"mode": args.mode, "command": shown, "pages": len(pages),
                  "images": len(images), "stored_fields": len(stored),
                  "cpu_seconds": cpu, "wall_seconds": wall}))
