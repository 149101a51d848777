"""Draws a scanned page with the fields blotter stored for it: a box per
field (green: accepted, red: flagged for review) and its value, scaled
down for the docs (docs/TUTORIAL.md).

page_fields.py DB SOURCE_PATH OUT.png [WIDTH]

SOURCE_PATH is the page's file as stored in v_fields.source_path (relative
paths are read from the current folder). Needs Debian's python3-pil.
"""
import sqlite3
import sys

from PIL import Image, ImageDraw, ImageFont

db, src, out = sys.argv[1:4]
width = int(sys.argv[4]) if len(sys.argv) > 4 else 900
rows = sqlite3.connect(db).execute(
    "SELECT value, needs_review, x, y, w, h FROM v_fields WHERE source_path = ? "
    "AND page_index = 0", (src,)).fetchall()
if not rows:
    sys.exit(f"page_fields.py: {db}: no fields for {src}")
page = Image.open(src).convert("RGB")
draw = ImageDraw.Draw(page)
try:
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 44)
except OSError:
    font = ImageFont.load_default()
for value, review, x, y, w, h in rows:
    colour = (200, 30, 30) if review else (20, 150, 40)
    draw.rectangle((x - 6, y - 6, x + w + 6, y + h + 6), outline=colour, width=7)
    draw.text((x, y + h + 10), value, fill=colour, font=font)
scale = width / page.width
page.resize((width, int(page.height * scale)), Image.LANCZOS).save(out, optimize=True)
print(f"page_fields.py: {out}: {len(rows)} fields")
