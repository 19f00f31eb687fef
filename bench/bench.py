#!/usr/bin/python3
"""stockwatch benchmark suite: one run, one table.

Run it through bench/run.sh (or `make bench`); docs/benchmarks.md explains
each benchmark. Everything happens in one temporary folder, removed at the
end, with processes started here and stopped here:

  - the daemon (`stockwatch serve`) with a configuration of its own;
  - the SMTP server of the tests (tests/support/smtp_server.py, aiosmtpd);
  - the baselines: the sqlite3 CLI and bench/lambda_port.py.

It prints the table (markdown) and appends it to the benchmarks document,
and writes the raw numbers as JSON to bench/out/.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import signal
import smtplib
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GEN = os.path.join(HERE, "gen_report.py")
LAMBDA_PORT = os.path.join(HERE, "lambda_port.py")
sys.path.insert(0, HERE)
import http_bench  # noqa: E402  (benchmark 7, beside this file)
import order_bench  # noqa: E402  (benchmark 8, beside this file)
import workbook_bench  # noqa: E402  (benchmark 9, beside this file)
SMTP_SERVER = os.path.join(ROOT, "tests", "support", "smtp_server.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
GNU_TIME = "/usr/bin/time"

SENDER = "stockwatch@example.com"
RECIPIENT = "owner@example.com"

# Sizes: (full, quick).
SIZES = {
    "bulk_stores": (10, 10),
    "bulk_items": (100_000, 10_000),
    "latency_reports": (200, 20),
    "smtp_floor": (50, 10),
    "many_reports": (10_000, 1_000),
    "big_bytes": ("1G", "100M"),
    "http_seconds": (10, 3),
}

BINARY = None  # set by main(); benchmark 8 reads it
BULK_POLL_S = 0.005
LATENCY_POLL_S = 0.001
MANY_POLL_S = 0.010


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


def wait_until(pred, what, timeout, interval):
    """Polls pred() every `interval` s; returns time.monotonic() of the first
    true answer. sqlite3 errors (database not there yet, locked) count as
    "not yet"."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if pred():
                return time.monotonic()
        except (sqlite3.OperationalError, FileNotFoundError):
            pass
        now = time.monotonic()
        if now > deadline:
            raise BenchError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def toml_str(v):
    return json.dumps(str(v))


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def run_gen(*args):
    out = subprocess.run([PYTHON, GEN, *map(str, args)], check=True, capture_output=True,
                         text=True)
    return out.stdout.strip()


# --- processes -----------------------------------------------------------------

class Processes:
    """Every child process started here, so that all of them are stopped."""

    def __init__(self):
        self.procs = []

    def add(self, proc):
        self.procs.append(proc)
        return proc

    def stop(self, proc, timeout=30):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc in self.procs:
            self.procs.remove(proc)
        return proc.returncode

    def stop_all(self):
        for p in list(self.procs):
            self.stop(p, timeout=10)


PROCS = Processes()


class World:
    """One daemon's folders, configuration and database, under `root`."""

    def __init__(self, root):
        self.root = root
        os.makedirs(root)
        self.inbox = os.path.join(root, "inbox")
        self.processed = os.path.join(root, "processed")
        self.failed = os.path.join(root, "failed")
        self.maildir = os.path.join(root, "mail")
        self.staging = os.path.join(root, "staging")
        for d in (self.inbox, self.processed, self.failed, self.maildir, self.staging):
            os.makedirs(d)
        self.db = os.path.join(root, "stockwatch.db")
        self.config = os.path.join(root, "stockwatch.toml")
        self.log_path = os.path.join(root, "stockwatch.log")
        self.daemon = None
        self._ro = None

    def write_config(self, smtp_url=""):
        text = "\n".join([
            "[storage]",
            f"database = {toml_str(self.db)}",
            "",
            "[inbox]",
            f"path = {toml_str(self.inbox)}",
            f"processed = {toml_str(self.processed)}",
            f"failed = {toml_str(self.failed)}",
            "settle_ms = 20",
            "",
            "[alerts]",
            f"from = {toml_str(SENDER)}",
            "",
            "[[alerts.subscription]]",
            f"email = {toml_str(RECIPIENT)}",
            "",
            "[smtp]",
            f"url = {toml_str(smtp_url)}",
            f"maildir = {toml_str(self.maildir)}",
            'starttls = "off"',
            "",
        ])
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(text)

    def start_daemon(self, binary):
        with open(self.log_path, "ab") as logf:
            self.daemon = PROCS.add(subprocess.Popen(
                [binary, "serve", "--config", self.config], cwd=self.root,
                stdout=logf, stderr=logf, stdin=subprocess.DEVNULL))

        def started():
            if self.daemon.poll() is not None:
                raise BenchError(f"stockwatch serve exited with {self.daemon.returncode}:\n"
                                 + self.log_tail())
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return "stockwatch started" in f.read()

        wait_until(started, "stockwatch serve to start", 30, 0.01)

    def stop_daemon(self):
        if self._ro is not None:
            self._ro.close()
            self._ro = None
        if self.daemon is not None:
            rc = PROCS.stop(self.daemon)
            self.daemon = None
            if rc != 0:
                raise BenchError(f"stockwatch serve exited with {rc}:\n{self.log_tail()}")

    def log_tail(self, n=30):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except FileNotFoundError:
            return ""

    def ro(self):
        """A read-only connection to the daemon's database, kept open."""
        if self._ro is None:
            self._ro = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5,
                                       isolation_level=None)
        return self._ro

    def query(self, sql, params=()):
        return self.ro().execute(sql, params).fetchall()


# --- the benchmarks --------------------------------------------------------------

def bulk_stockwatch(binary, root, report, report_again, rows):
    """The daemon: a fresh world, the report renamed into the inbox, then the
    same rows again under another name with one more (blank) line.
    Returns {load_s, reload_s, daemon_hwm_kb}."""
    w = World(root)
    w.write_config()
    name = "inventory-bulk.csv"
    name_again = "inventory-bulk-again.csv"
    shutil.copyfile(report, os.path.join(w.staging, name))
    shutil.copyfile(report_again, os.path.join(w.staging, name_again))
    w.start_daemon(binary)
    try:
        def loaded_and_alerted():
            r = w.query("SELECT id FROM reports WHERE path = ? AND status = 'loaded'", (name,))
            if not r:
                return False
            return bool(w.query("SELECT 1 FROM outbox WHERE report_id = ? "
                                "AND event = 'out_of_stock' LIMIT 1", (r[0][0],)))

        t0 = time.monotonic()
        os.rename(os.path.join(w.staging, name), os.path.join(w.inbox, name))
        t1 = wait_until(loaded_and_alerted, f"{name} to be loaded and alerted", 1800, BULK_POLL_S)
        hwm = vm_hwm_kb(w.daemon.pid)
        n_inv = w.query("SELECT count(*) FROM inventory")[0][0]
        if n_inv != rows:
            raise BenchError(f"inventory holds {n_inv} rows after the bulk load, expected {rows}")
        outbox_before = w.query("SELECT count(*) FROM outbox")[0][0]

        def reloaded():
            return bool(w.query("SELECT 1 FROM reports WHERE path = ?", (name_again,)))

        t2 = time.monotonic()
        os.rename(os.path.join(w.staging, name_again), os.path.join(w.inbox, name_again))
        t3 = wait_until(reloaded, f"{name_again} in the ledger", 1800, BULK_POLL_S)
        status, n_rows, n_changes = w.query(
            "SELECT status, rows, changes FROM reports WHERE path = ?", (name_again,))[0]
        if (status, n_rows, n_changes) != ("loaded", rows, 0):
            raise BenchError(f"the re-load was recorded as {status}, {n_rows} rows, "
                             f"{n_changes} changes; expected loaded, {rows} rows, 0 changes")
        # The checker runs after the ledger row: give it a moment to (not) queue.
        time.sleep(0.2)
        outbox_after = w.query("SELECT count(*) FROM outbox")[0][0]
        if outbox_after != outbox_before:
            raise BenchError(f"the no-op re-load queued {outbox_after - outbox_before} alert(s)")
    finally:
        w.stop_daemon()
    shutil.rmtree(root, ignore_errors=True)
    return {"load_s": t1 - t0, "reload_s": t3 - t2, "daemon_hwm_kb": hwm}


def sqlite_cli_script(report):
    return "\n".join([
        "PRAGMA journal_mode = WAL;",
        "PRAGMA synchronous = NORMAL;",
        "CREATE TABLE IF NOT EXISTS inventory(store TEXT NOT NULL, item TEXT NOT NULL, "
        "count INTEGER NOT NULL, PRIMARY KEY (store, item)) WITHOUT ROWID;",
        "CREATE TEMP TABLE staging(store TEXT, item TEXT, count INTEGER);",
        "BEGIN;",
        f".import --csv --skip 1 --schema temp {json.dumps(report)} staging",
        "INSERT INTO inventory(store, item, count) SELECT store, item, count FROM temp.staging "
        "WHERE true ON CONFLICT(store, item) DO UPDATE SET count = excluded.count;",
        "COMMIT;",
        "",
    ])


def settle_disk():
    """Writes out what earlier runs left dirty in the page cache, before the
    clock starts: otherwise the kernel flushes it during whichever run comes
    next (a 5,000,000-row run leaves about 1.5 GB), and that run pays for its
    predecessors."""
    os.sync()


def timed(cmd, **kwargs):
    settle_disk()
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       **kwargs)
    t1 = time.monotonic()
    if r.returncode != 0:
        raise BenchError(f"{cmd[0]} exited with {r.returncode}: {r.stderr.strip()[:2000]}")
    return t1 - t0


def count_rows(db):
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        return c.execute("SELECT count(*) FROM inventory").fetchone()[0]


def bulk_sqlite_cli(root, report, rows):
    os.makedirs(root)
    db = os.path.join(root, "import.db")
    script = sqlite_cli_script(report)
    load = timed(["sqlite3", "-bail", db], input=script)
    reload_ = timed(["sqlite3", "-bail", db], input=script)
    n = count_rows(db)
    if n != rows:
        raise BenchError(f"sqlite3 .import: {n} rows, expected {rows}")
    shutil.rmtree(root, ignore_errors=True)
    return {"load_s": load, "reload_s": reload_}


def bulk_lambda_port(root, report, rows):
    os.makedirs(root)
    db = os.path.join(root, "lambda.db")
    cmd = [PYTHON, LAMBDA_PORT, "--db", db, "--alert-out", os.path.join(root, "alert.txt"), report]
    load = timed(cmd)
    reload_ = timed(cmd)
    n = count_rows(db)
    if n != rows:
        raise BenchError(f"lambda_port.py: {n} rows, expected {rows}")
    shutil.rmtree(root, ignore_errors=True)
    return {"load_s": load, "reload_s": reload_}


LAST_CPU_S = None  # user + system seconds of the last gnu_time_v() command


def gnu_time_v(cmd, cwd):
    """Runs cmd under GNU time -v; returns (elapsed s, max RSS kB, stdout).
    Its CPU time (user + system) is left in LAST_CPU_S."""
    global LAST_CPU_S
    t0 = time.monotonic()
    r = subprocess.run([GNU_TIME, "-v", *cmd], cwd=cwd, capture_output=True, text=True)
    t1 = time.monotonic()
    if r.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} exited with {r.returncode}:\n{r.stdout}\n"
                         f"{r.stderr[-3000:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    if not m:
        raise BenchError("no 'Maximum resident set size' in the output of time -v")
    user = re.search(r"User time \(seconds\): ([\d.]+)", r.stderr)
    system = re.search(r"System time \(seconds\): ([\d.]+)", r.stderr)
    LAST_CPU_S = float(user.group(1)) + float(system.group(1)) if user and system else None
    return t1 - t0, int(m.group(1)), r.stdout


def ingest_memory(binary, root, report, rows):
    """`stockwatch ingest` of one report into a fresh database (alerts to the
    Maildir). Returns {s, max_rss_kb, cpu_s}."""
    w = World(root)
    w.write_config()
    settle_disk()
    elapsed, rss, out = gnu_time_v([binary, "ingest", "--config", w.config, report], w.root)
    if f"loaded {rows} rows" not in out:
        raise BenchError(f"stockwatch ingest did not load {rows} rows: {out.strip()}")
    shutil.rmtree(root, ignore_errors=True)
    return {"s": elapsed, "max_rss_kb": rss, "cpu_s": LAST_CPU_S}


def many_reports(binary, root, n):
    """n six-row reports (distinct stores, no zeros) renamed into the inbox
    at once; the time until every one is archived."""
    w = World(root)
    w.write_config()
    run_gen("--small", n, "--outdir", w.staging, "--rows", 6, "--zeros", 0, "--prefix", "batch")
    names = sorted(os.listdir(w.staging))
    w.start_daemon(binary)
    try:
        def all_archived():
            done = w.query("SELECT count(*) FROM reports WHERE archived_path <> ''")[0][0]
            return done >= n and not os.listdir(w.inbox)

        t0 = time.monotonic()
        for name in names:
            os.rename(os.path.join(w.staging, name), os.path.join(w.inbox, name))
        t_moved = time.monotonic()
        t1 = wait_until(all_archived, f"{n} reports archived", 1800, MANY_POLL_S)
        total, loaded, paths = w.query(
            "SELECT count(*), sum(status = 'loaded'), count(DISTINCT path) FROM reports")[0]
        inv = w.query("SELECT count(*) FROM inventory")[0][0]
        # How the pace changes as the ledger grows, from the ledger's own
        # times (ms): the first and the last tenth of the batch.
        times = w.query("SELECT received_at, finished_at FROM reports ORDER BY id")
        k = max(1, len(times) // 10)
        first = k / max(0.001, (times[k - 1][1] - times[0][0]) / 1000)
        last = k / max(0.001, (times[-1][1] - times[-k - 1][1]) / 1000)
        problems = []
        if (total, loaded, paths) != (n, n, n):
            problems.append(f"ledger: {total} rows, {loaded} loaded, {paths} distinct paths; "
                            f"expected {n} of each")
        if inv != 6 * n:
            problems.append(f"inventory: {inv} rows, expected {6 * n}")
        if problems:
            raise BenchError("many reports: " + "; ".join(problems))
    finally:
        w.stop_daemon()
    shutil.rmtree(root, ignore_errors=True)
    return {"s": t1 - t0, "rename_s": t_moved - t0, "tenth": k, "first_tenth_rate": first,
            "last_tenth_rate": last}


def free_port_server(root):
    """Starts tests/support/smtp_server.py; returns (proc, port, outdir)."""
    outdir = os.path.join(root, "received")
    ready = os.path.join(root, "smtp-ready")
    logf = open(os.path.join(root, "smtp-server.log"), "ab")
    proc = PROCS.add(subprocess.Popen(
        [PYTHON, SMTP_SERVER, "--port", "0", "--outdir", outdir, "--ready-file", ready],
        stdout=logf, stderr=logf, stdin=subprocess.DEVNULL))
    logf.close()

    def started():
        if proc.poll() is not None:
            raise BenchError(f"the SMTP server exited with {proc.returncode}")
        with open(ready, encoding="ascii") as f:
            return f.read().strip()

    wait_until(started, "the SMTP server to start", 30, 0.01)
    with open(ready, encoding="ascii") as f:
        port = int(f.read().strip())
    return proc, port, outdir


def smtp_floor(port, n):
    """n messages from Python's smtplib to the test server, one connection
    each, as stockwatch does: connect -> 250 after DATA. The server's own
    share of the latency."""
    samples = []
    msg = "From: a@example.com\r\nTo: b@example.com\r\nSubject: x\r\n\r\nfloor\r\n"
    for _ in range(n):
        t0 = time.monotonic()
        s = smtplib.SMTP("127.0.0.1", port, timeout=10)
        s.sendmail(SENDER, [RECIPIENT], msg)
        t1 = time.monotonic()
        s.quit()
        samples.append(t1 - t0)
    return samples


def latency(binary, root, n, floor_n):
    """n six-row reports, one zero each (a new out-of-stock item each time),
    one after the other: rename into the inbox -> the SMTP server has the
    message. Returns {samples_s, floor_s}."""
    os.makedirs(root)
    smtp, port, outdir = free_port_server(root)
    floor = smtp_floor(port, floor_n)
    w = World(os.path.join(root, "world"))
    w.write_config(smtp_url=f"smtp://127.0.0.1:{port}")
    run_gen("--small", n, "--outdir", w.staging, "--rows", 6, "--zeros", 1, "--prefix", "latency",
            "--seed", 2)
    names = sorted(os.listdir(w.staging))
    samples = []
    w.start_daemon(binary)
    try:
        for i, name in enumerate(names, start=floor_n + 1):
            sidecar = os.path.join(outdir, f"{i}.json")
            exists = os.path.exists
            t0 = time.monotonic()
            os.rename(os.path.join(w.staging, name), os.path.join(w.inbox, name))
            t1 = wait_until(lambda: exists(sidecar), f"message {i} at the SMTP server", 60,
                            LATENCY_POLL_S)
            samples.append(t1 - t0)
        time.sleep(0.3)
        extra = os.path.exists(os.path.join(outdir, f"{floor_n + n + 1}.json"))
        if extra:
            raise BenchError(f"the SMTP server received more than {n} messages")
    finally:
        w.stop_daemon()
        PROCS.stop(smtp)
    shutil.rmtree(root, ignore_errors=True)
    return {"samples_s": samples, "floor_s": floor}


def percentile(values, p):
    """Nearest-rank percentile."""
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


# --- machine and table ------------------------------------------------------------

def machine_info(binary):
    cpu = "unknown"
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    mem = ""
    with contextlib.suppress(OSError):
        with open("/proc/meminfo", encoding="ascii") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.1f} GiB"

    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError) as e:
            return f"unknown ({e})"

    head = out(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = out(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"])
    return {
        "source": f"commit {head}" + (" with uncommitted changes" if dirty else ""),
        "nproc": out(["nproc"]),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "stockwatch": out([binary, "--version"]),
        "sqlite3": " ".join(out(["sqlite3", "--version"]).split()[:3]),
        "python": platform.python_version(),
    }


def fmt_s(s):
    if s < 1:
        return f"{s * 1000:.1f} ms"
    return f"{s:.2f} s"


def fmt_rate(x, unit):
    return f"{x:,.0f} {unit}"


def fmt_mib(kb):
    return f"{kb / 1024:.1f} MiB"


def med(xs):
    return statistics.median(xs)


def spread_s(xs):
    return f"{fmt_s(min(xs))} – {fmt_s(max(xs))}" if len(xs) > 1 else "–"


def build_rows(res, cfg):
    """The table: [benchmark, result, min–max, rate, ratio]."""
    rows = []
    n = cfg["bulk_rows"]
    sw = [r["load_s"] for r in res["bulk_stockwatch"]]
    cli = [r["load_s"] for r in res["bulk_sqlite_cli"]]
    lp = [r["load_s"] for r in res["bulk_lambda_port"]]
    sw_rate, cli_rate, lp_rate = n / med(sw), n / med(cli), n / med(lp)
    rows.append([f"2. Bulk load, {n:,} rows: stockwatch serve (mv → loaded + alert queued)",
                 fmt_s(med(sw)), spread_s(sw), fmt_rate(sw_rate, "rows/s"), "1.00"])
    rows.append(["2i. sqlite3 CLI: .import into TEMP staging + upsert (whole process)",
                 fmt_s(med(cli)), spread_s(cli), fmt_rate(cli_rate, "rows/s"),
                 f"{sw_rate / cli_rate:.2f}"])
    rows.append(["2ii. Python port of the two Lambdas (whole process)",
                 fmt_s(med(lp)), spread_s(lp), fmt_rate(lp_rate, "rows/s"),
                 f"{sw_rate / lp_rate:.2f}"])
    ing = [r["s"] for r in res["ingest_1m"]]
    ing_rate = n / med(ing)
    rows.append([f"2iii. stockwatch ingest, {n:,} rows (whole process, for reference)",
                 fmt_s(med(ing)), spread_s(ing), fmt_rate(ing_rate, "rows/s"),
                 f"{sw_rate / ing_rate:.2f}"])

    swr = [r["reload_s"] for r in res["bulk_stockwatch"]]
    clir = [r["reload_s"] for r in res["bulk_sqlite_cli"]]
    lpr = [r["reload_s"] for r in res["bulk_lambda_port"]]
    swr_rate, clir_rate, lpr_rate = n / med(swr), n / med(clir), n / med(lpr)
    rows.append([f"3. Re-load, same {n:,} rows (all no-ops): stockwatch serve (mv → ledger row)",
                 fmt_s(med(swr)), spread_s(swr), fmt_rate(swr_rate, "rows/s"), "1.00"])
    rows.append(["3i. sqlite3 CLI re-import on its loaded database",
                 fmt_s(med(clir)), spread_s(clir), fmt_rate(clir_rate, "rows/s"),
                 f"{swr_rate / clir_rate:.2f}"])
    rows.append(["3ii. Python port re-run on its loaded database",
                 fmt_s(med(lpr)), spread_s(lpr), fmt_rate(lpr_rate, "rows/s"),
                 f"{swr_rate / lpr_rate:.2f}"])

    k = cfg["latency_reports"]
    per_run = {p: [percentile(r["samples_s"], p) for r in res["latency"]] for p in (50, 95, 99)}
    for p in (50, 95, 99):
        rows.append([f"4. Latency, 6-row report → email accepted by SMTP ({k} reports), p{p}",
                     fmt_s(med(per_run[p])), spread_s(per_run[p]), "", ""])
    f = cfg["smtp_floor"]
    fl50 = [percentile(r["floor_s"], 50) for r in res["latency"]]
    fl99 = [percentile(r["floor_s"], 99) for r in res["latency"]]
    rows.append([f"4i. The test SMTP server alone: smtplib, connect → 250 after DATA "
                 f"({f} messages), p50", fmt_s(med(fl50)), spread_s(fl50),
                 f"p99 {fmt_s(med(fl99))}", ""])

    m = cfg["many_reports"]
    many = [r["s"] for r in res["many"]]
    rows.append([f"5. Many reports: {m:,} six-row reports at once → all archived",
                 fmt_s(med(many)), spread_s(many), fmt_rate(m / med(many), "reports/s"), ""])
    k = res["many"][0]["tenth"]
    first = med([r["first_tenth_rate"] for r in res["many"]])
    last = med([r["last_tenth_rate"] for r in res["many"]])
    rows.append([f"5i. The same, pace of the first and of the last {k:,} reports (ledger times)",
                 "", "", f"{first:,.0f} → {last:,.0f} reports/s", ""])

    rss = [r["max_rss_kb"] for r in res["ingest_1m"]]
    rows.append([f"6. Peak RSS, stockwatch ingest of {n:,} rows",
                 fmt_mib(med(rss)), f"{fmt_mib(min(rss))} – {fmt_mib(max(rss))}", "", ""])
    big = res.get("big")
    if big:
        label = (f"6. Peak RSS, stockwatch ingest of a {big['bytes'] / 1e6:,.0f} MB report "
                 f"({big['rows']:,} rows; 1 run)")
        if big.get("finished"):
            rows.append([label, fmt_mib(big["max_rss_kb"]), "–",
                         f"{fmt_s(big['s'])}, {fmt_rate(big['rows'] / big['s'], 'rows/s')}", ""])
        else:
            rows.append([label + ", stopped", fmt_mib(big["max_rss_kb"]) + " (sampled)", "–",
                         f"not done after {fmt_s(big['s'])}: {big['progress']}", ""])
    else:
        rows.append(["6. Peak RSS, stockwatch ingest of a large report", "skipped", "", "", ""])
    hwm = [r["daemon_hwm_kb"] for r in res["bulk_stockwatch"]]
    rows.append([f"6. Peak RSS (VmHWM), stockwatch serve after the {n:,}-row load",
                 fmt_mib(med(hwm)), f"{fmt_mib(min(hwm))} – {fmt_mib(max(hwm))}", "", ""])
    if res.get("http"):
        hz = [r["healthz"]["rps"] for r in res["http"]]
        hz50 = [r["healthz"]["p50_s"] for r in res["http"]]
        rows.append([f"7. HTTP GET /healthz, {http_bench.HEALTHZ_CONNECTIONS} keep-alive "
                     "connections (wrk)", fmt_rate(med(hz), "req/s"),
                     f"{min(hz):,.0f} – {max(hz):,.0f}", f"p50 {fmt_s(med(hz50))}", ""])
        pu = [r["put"]["rps"] for r in res["http"]]
        pu50 = [r["put"]["p50_s"] for r in res["http"]]
        pu99 = [r["put"]["p99_s"] for r in res["http"]]
        bad = sum(r["put"]["non_2xx"] for r in res["http"])
        rows.append([f"7. HTTP PUT of a 6-row report (S3 PutObject, synced, renamed into the inbox), "
                     f"{http_bench.PUT_CONNECTIONS} connections (wrk)", fmt_rate(med(pu), "req/s"),
                     f"{min(pu):,.0f} – {max(pu):,.0f}",
                     f"p50 {fmt_s(med(pu50))}, p99 {fmt_s(med(pu99))}"
                     + (f", {bad} non-2xx" if bad else ""), ""])
    else:
        rows.append(["7. HTTP", "skipped (wrk is not installed)", "", "", ""])
    return rows


def binary_version(binary):
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or out.stderr.strip() or binary
    except (OSError, subprocess.SubprocessError):
        return binary


def compare_table(res, base, cfg):
    """Benchmarks 2-6 with --binary (after) and --baseline (before)."""
    n = cfg["bulk_rows"]
    m = cfg["many_reports"]

    def lat(results, p):
        return med([percentile(r["samples_s"], p) for r in results])

    figures = [
        (f"2. Bulk load, {n:,} rows (serve, mv → alert queued)",
         lambda r: med([x["load_s"] for x in r["bulk_stockwatch"]]), fmt_s),
        (f"3. Re-load, same {n:,} rows (serve, mv → ledger row)",
         lambda r: med([x["reload_s"] for x in r["bulk_stockwatch"]]), fmt_s),
        (f"2iii. stockwatch ingest, {n:,} rows (whole process)",
         lambda r: med([x["s"] for x in r["ingest_1m"]]), fmt_s),
        ("4. Latency, report → email accepted, p50", lambda r: lat(r["latency"], 50), fmt_s),
        ("4. Latency, report → email accepted, p99", lambda r: lat(r["latency"], 99), fmt_s),
        (f"5. {m:,} six-row reports at once → all archived",
         lambda r: med([x["s"] for x in r["many"]]), fmt_s),
        (f"6. Peak RSS, stockwatch ingest of {n:,} rows",
         lambda r: med([x["max_rss_kb"] for x in r["ingest_1m"]]), fmt_mib),
        (f"6. Peak RSS (VmHWM), serve after the {n:,}-row load",
         lambda r: med([x["daemon_hwm_kb"] for x in r["bulk_stockwatch"]]), fmt_mib),
    ]
    rows = []
    for label, figure, fmt in figures:
        before, after = figure(base), figure(res)
        rows.append([label, fmt(before), fmt(after),
                     f"{before / after:.2f}" if after else "–"])
    return md_table(["Benchmark", "Before (baseline)", "After",
                     "Before ÷ after (> 1: better now)"], rows)


def md_table(head, rows):
    table = [head] + rows
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(head)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(r)) + " |")
    return "\n".join(lines)


def markdown_table(rows, runs):
    return md_table(["Benchmark", f"Median of {runs} run(s)", "Min – max", "Rate",
                     "stockwatch ÷ this"], rows)


DOC_INTRO = """\
# Benchmarks

`make bench` (or `bench/run.sh`) measures stockwatch on the machine it runs
on, prints one table, and appends it to the end of this file. Earlier
tables are kept, so the file is a history: compare rows only within one
table, because each table comes from one run on one machine, and the ratios
are computed within that run.

## Results
"""


def doc_section(info, table, cfg, runs, total_s, notes):
    lines = [
        f"### {info['date']}{' (quick mode)' if cfg['quick'] else ''}",
        "",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} memory, "
        f"Linux {info['kernel']}. {info['stockwatch']}, SQLite {info['sqlite3']} (CLI), "
        f"Python {info['python']}. Built from {info['source']}. {runs} run(s), whole suite "
        f"{total_s / 60:.1f} min. Load average (1 min) at the start and the end: "
        f"{info['load_start']:.2f}, {info['load_end']:.2f}.",
        "",
        table,
        "",
    ]
    for n in notes:
        lines.append(f"- {n}")
    if notes:
        lines.append("")
    return "\n".join(lines) + "\n"


# --- main ----------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--doc", help="append the table to this markdown file")
    ap.add_argument("--tmpdir", default=None)
    ap.add_argument("--big-timeout", type=float, default=900.0,
                    help="seconds the large-report ingest may take before it is stopped")
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--order-runs", type=int, default=3,
                    help="runs of each file of benchmark 8 (row orders)")
    ap.add_argument("--order-sizes", choices=("all", "small"), default="all",
                    help="benchmark 8: every size, or 1,000,000 rows alone (small)")
    ap.add_argument("--only", choices=("all", "orders", "classic", "workbooks"), default="all",
                    help="orders: benchmark 8 alone; workbooks: benchmark 9 alone; "
                         "classic: every benchmark but 8")
    ap.add_argument("--baseline", default=None,
                    help="an earlier stockwatch executable: benchmarks 2-6 also run with it, "
                         "each right after the same benchmark with --binary, and a table "
                         "compares the two; benchmark 8 runs its ingest on each file too")
    args = ap.parse_args()
    global BINARY
    BINARY = os.path.abspath(args.binary)

    binary = os.path.abspath(args.binary)
    baseline = os.path.abspath(args.baseline) if args.baseline else None
    q = 1 if args.quick else 0
    cfg = {k: v[q] for k, v in SIZES.items()}
    cfg["quick"] = args.quick
    cfg["bulk_rows"] = cfg["bulk_stores"] * cfg["bulk_items"]
    runs = max(1, args.runs)

    started = time.monotonic()
    info = machine_info(binary)
    info["load_start"] = os.getloadavg()[0]
    tmp = tempfile.mkdtemp(prefix="stockwatch-bench-", dir=args.tmpdir)
    res = {"bulk_stockwatch": [], "bulk_sqlite_cli": [], "bulk_lambda_port": [],
           "ingest_1m": [], "latency": [], "many": []}
    base = {"bulk_stockwatch": [], "ingest_1m": [], "latency": [], "many": []}
    notes = []

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        log(f"working in {tmp}; {runs} run(s){' (quick)' if args.quick else ''}")
        data = os.path.join(tmp, "data")
        os.makedirs(data)
        report = os.path.join(data, "inventory-bulk.csv")
        out = run_gen("--out", report, "--stores", cfg["bulk_stores"], "--items",
                      cfg["bulk_items"], "--seed", 1)
        log(f"bulk report: {out}")
        n_rows = cfg["bulk_rows"]
        # Same rows, one more (blank) line: different bytes, so not a duplicate.
        report_again = os.path.join(data, "inventory-bulk-again.csv")
        shutil.copyfile(report, report_again)
        with open(report_again, "a", encoding="ascii") as f:
            f.write("\n")

        for i in range(runs if args.only in ("all", "classic") else 0):
            def both(what, key, fn):
                """fn(binary, prefix) for --binary and, with a baseline, for it too;
                the two take turns going first, so neither always follows the
                same work (a page cache just filled, files just removed)."""
                order = [(binary, "", res)]
                if baseline:
                    order.append((baseline, "base-", base))
                    if i % 2 == 1:
                        order.reverse()
                for b, prefix, into in order:
                    log(f"run {i + 1}/{runs}: {what}{', baseline' if prefix else ''}")
                    into[key].append(fn(b, prefix))

            both("bulk load, stockwatch serve", "bulk_stockwatch",
                 lambda b, pre: bulk_stockwatch(b, os.path.join(tmp, f"{pre}sw-{i}"), report,
                                                report_again, n_rows))
            log(f"run {i + 1}/{runs}: bulk load, sqlite3 CLI")
            res["bulk_sqlite_cli"].append(bulk_sqlite_cli(os.path.join(tmp, f"cli-{i}"), report,
                                                          n_rows))
            log(f"run {i + 1}/{runs}: bulk load, Python port")
            res["bulk_lambda_port"].append(bulk_lambda_port(os.path.join(tmp, f"lp-{i}"), report,
                                                            n_rows))
            both("stockwatch ingest under time -v", "ingest_1m",
                 lambda b, pre: ingest_memory(b, os.path.join(tmp, f"{pre}ing-{i}"), report,
                                              n_rows))
            both(f"latency, {cfg['latency_reports']} reports", "latency",
                 lambda b, pre: latency(b, os.path.join(tmp, f"{pre}lat-{i}"),
                                        cfg["latency_reports"], cfg["smtp_floor"]))
            if http_bench.wrk_path():
                log(f"run {i + 1}/{runs}: HTTP, wrk")
                h = http_bench.http_bench(World(os.path.join(tmp, f"http-{i}")), binary,
                                          cfg["http_seconds"], wait_until)
                # wrk does not count a request whose answer came after its
                # end, so the ledger may hold a few more; each loaded once.
                if h["ledger_rows"] < h["accepted"] or h["distinct_paths"] != h["ledger_rows"]:
                    raise BenchError(f"HTTP uploads: {h['accepted']} accepted but "
                                     f"{h['ledger_rows']} ledger rows, "
                                     f"{h['distinct_paths']} distinct")
                res.setdefault("http", []).append(h)
            both(f"{cfg['many_reports']} reports at once", "many",
                 lambda b, pre: many_reports(b, os.path.join(tmp, f"{pre}many-{i}"),
                                             cfg["many_reports"]))
            log(f"run {i + 1}/{runs} done: "
                + json.dumps({k: (v[-1] if k != "latency" else "…") for k, v in res.items()}))

        if args.only in ("all", "classic", "workbooks"):
            res["workbooks"] = workbook_bench.run(sys.modules[__name__], tmp, args.quick, runs)
        if args.only in ("all", "orders"):
            res["orders"] = order_bench.run(sys.modules[__name__], tmp, args.quick,
                                            max(1, args.order_runs), args.skip_big,
                                            args.big_timeout,
                                            ("small",) if args.order_sizes == "small"
                                            else ("small", "large"), baseline)
        if not args.skip_big and args.only in ("all", "classic"):
            res["big"] = big_ingest(binary, tmp, cfg["big_bytes"], args.big_timeout)
            if not res["big"]["finished"]:
                notes.append(f"The large-report ingest was stopped after "
                             f"{args.big_timeout:g} s ({res['big']['progress']}); its peak RSS "
                             f"was sampled from /proc every second instead of GNU time.")
    except KeyboardInterrupt:
        log("interrupted")
        PROCS.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
        return 130
    except BenchError as e:
        log(f"FAILED: {e}")
        PROCS.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
        return 1
    finally:
        PROCS.stop_all()
    shutil.rmtree(tmp, ignore_errors=True)

    total = time.monotonic() - started
    info["load_end"] = os.getloadavg()[0]
    if args.only in ("all", "classic"):
        table = markdown_table(build_rows(res, cfg), runs)
    else:
        table = f"Benchmark {8 if args.only == 'orders' else 9} alone (`--only {args.only}`)."
    if baseline and args.only in ("all", "classic"):
        table += ("\n\nBefore and after, side by side: the baseline is " +
                  binary_version(baseline) + "; each figure a median of " + str(runs) +
                  " run(s), the two binaries taking turns within each run (each going first in every "
                  "other run).\n\n" +
                  compare_table(res, base, cfg))
    if res.get("workbooks"):
        table += "\n\n9. Workbooks:\n\n" + workbook_bench.table(res["workbooks"])
    if res.get("orders"):
        order_table, summary = order_bench.tables(res["orders"], args.order_runs)
        table += ("\n\n8. Row orders (medians of " + str(max(1, args.order_runs)) +
                  " run(s); each ratio from the same run):\n\n" + order_table + "\n\n" + summary)
    section = doc_section(info, table, cfg, runs, total, notes)
    print(section)

    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(HERE, "out", f"results-{stamp}.json"), "w", encoding="utf-8") as f:
        json.dump({"machine": info, "config": cfg, "runs": runs, "results": res,
                   "baseline": base if baseline else None}, f, indent=1)

    if args.doc:
        new = not os.path.exists(args.doc)
        with open(args.doc, "a", encoding="utf-8") as f:
            if new:
                f.write(DOC_INTRO)
            f.write("\n" + section)
        log(f"appended the table to {args.doc}")
    return 0


def big_ingest(binary, tmp, size, timeout):
    """One `stockwatch ingest` of a generated report of about `size` bytes
    under GNU time -v. If it takes longer than `timeout`, it is stopped and
    the peak RSS and progress sampled from /proc are reported instead."""
    root = os.path.join(tmp, "big")
    w = World(root)
    w.write_config()
    report = os.path.join(root, "inventory-big.csv")
    log(f"large report: generating about {size}B")
    out = run_gen("--out", report, "--target-bytes", size, "--seed", 3)
    log(f"large report: {out}")
    rows = int(out.split()[0])
    nbytes = os.path.getsize(report)
    log(f"large report: stockwatch ingest (at most {timeout:g} s)")
    t0 = time.monotonic()
    proc = PROCS.add(subprocess.Popen(
        [GNU_TIME, "-v", binary, "ingest", "--config", w.config, report], cwd=root,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    child = None
    hwm = 0
    pos = 0
    while proc.poll() is None and time.monotonic() - t0 < timeout:
        time.sleep(1.0)
        if child is None:
            with contextlib.suppress(OSError, ValueError, IndexError):
                with open(f"/proc/{proc.pid}/task/{proc.pid}/children", encoding="ascii") as f:
                    child = int(f.read().split()[0])
        if child is not None:
            with contextlib.suppress(OSError, TypeError):
                hwm = max(hwm, vm_hwm_kb(child) or 0)
                pos = max(pos, file_position(child, report))
    if proc.poll() is None:
        elapsed = time.monotonic() - t0
        if child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)
        PROCS.stop(proc)
        shutil.rmtree(root, ignore_errors=True)
        done = pos / nbytes if nbytes else 0
        return {"finished": False, "bytes": nbytes, "rows": rows, "s": elapsed,
                "max_rss_kb": hwm,
                "progress": f"{done:.0%} of the file read, about "
                            f"{fmt_rate(rows * done / elapsed, 'rows/s')}"}
    stdout, stderr = proc.communicate()
    elapsed = time.monotonic() - t0
    PROCS.procs.remove(proc)
    if proc.returncode != 0:
        raise BenchError(f"stockwatch ingest of the large report exited with {proc.returncode}:"
                         f"\n{stdout}\n{stderr[-3000:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    if f"loaded {rows} rows" not in stdout:
        raise BenchError(f"the large report was not loaded: {stdout.strip()}")
    shutil.rmtree(root, ignore_errors=True)
    return {"finished": True, "bytes": nbytes, "rows": rows, "s": elapsed,
            "max_rss_kb": int(m.group(1)) if m else hwm}


def file_position(pid, path):
    """Read offset of `path` in process `pid` (how far a load has come)."""
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{fd}") == path:
                with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as f:
                    for line in f:
                        if line.startswith("pos:"):
                            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
