#!/usr/bin/env python3
"""What one small report costs the daemon, in counts a busy machine does not
change: bytes and calls written, database pages written, context switches
(wake-ups) and, under valgrind, instructions.

    report_cost.py [--binary build/stockwatch] [--reports 1000] [--rows 6]
                   [--callgrind] [--strace]

Runs `stockwatch serve` on a fresh folder (as benchmark 5 of bench/run.sh:
reports with --rows rows each, one store per report, no zeros), renames the
reports into the inbox at once, waits until every one is archived, and
prints, per report, the difference between the daemon's counters just
before the renames and just after the last report was archived:

- write calls and bytes (/proc/PID/io syscw, wchar: every write, pwrite and
  writev of every thread),
- read calls and bytes (syscr, rchar),
- voluntary and involuntary context switches of all threads (each
  voluntary one is a thread going to sleep and being woken again),
- CPU time (user + system; this one does depend on the machine's load).

--strace runs the daemon under `strace -f -c` and adds the per-report count
of every system call. --callgrind runs it under valgrind's callgrind and
adds the instructions per report (and writes the profile beside the
output, for callgrind_annotate); use a few hundred reports there, it is
about 50 times slower. --trace-writes keeps an strace of every write and
adds the pages written to the database's write-ahead log per report, by
the table or index each page belongs to, and the commits per report.

Only the public tools of bench/run.sh, plus strace and valgrind when asked.
"""

import argparse
import collections
import glob
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def log_pages_by_table(writes_txt, db):
    """Frames written to the write-ahead log (from an strace of every
    pwrite64, --trace-writes), by the table or index that owns each page
    (SQLite's dbstat), and the number of commits (frames that end one)."""
    frame = re.compile(r'pwrite64\(\d+<[^>]*-wal>, "((?:\\x[0-9a-f]{2})+)"(?:\.\.\.)?, 24, \d+\)')
    pages = collections.Counter()
    commits = 0
    with open(writes_txt, errors="replace") as f:
        for line in f:
            m = frame.search(line)
            if not m:
                continue
            header = bytes(int(x, 16) for x in re.findall(r"\\x([0-9a-f]{2})", m.group(1)))
            pages[int.from_bytes(header[0:4], "big")] += 1
            if int.from_bytes(header[4:8], "big"):
                commits += 1
    owner = {}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    for name, pageno in con.execute("SELECT name, pageno FROM dbstat"):
        owner[pageno] = name
    con.close()
    tables = collections.Counter()
    for page, count in pages.items():
        tables[owner.get(page, "(freed page)")] += count
    return tables, commits


def counters(pid):
    io = {}
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            k, v = line.split(":")
            io[k] = int(v)
    vol = invol = 0
    for st in glob.glob(f"/proc/{pid}/task/*/status"):
        try:
            with open(st) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches"):
                        invol += int(line.split()[1])
        except FileNotFoundError:
            pass
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    return {"syscw": io["syscw"], "wchar": io["wchar"], "syscr": io["syscr"],
            "rchar": io["rchar"], "vol_cs": vol, "invol_cs": invol, "cpu_s": cpu}


def daemon_pid(proc, binary):
    """The pid of stockwatch itself (under strace or valgrind, a child)."""
    deadline = time.monotonic() + 30
    name = os.path.basename(binary)
    while time.monotonic() < deadline:
        try:
            out = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                 text=True).stdout.split()
        except FileNotFoundError:
            out = []
        for p in [str(proc.pid)] + out:
            try:
                with open(f"/proc/{p}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
                if argv and os.path.basename(argv[0].decode()) == name:
                    return int(p)
            except FileNotFoundError:
                pass
        time.sleep(0.05)
    raise SystemExit("cannot find the daemon's pid")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="build/stockwatch")
    ap.add_argument("--reports", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=6)
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--strace", action="store_true")
    ap.add_argument("--trace-writes", action="store_true",
                    help="strace every write (writes.txt in the kept folder)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    n = args.reports

    root = tempfile.mkdtemp(prefix="report-cost-")
    dirs = {d: os.path.join(root, d) for d in ("inbox", "processed", "failed", "mail", "staging")}
    for d in dirs.values():
        os.makedirs(d)
    db = os.path.join(root, "stockwatch.db")
    cfg = os.path.join(root, "stockwatch.toml")
    with open(cfg, "w") as f:
        f.write(f"""[storage]
database = {json.dumps(db)}

[inbox]
path = {json.dumps(dirs['inbox'])}
processed = {json.dumps(dirs['processed'])}
failed = {json.dumps(dirs['failed'])}
settle_ms = 20

[alerts]
from = "stockwatch@example.com"

[[alerts.subscription]]
email = "owner@example.com"

[smtp]
url = ""
maildir = {json.dumps(dirs['mail'])}
starttls = "off"
""")
    subprocess.run([sys.executable, os.path.join(HERE, "gen_report.py"), "--small", str(n),
                    "--outdir", dirs["staging"], "--rows", str(args.rows), "--zeros", "0",
                    "--prefix", "batch"], check=True, stdout=subprocess.DEVNULL)
    cmd = [binary, "serve", "--config", cfg]
    trace = os.path.join(root, "strace.txt")
    cg = os.path.join(root, "callgrind.out")
    if args.strace:
        cmd = ["strace", "-f", "-c", "-o", trace] + cmd
    if args.trace_writes:
        cmd = ["strace", "-f", "-e", "trace=pwrite64,write,writev,fdatasync,fsync,rename,renameat2",
               "-y", "-x", "-s", "24", "-o", os.path.join(root, "writes.txt")] + cmd
    if args.callgrind:
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg}"] + cmd
    log = open(os.path.join(root, "stockwatch.log"), "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            with open(os.path.join(root, "stockwatch.log"), errors="replace") as f:
                if "stockwatch started" in f.read():
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the daemon did not start:\n" + open(log.name).read())
            time.sleep(0.05)
        pid = daemon_pid(proc, binary) if not args.callgrind else proc.pid
        time.sleep(0.5)
        if args.callgrind:
            subprocess.run(["callgrind_control", "--zero", str(pid)], check=False,
                           stdout=subprocess.DEVNULL)
        before = counters(pid)
        t0 = time.monotonic()
        for name in sorted(os.listdir(dirs["staging"])):
            os.rename(os.path.join(dirs["staging"], name), os.path.join(dirs["inbox"], name))
        while True:
            if len(os.listdir(dirs["processed"])) + len(os.listdir(dirs["failed"])) >= n \
                    and not os.listdir(dirs["inbox"]):
                con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
                done = con.execute(
                    "SELECT count(*) FROM reports WHERE archived_path <> ''").fetchone()[0]
                con.close()
                if done >= n:
                    break
            if proc.poll() is not None:
                raise SystemExit("the daemon stopped:\n" + open(log.name).read()[-3000:])
            time.sleep(0.05)
        wall = time.monotonic() - t0
        after = counters(pid)
        if args.callgrind:
            subprocess.run(["callgrind_control", "--dump", str(pid)], check=False,
                           stdout=subprocess.DEVNULL)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGTERM)
            proc.wait(timeout=120)
    d = {k: after[k] - before[k] for k in before}
    out = {"binary": binary, "reports": n, "rows": args.rows, "wall_s": round(wall, 3)}
    for k, v in d.items():
        out[k + "_per_report"] = round(v / n, 6 if k == "cpu_s" else 3)
    if args.strace:
        calls = {}
        with open(trace) as f:
            for line in f:
                m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$", line)
                if m:
                    calls[m.group(2)] = round(int(m.group(1)) / n, 2)
        out["syscalls_per_report (whole run)"] = calls
    if args.callgrind:
        # The dump taken when the last report was archived (the file
        # written at exit holds only what came after it).
        dumps = sorted(glob.glob(cg + "*"), key=os.path.getmtime)
        total = 0
        with open(dumps[0]) as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    total = max(total, int(line.split()[1]))
        out["instructions_per_report"] = round(total / n)
        out["callgrind_files"] = dumps
    if args.trace_writes:
        # The whole run: the start-up's few dozen pages are included.
        tables, commits = log_pages_by_table(os.path.join(root, "writes.txt"), db)
        out["log_commits_per_report (whole run)"] = round(commits / n, 2)
        out["log_pages_per_report (whole run)"] = round(sum(tables.values()) / n, 2)
        out["log_pages_per_report_by_table"] = {
            k: round(v / n, 2) for k, v in tables.most_common() if v / n >= 0.01}
    print(json.dumps(out, indent=1))
    if not (args.keep or args.callgrind or args.trace_writes):
        shutil.rmtree(root, ignore_errors=True)
    else:
        print("kept:", root)


if __name__ == "__main__":
    main()
