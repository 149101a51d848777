"""Run the pipeline once over a folder of pages and measure it.

pipe_run.py BLOTTER CONF DB PAGES [TRUTH]

Runs `blotter run --config CONF --db DB --json --quiet PAGES` and prints
one JSON object: blotter's own summary (pages, seconds, per-stage items,
busy and CPU seconds), the CPU time of the whole process tree (user +
system of blotter and every stage it waited for, from wait4), each
stage's peak resident set (VmHWM of each stage process, the largest over
a stage's instances), the number of files the front end fed again (retry_timeout), and, with
TRUTH, `blotter eval pipeline --json`.

Peak RSS: every stage process is a child of `blotter run`; /proc/PID/status
is read every 50 ms while it runs. VmHWM is the kernel's own high-water
mark, so the last reading before a process exits is its peak unless the
process grew in its final 50 ms (a stage frees, not grows, when it stops).
"""
import json
import os
import subprocess
import sys
import time

blotter, conf, db, pages = sys.argv[1:5]
truth = sys.argv[5] if len(sys.argv) > 5 else None
for suffix in ("", "-wal", "-shm"):
    try:
        os.unlink(db + suffix)
    except FileNotFoundError:
        pass


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def status(pid):
    name, hwm = None, None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Name:"):
                    name = line.split()[1]
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return name, hwm


cmd = [blotter, "run", "--config", conf, "--db", db, "--json", "--quiet", pages]
t0 = time.monotonic()
errlog = open(db + ".stderr", "w+")
proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errlog)
peak = {}      # pid -> (name, VmHWM KiB)
front_hwm = 0
while proc.poll() is None:
    _, h = status(proc.pid)
    front_hwm = max(front_hwm, h or 0)
    for c in children(proc.pid):
        n, h = status(c)
        if n and h:
            peak[c] = (n, max(h, peak.get(c, (n, 0))[1]))
    time.sleep(0.05)
out = proc.stdout.read()
# Popen reaped the child already; its rusage is in RUSAGE_CHILDREN, which
# also holds every stage process (blotter run waits for them).
ru = __import__("resource").getrusage(__import__("resource").RUSAGE_CHILDREN)
wall = time.monotonic() - t0
if proc.returncode != 0:
    sys.exit(f"pipe_run.py: {' '.join(cmd)} exited {proc.returncode}")
summary = json.loads(out)
errlog.seek(0)
errtext = errlog.read()
errlog.close()
os.unlink(db + ".stderr")
sys.stderr.write(errtext)
# Files the front end fed again after [pipeline] retry_timeout without an
# outcome: their second pass is in the CPU time too.
refed = errtext.count("feeding it again")
rss = {}
for name, h in peak.values():
    stage = name.replace("blotter-", "")
    # /proc's Name is cut to 15 characters: blotter-classif
    stage = {"classif": "classify"}.get(stage, stage)
    rss[stage] = max(rss.get(stage, 0), h)
result = {
    "command": " ".join(cmd),
    "wall_seconds": wall,
    "tree_cpu_seconds": ru.ru_utime + ru.ru_stime,
    "front_peak_rss_kib": front_hwm,
    "stage_peak_rss_kib": rss,
    "files_fed_again": refed,
    "run": summary,
}
if truth:
    ev = subprocess.run([blotter, "eval", "pipeline", "--db", db, "--truth", truth,
                         "--json"], check=True, stdout=subprocess.PIPE)
    result["eval"] = json.loads(ev.stdout)
print(json.dumps(result))
