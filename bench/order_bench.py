"""Benchmark 8 of bench.py: bulk loads in every row order and two sizes.

For each row order (key; stores grouped but not in alphabetical order;
item-major; shuffled) and each size (1,000,000 and 5,000,000 rows; plus the
1 GB report shuffled), on the same file, side by side within each run:

  - `stockwatch ingest` into a fresh database, the whole process under GNU
    time -v (elapsed and peak RSS);
  - `stockwatch serve`: from the rename into the inbox until the report is
    loaded and its alert queued, and until its checkpoint has finished (the
    log frames written so far are copied into the database file, as the
    WAL index says; a log under the daemon's 4 MiB threshold is not copied,
    and then both times are the same);
  - the sqlite3 CLI (.import into a TEMP table + upsert) and the Python port
    of the Lambdas, each the whole process.

With a baseline (an earlier stockwatch executable, bench.py --baseline), its
`stockwatch ingest` runs on the same file in the same run, the two binaries
taking turns going first, and the table shows both and their ratio.

The targets of each order are checked on the medians of one run of the suite:
ingest at least 2x as fast as sqlite3 and 5x as fast as the Python port;
shuffled within 1.5x of key order; 5,000,000 rows within 5.5x the time of
1,000,000; peak RSS at most 64 MB.
"""

import os
import struct
import subprocess
import shutil
import statistics
import time

ORDERS = ("key", "stores", "items", "shuffled")
ORDER_NAMES = {
    "key": "key order",
    "stores": "grouped by store, stores not in alphabetical order",
    "items": "item-major (each item for every store)",
    "shuffled": "shuffled",
}
# (full, quick): rows of the two sizes, and the size of the large shuffled report.
SIZES = {"small": (1_000_000, 100_000), "large": (5_000_000, 500_000), "big": ("1G", "100M")}
STORES = 10
RSS_LIMIT_KB = 64 * 1000  # 64 MB
CHECKPOINT_POLL_S = 0.01


def med(xs):
    return statistics.median(xs)


def wal_frames(w):
    """(frames in the write-ahead log, frames copied into the database) from
    the WAL index (the -shm file): mxFrame of its header and nBackfill of
    its checkpoint information (SQLite's documented WAL-index layout)."""
    with open(w.db + "-shm", "rb") as f:
        head = f.read(100)
    return struct.unpack_from("=I", head, 16)[0], struct.unpack_from("=I", head, 96)[0]


# The daemon copies the log after a report only when it holds at least this
# much (SqliteStorage::kCheckpointLogBytes); the log's frames are a page each.
DAEMON_CHECKPOINT_BYTES = 4 << 20


def checkpoint_done(w, frames, page_size):
    """True once the log's first `frames` frames are in the database file
    (or the log has started over, which it does only after that). `frames`
    is read once the alert is queued, and may already count a few frames
    written after the daemon's checkpoint (the sent mark of the alert, the
    take-in), which the daemon leaves in the log until its next report: so
    a copy that left less than its threshold behind counts as done too."""
    now, copied = wal_frames(w)
    left_bytes = (now - copied) * (page_size + 24)
    return copied >= frames or now < frames or (copied > 0 and left_bytes < DAEMON_CHECKPOINT_BYTES)


def serve_load(b, root, report, rows):
    """stockwatch serve: rename -> loaded and alert queued, and -> checkpoint
    done. Returns {loaded_s, checkpointed_s, hwm_kb}."""
    w = b.World(root)
    w.write_config()
    name = os.path.basename(report)
    staged = os.path.join(w.staging, name)
    try:
        os.link(report, staged)
    except OSError:
        shutil.copyfile(report, staged)
    w.start_daemon(b.BINARY)
    try:
        def loaded_and_alerted():
            r = w.query("SELECT id, rows FROM reports WHERE path = ? AND status = 'loaded'",
                        (name,))
            if not r:
                return False
            if r[0][1] != rows:
                raise b.BenchError(f"{name}: {r[0][1]} rows loaded, expected {rows}")
            return bool(w.query("SELECT 1 FROM outbox WHERE report_id = ? "
                                "AND event = 'out_of_stock' LIMIT 1", (r[0][0],)))

        b.settle_disk()
        t0 = time.monotonic()
        os.rename(staged, os.path.join(w.inbox, name))
        t1 = b.wait_until(loaded_and_alerted, f"{name} loaded and alerted", 3600, b.BULK_POLL_S)
        frames, _ = wal_frames(w)  # the log with the report's rows and its alert
        page_size = w.query("PRAGMA page_size")[0][0]
        t2 = b.wait_until(lambda: checkpoint_done(w, frames, page_size), f"{name} checkpointed",
                          3600, CHECKPOINT_POLL_S)
        hwm = b.vm_hwm_kb(w.daemon.pid)
    finally:
        w.stop_daemon()
    shutil.rmtree(root, ignore_errors=True)
    return {"loaded_s": t1 - t0, "checkpointed_s": t2 - t0, "hwm_kb": hwm}


def timed_limit(b, cmd, limit, **kwargs):
    """The whole process's time; a process still running after `limit`
    seconds is stopped, and the time is then a lower bound: (s, finished)."""
    b.settle_disk()
    t0 = time.monotonic()
    proc = b.PROCS.add(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        stdin=subprocess.PIPE if "input" in kwargs else None,
                                        text=True))
    try:
        _, err = proc.communicate(kwargs.get("input"), timeout=limit)
    except subprocess.TimeoutExpired:
        b.PROCS.stop(proc)
        return time.monotonic() - t0, False
    t1 = time.monotonic()
    b.PROCS.procs.remove(proc)
    if proc.returncode != 0:
        raise b.BenchError(f"{cmd[0]} exited with {proc.returncode}: {err.strip()[:2000]}")
    return t1 - t0, True


def one_file(b, tmp, tag, report, rows, runs, limit, with_baselines=True, baseline=None):
    """Every measurement of one file, `runs` times side by side. A baseline
    still running after `limit` seconds is stopped (its time is then a lower
    bound). `baseline`: an earlier executable whose ingest runs too."""
    out = {"ingest_s": [], "rss_kb": [], "loaded_s": [], "checkpointed_s": [], "hwm_kb": [],
           "cli_s": [], "port_s": [], "stopped": [], "base_ingest_s": [], "base_rss_kb": [],
           "cpu_s": [], "base_cpu_s": []}
    for i in range(runs):
        turns = [(b.BINARY, "", "ingest_s", "rss_kb", "cpu_s")]
        if baseline:
            turns.append((baseline, "base-", "base_ingest_s", "base_rss_kb", "base_cpu_s"))
            if i % 2 == 1:
                turns.reverse()
        for binary, pre, key_s, key_rss, key_cpu in turns:
            b.log(f"orders {tag}, run {i + 1}/{runs}: stockwatch ingest"
                  + (" (baseline)" if pre else ""))
            ing = b.ingest_memory(binary, os.path.join(tmp, f"o-{pre}ing-{tag}-{i}"), report,
                                  rows)
            out[key_s].append(ing["s"])
            out[key_rss].append(ing["max_rss_kb"])
            if ing.get("cpu_s") is not None:
                out[key_cpu].append(ing["cpu_s"])
        b.log(f"orders {tag}, run {i + 1}/{runs}: stockwatch serve")
        s = serve_load(b, os.path.join(tmp, f"o-sw-{tag}-{i}"), report, rows)
        out["loaded_s"].append(s["loaded_s"])
        out["checkpointed_s"].append(s["checkpointed_s"])
        out["hwm_kb"].append(s["hwm_kb"])
        if with_baselines:
            b.log(f"orders {tag}, run {i + 1}/{runs}: sqlite3 CLI")
            root = os.path.join(tmp, f"o-cli-{tag}-{i}")
            os.makedirs(root)
            t, done = timed_limit(b, ["sqlite3", "-bail", os.path.join(root, "import.db")], limit,
                                  input=b.sqlite_cli_script(report))
            out["cli_s"].append(t)
            if not done:
                out["stopped"].append("cli")
            shutil.rmtree(root, ignore_errors=True)
            b.log(f"orders {tag}, run {i + 1}/{runs}: Python port")
            root = os.path.join(tmp, f"o-lp-{tag}-{i}")
            os.makedirs(root)
            t, done = timed_limit(b, [b.PYTHON, b.LAMBDA_PORT, "--db",
                                      os.path.join(root, "lambda.db"), "--alert-out",
                                      os.path.join(root, "alert.txt"), report], limit)
            out["port_s"].append(t)
            if not done:
                out["stopped"].append("port")
            shutil.rmtree(root, ignore_errors=True)
    return out


def run(b, tmp, quick, runs, skip_big, limit, sizes=("small", "large"), baseline=None):
    """All of benchmark 8 (`sizes`: "small" for 1,000,000 rows alone).
    Returns {"files": [{order, size, rows, bytes, ...}]}."""
    q = 1 if quick else 0
    data = os.path.join(tmp, "orders")
    os.makedirs(data, exist_ok=True)
    files = []
    for size in sizes:
        n = SIZES[size][q]
        for order in ORDERS:
            report = os.path.join(data, f"inventory-{order}-{n}.csv")
            b.log(f"orders: generating {n:,} rows, {order}")
            gen = b.run_gen("--out", report, "--stores", STORES, "--items", n // STORES,
                            "--order", order, "--seed", 1)
            b.log(f"orders: {gen}")
            r = one_file(b, tmp, f"{order}-{n}", report, n, runs, limit, baseline=baseline)
            r.update({"order": order, "size": size, "rows": n, "bytes": os.path.getsize(report)})
            files.append(r)
            os.unlink(report)
    if not skip_big:
        report = os.path.join(data, "inventory-big-shuffled.csv")
        b.log(f"orders: generating about {SIZES['big'][q]}B, shuffled")
        gen = b.run_gen("--out", report, "--target-bytes", SIZES["big"][q], "--stores", STORES,
                        "--order", "shuffled", "--seed", 3)
        n = int(gen.split()[0])
        b.log(f"orders: {gen}")
        r = one_file(b, tmp, "big-shuffled", report, n, 1, limit, baseline=baseline)
        r.update({"order": "shuffled", "size": "big", "rows": n, "bytes": os.path.getsize(report)})
        files.append(r)
        os.unlink(report)
    shutil.rmtree(data, ignore_errors=True)
    return {"files": files}


def _fmt_s(s):
    return f"{s:.2f} s"


def _mark(ok):
    return "met" if ok else "**not met**"


def tables(res, runs):
    """Markdown: one row per file, then the targets, each met or not."""
    files = res["files"]
    head = ["Rows, order", "ingest (whole process)", "serve: loaded + alert queued",
            "serve: + checkpoint done", "sqlite3 .import + upsert", "Python port",
            "sqlite3 ÷ ingest", "Python ÷ ingest", "peak RSS ingest / serve"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for f in files:
        ing = med(f["ingest_s"])
        cli = med(f["cli_s"]) if f["cli_s"] else None
        port = med(f["port_s"]) if f["port_s"] else None
        label = (f"{f['rows']:,}, {ORDER_NAMES[f['order']]}"
                 + (f" ({f['bytes'] / 1e9:.2f} GB, 1 run)" if f["size"] == "big" else ""))
        cli_gt = "> " if "cli" in f.get("stopped", []) else ""
        port_gt = "> " if "port" in f.get("stopped", []) else ""
        lines.append("| " + " | ".join([
            label, _fmt_s(ing), _fmt_s(med(f["loaded_s"])), _fmt_s(med(f["checkpointed_s"])),
            (cli_gt + _fmt_s(cli) + (" (stopped)" if cli_gt else "")) if cli else "–",
            (port_gt + _fmt_s(port) + (" (stopped)" if port_gt else "")) if port else "–",
            f"{cli_gt}{cli / ing:.2f}" if cli else "–", f"{port_gt}{port / ing:.2f}" if port else "–",
            f"{max(f['rss_kb']) / 1024:.1f} / {max(f['hwm_kb']) / 1024:.1f} MiB"]) + " |")

    by = {(f["order"], f["size"]): f for f in files}
    checks = []
    for f in files:
        ing = med(f["ingest_s"])
        where = f"{f['rows']:,} rows, {f['order']}"
        if f["cli_s"]:
            r = med(f["cli_s"]) / ing
            gt = "> " if "cli" in f.get("stopped", []) else ""
            checks.append((f"ingest ≥ 2× sqlite3, {where}", f"{gt}{r:.2f}×", r >= 2))
        if f["port_s"]:
            r = med(f["port_s"]) / ing
            gt = "> " if "port" in f.get("stopped", []) else ""
            checks.append((f"ingest ≥ 5× the Python port, {where}", f"{gt}{r:.2f}×", r >= 5))
        rss = max(max(f["rss_kb"]), max(f["hwm_kb"]))
        checks.append((f"peak RSS ≤ 64 MB, {where}", f"{rss / 1024:.1f} MiB",
                       rss <= RSS_LIMIT_KB))
    for size in ("small", "large"):
        key, shuf = by.get(("key", size)), by.get(("shuffled", size))
        if key and shuf:
            r = med(shuf["ingest_s"]) / med(key["ingest_s"])
            checks.append((f"shuffled ≤ 1.5× key order, {key['rows']:,} rows", f"{r:.2f}×",
                           r <= 1.5))
    for order in ORDERS:
        small, large = by.get((order, "small")), by.get((order, "large"))
        if small and large:
            r = med(large["ingest_s"]) / med(small["ingest_s"])
            checks.append((f"{large['rows']:,} rows ≤ 5.5× {small['rows']:,}, {order}",
                           f"{r:.2f}×", r <= 5.5))
    if any(f["base_ingest_s"] for f in files):
        lines += ["", "Before and after (`stockwatch ingest`, whole process, same file, same run, "
                  "the two taking turns; CPU = user + system):", "",
                  "| Rows, order | baseline: elapsed (CPU) | this build: elapsed (CPU) "
                  "| baseline ÷ this build: elapsed (CPU) | peak RSS baseline / this build |",
                  "|---|---|---|---|---|"]
        for f in files:
            if not f["base_ingest_s"]:
                continue
            base, ing = med(f["base_ingest_s"]), med(f["ingest_s"])
            bcpu = med(f["base_cpu_s"]) if f.get("base_cpu_s") else None
            cpu = med(f["cpu_s"]) if f.get("cpu_s") else None
            with_cpu = bcpu is not None and cpu
            lines.append(f"| {f['rows']:,}, {ORDER_NAMES[f['order']]} | {_fmt_s(base)}"
                         + (f" ({_fmt_s(bcpu)})" if with_cpu else "") + f" | {_fmt_s(ing)}"
                         + (f" ({_fmt_s(cpu)})" if with_cpu else "") + f" | {base / ing:.2f}"
                         + (f" ({bcpu / cpu:.2f})" if with_cpu else "") + " | "
                         f"{max(f['base_rss_kb']) / 1024:.1f} / {max(f['rss_kb']) / 1024:.1f} MiB |")
    lines += ["", "| Target | Measured | |", "|---|---|---|"]
    for what, got, ok in checks:
        lines.append(f"| {what} | {got} | {_mark(ok)} |")
    met = sum(1 for c in checks if c[2])
    return "\n".join(lines), f"{met} of {len(checks)} targets met ({runs} run(s), medians)."
