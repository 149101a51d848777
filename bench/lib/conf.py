"""Write a pipeline.conf for a benchmark run (bench/lib/common.sh).

conf.py SRC OUT [section.key=value ...]: copies SRC, turns relative model
and template paths absolute (relative paths are read from the configuration file's own
folder, and OUT lives elsewhere) and sets each given key, which must exist
in SRC (a typo would otherwise measure the default)."""
import os
import re
import sys

src, out, sets = sys.argv[1], sys.argv[2], sys.argv[3:]
base = os.path.dirname(os.path.abspath(src))
want = {}  # later settings of the same key win
for s in sets:
    k, _, v = s.partition("=")
    want[k] = v
section, lines, seen = "", [], set()
for line in open(src):
    m = re.match(r"\s*\[(\w+)\]", line)
    if m:
        section = m.group(1)
    m = re.match(r"\s*(\w+)\s*=\s*(.*?)\s*$", line)
    if m:
        key, value = f"{section}.{m.group(1)}", m.group(2)
        if key in want:
            value = want[key]
            seen.add(key)
        elif (section == "models" or key == "pipeline.templates") and value \
                and not os.path.isabs(value):
            value = os.path.join(base, value)
        line = f"{m.group(1)} = {value}\n"
    lines.append(line)
missing = set(want) - seen
if missing:
    sys.exit(f"conf.py: {src} has no key {', '.join(sorted(missing))}")
with open(out, "w") as f:
    f.writelines(lines)
