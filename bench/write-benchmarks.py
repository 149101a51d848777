"""Assemble the generated part of docs/BENCHMARKS.md from the result
fragments of bench/run.sh.

write-benchmarks.py [ROOT]

The generated part lies between the lines BEGIN and END below; everything
outside them (the definitions and the recorded history, hand-written) is
left as it is. Inside: for each mode that has results (bench/results/full,
then bench/results/quick), its fragments in a fixed order (00-run, classify,
throughput-batch, throughput-instances, ocr), then any other NAME.md a
plugged-in benchmark wrote, by name. Fragment headings are moved one level
down, under the mode's heading.
"""
import glob
import os
import sys

BEGIN = "<!-- bench/run.sh: generated from bench/results/ by bench/write-benchmarks.py; edit those, not this -->"
END = "<!-- bench/run.sh: end of the generated part -->"
ORDER = ["00-run", "classify", "throughput-batch", "throughput-instances", "ocr"]
MODES = [("full", "Full run (`bench/run.sh`)"),
         ("quick", "Quick run (`bench/run.sh --quick`)")]

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
doc = os.path.join(root, "docs", "BENCHMARKS.md")
out = [BEGIN, "", "## Every figure, reproduced by one command: `bench/run.sh`", "",
       "```sh",
       "scripts/setup.sh && scripts/bench-setup.sh   # once, as root: build tools, Tesseract, gnuplot, PyTorch",
       "build/bin/blotter data mnist                 # once: MNIST into data/mnist",
       "bench/run.sh --quick                         # 15-20 minutes on 2 busy cores",
       "bench/run.sh                                 # the full run: about 30 minutes on 2 cores",
       "```", "",
       "bench/README.md describes what each benchmark measures and how another",
       "benchmark plugs in. Each subsection of this generated part was written",
       "by the benchmark named in it, with the commands it ran, the date, the",
       "machine and its load; the quick and the full mode each keep their last",
       "results. The sections after it (from \"Whole pipeline on synthetic",
       "pages\" on) were written by hand as each figure was first measured:",
       "they hold the definitions of the figures and their history, each with",
       "its own command.", "",
       "The classifier's training and validation curves (models/classify-cnn.csv,",
       "drawn by bench/plots/training.gp):", "",
       "![training and validation curves](img/classify-training.png)", ""]
found = False
for mode, title in MODES:
    res = os.path.join(root, "bench", "results", mode)
    frags = sorted(glob.glob(os.path.join(res, "*.md")))
    if not frags:
        continue
    found = True
    names = [os.path.basename(f)[:-3] for f in frags]
    ordered = [n for n in ORDER if n in names] + sorted(n for n in names if n not in ORDER)
    out += [f"### {title}", ""]
    for n in ordered:
        code = False
        with open(os.path.join(res, n + ".md")) as f:
            for line in f.read().rstrip("\n").split("\n"):
                if line.startswith("```"):
                    code = not code
                elif not code and line.startswith("### "):
                    line = "#" + line
                out.append(line)
        out.append("")
if not found:
    out += ["No results yet: run `bench/run.sh --quick`.", ""]
out.append(END)

with open(doc) as f:
    text = f.read()
if BEGIN in text and END in text:
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    text = head + "\n".join(out) + tail
else:
    # First time: after the title and before the first section.
    lines = text.split("\n")
    at = next((i for i, l in enumerate(lines) if l.startswith("## ")), len(lines))
    text = "\n".join(lines[:at] + out + [""] + lines[at:])
with open(doc, "w") as f:
    f.write(text)
print(f"write-benchmarks.py: {os.path.relpath(doc, root)} updated", file=sys.stderr)
