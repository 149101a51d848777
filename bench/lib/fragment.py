"""Turn a benchmark's raw JSON lines into its result fragment: NAME.md (a
section of docs/BENCHMARKS.md: the commands, the date and machine, the
tables) and NAME.tsv (the figures, for the plots in bench/plots/).

fragment.py throughput BATCH.jsonl INSTANCES.jsonl OUT_DIR FACTS_BEFORE FACTS_AFTER
fragment.py ocr OCR.json OUT_DIR FACTS_BEFORE FACTS_AFTER
"""
import json
import os
import sys

STAGES = ("ingest", "detect", "segment", "classify", "write")


def rel(path):
    root = os.environ.get("BENCH_ROOT", "")
    return os.path.relpath(path, root) if root and path.startswith(root) else path


def lines(path):
    with open(path) as f:
        return [json.loads(x) for x in f if x.strip()]


def mib(kib):
    return f"{kib / 1024:.1f}" if kib else "-"


def fig(x, fmt="{:.4f}"):
    return "-" if x is None else fmt.format(x)


def header(title, facts_before, facts_after, commands):
    mode = os.environ.get("BENCH_MODE", "quick")
    out = [f"### {title}", "",
           f"Mode `{mode}`. Started {facts_before}; ended {facts_after}.", "",
           "```sh"] + commands + ["```", ""]
    return out


def throughput(batch_path, inst_path, out_dir, before, after):
    batch, inst = lines(batch_path), lines(inst_path)
    blotter = rel(os.environ.get("BLOTTER", "blotter"))
    seed = os.environ.get("BENCH_SEED", "5001")
    cache = rel(os.environ.get("BENCH_CACHE", "bench/cache"))
    md = header("Throughput, CPU and memory against the batch size", before, after, [
        f"BENCH_MODE={os.environ.get('BENCH_MODE', 'quick')} bench/throughput/run.sh   # or bench/run.sh, which runs it",
        f"# for each N in {os.environ.get('BENCH_SIZES', '')}:",
        f"{blotter} samples --out {cache}/eval-{seed}-N --pages N --seed {seed}   # once, cached",
        f"bench/lib/pipe_run.py {blotter} C D {cache}/eval-{seed}-N {cache}/eval-{seed}-N/truth.json",
        f"#   = {blotter} run --config C --db D --json --quiet {cache}/eval-{seed}-N",
        f"#     + VmHWM of every stage process + CPU time of the process tree",
        f"#     + {blotter} eval pipeline --db D --truth {cache}/eval-{seed}-N/truth.json --json",
        "# C: pipeline.conf with absolute model paths and a private runtime_dir",
    ])
    md += ["Wall time is elapsed time on a shared machine; CPU is user + system time",
           "of `blotter run` and every stage process (wait4), the fairer figure",
           "when other jobs compete for the cores. Accuracy is `blotter eval",
           'pipeline` on the same run (definitions: "Whole pipeline on synthetic pages", below).',
           "Files fed again: files the front end fed a second time for want of an",
           "outcome within `retry_timeout` (3600 s in these runs; their second pass",
           "would be in the CPU figure).", "",
           "| pages | wall s | pages/s (wall) | CPU s | CPU ms/page | pages per CPU-second | field exact | digit accuracy | files fed again |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    tsv = ["pages\twall_s\tpages_per_s\tcpu_s\tcpu_ms_per_page\t" +
           "\t".join(f"{s}_cpu_ms\t{s}_rss_mib" for s in STAGES)]
    for r in batch:
        n = r["run"]["pages"]
        cpu = r["tree_cpu_seconds"]
        ev = r.get("eval", {})
        md.append(f"| {n:,} | {r['run']['seconds']:.1f} | {r['run']['pages_per_second']:.2f} | "
                  f"{cpu:.1f} | {1000 * cpu / n:.0f} | {n / cpu:.2f} | "
                  f"{fig(ev.get('field_exact_accuracy'))} | {fig(ev.get('digit_accuracy'))} | "
                  f"{r.get('files_fed_again', '-')} |")
        st = r["run"]["stages"]
        tsv.append(f"{n}\t{r['run']['seconds']:.3f}\t{r['run']['pages_per_second']:.4f}\t"
                   f"{cpu:.3f}\t{1000 * cpu / n:.2f}\t" + "\t".join(
                       f"{1000 * st[s]['cpu_seconds'] / n:.2f}\t"
                       f"{r['stage_peak_rss_kib'].get(s, 0) / 1024:.1f}" for s in STAGES))
    md += ["", "Per stage: CPU milliseconds per page (the stage's own measure, all its",
           "instances) and peak resident set (VmHWM, MiB, the largest instance), and",
           "the front end's peak RSS:", "",
           "| stage | " + " | ".join(f"CPU ms/page, {r['run']['pages']:,} p" for r in batch) +
           " | " + " | ".join(f"peak RSS MiB, {r['run']['pages']:,} p" for r in batch) + " |",
           "| --- |" + " --- |" * (2 * len(batch))]
    for s in STAGES:
        md.append(f"| {s} | " + " | ".join(
            f"{1000 * r['run']['stages'][s]['cpu_seconds'] / r['run']['pages']:.1f}" for r in batch) +
            " | " + " | ".join(mib(r["stage_peak_rss_kib"].get(s)) for r in batch) + " |")
    md.append("| front end (`blotter run`) | " + " | ".join("" for r in batch) + " | " +
              " | ".join(mib(r["front_peak_rss_kib"]) for r in batch) + " |")
    mode = os.environ.get("BENCH_MODE", "quick")
    md += ["", f"![CPU per page against the batch size](img/bench-batch-{mode}.png)"]
    write(out_dir, "throughput-batch", md, tsv)

    n = inst[0]["run"]["pages"] if inst else 0
    md = header(f"Instances: 1 or 2 of each middle stage ({n:,} pages)", before, after, [
        f"bench/lib/pipe_run.py {blotter} C D {cache}/eval-{seed}-{n} {cache}/eval-{seed}-{n}/truth.json",
        "# C: pipeline.conf, then with [instances] STAGE = 2 for each middle stage in",
        "# turn, then with all four at 2",
    ])
    md += ["| configuration | wall s | pages/s (wall) | CPU ms/page | " +
           " | ".join(f"{s} busy s" for s in STAGES[:4]) + " | field exact | files fed again |",
           "| --- | --- | --- | --- | " + "--- | " * 4 + "--- | --- |"]
    tsv = ["label\tpages_per_s\tpages_per_cpu_s\tcpu_ms_per_page"]
    for r in inst:
        p = r["run"]["pages"]
        cpu = r["tree_cpu_seconds"]
        st = r["run"]["stages"]
        md.append(f"| {r['label']} | {r['run']['seconds']:.1f} | {r['run']['pages_per_second']:.2f} | "
                  f"{1000 * cpu / p:.0f} | " +
                  " | ".join(f"{st[s]['busy_seconds']:.1f}" for s in STAGES[:4]) +
                  f" | {fig(r.get('eval', {}).get('field_exact_accuracy'))} | "
                  f"{r.get('files_fed_again', '-')} |")
        tsv.append(f"{r['label']}\t{r['run']['pages_per_second']:.4f}\t{p / cpu:.4f}\t"
                   f"{1000 * cpu / p:.2f}")
    md += ["", "Busy seconds are summed over a stage's instances. On two shared cores a",
           "second instance can only help while a core is idle; where the wall figure",
           "does not move, the stage was not the one the pipeline waited for, or no",
           "core was free.", "",
           f"![throughput against instances](img/bench-instances-{mode}.png)"]
    write(out_dir, "throughput-instances", md, tsv)


def ocr(path, out_dir, before, after):
    with open(path) as f:
        r = json.load(f)
    blotter = rel(os.environ.get("BLOTTER", "blotter"))
    pages = r["pages_dir"]
    n = r["pages"]
    md = header(f"blotter against Tesseract {r['tesseract_version']} on the same {n} pages",
                before, after, [
        "bench/ocr/run.sh   # or bench/run.sh, which runs it",
        f"bench/lib/pipe_run.py {blotter} C D {rel(pages)} {rel(pages)}/truth.json   # blotter, as above",
        f"bench/ocr/tesseract_bench.py --mode page --pages {rel(pages)} --db T1.db",
        f"#   = {r['page']['command']}   (LIST: the page files)",
        f"bench/ocr/tesseract_bench.py --mode crops --pages {rel(pages)} --db T2.db",
        f"#   = {r['crops']['command']}   (LIST: each true field's box + 8 px)",
        f"{blotter} eval pipeline --db T1.db --truth {rel(pages)}/truth.json --json   # and T2.db",
    ])
    md += ["Every row is scored by the same code (`blotter eval pipeline`,",
           "stages/blotter/score.c): Tesseract's readings are stored in a database of",
           "blotter's schema. Whole pages: Tesseract's words that hold digits, cut to",
           "their digits and grouped into a field when a true field covers most of",
           "the word (bench/ocr/tesseract_bench.py says exactly how). Field crops:",
           "Tesseract is handed each true field's box, so it is spared detection",
           "(precision and recall 1 by construction) and only reads. Pages/s: wall",
           "time, and pages per CPU-second of all processes involved (blotter: the",
           "whole pipeline; Tesseract: its process, one thread).", "",
           "| system | field precision | field recall | field exact-match | digit accuracy | pages/s (wall) | pages per CPU-second |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    tsv = ["system\texact\tdigit\tprecision\trecall\tpages_per_cpu_s"]
    rows = [("blotter, whole pages", "blotter", r["blotter"]["eval"], r["blotter"]["wall_seconds"],
             r["blotter"]["tree_cpu_seconds"]),
            ("Tesseract, whole pages (psm 3)", "Tesseract\\npages", r["page"]["eval"],
             r["page"]["wall_seconds"], r["page"]["cpu_seconds"]),
            ("Tesseract, true field crops (psm 7, digits only)", "Tesseract\\ncrops",
             r["crops"]["eval"], r["crops"]["wall_seconds"], r["crops"]["cpu_seconds"])]
    for name, short, ev, wall, cpu in rows:
        md.append(f"| {name} | {fig(ev.get('field_precision'))} | {fig(ev.get('field_recall'))} | "
                  f"**{fig(ev.get('field_exact_accuracy'))}** | **{fig(ev.get('digit_accuracy'))}** | "
                  f"{n / wall:.2f} | {n / cpu:.2f} |")
        tsv.append(f"\"{short}\"\t{ev.get('field_exact_accuracy') or 0:.4f}\t"
                   f"{ev.get('digit_accuracy') or 0:.4f}\t{ev.get('field_precision') or 0:.4f}\t"
                   f"{ev.get('field_recall') or 0:.4f}\t{n / cpu:.3f}")
    mode = os.environ.get("BENCH_MODE", "quick")
    again = r["blotter"].get("files_fed_again", 0)
    if again:
        md += ["", f"In blotter's run the front end fed {again} files again for want of an",
               "outcome within `retry_timeout`; their second pass is in blotter's time."]
    md += ["", f"{r['true_fields']} true fields.", "",
           f"![blotter against Tesseract](img/bench-ocr-{mode}.png)"]
    write(out_dir, "ocr", md, tsv)


def write(out_dir, name, md, tsv):
    with open(os.path.join(out_dir, name + ".md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(out_dir, name + ".tsv"), "w") as f:
        f.write("\n".join(tsv) + "\n")
    print(f"fragment.py: wrote {rel(os.path.join(out_dir, name))}.md and .tsv", file=sys.stderr)


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "throughput":
        throughput(*sys.argv[2:7])
    elif what == "ocr":
        ocr(*sys.argv[2:6])
    else:
        sys.exit(f"fragment.py: unknown fragment {what}")
