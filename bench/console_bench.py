"""Benchmark: the web console's page times on a large database.

The database holds 1,000,000 inventory rows (100 stores of 10,000 items,
2% of them at zero), 10,000 reports and 100,000 outbox messages; 50
signed-in clients (50 sessions of the owner) ask for one page at a time
over 50 keep-alive connections, with wrk, for BENCH_CONSOLE_SECONDS each.
The table gives each page's server time (p50 and p99 of the daemon's
stockwatch_console_page_seconds histogram, read from /metrics before and
after the 50-client run: the worker starting the page to its response
being ready), beside the latency the clients see (wrk: with 50 clients it
includes the wait behind the 49 others; with one client, the page's own
cost, loopback included). Target: server time p99 <= 50 ms.

Making the data is quick: one `stockwatch ingest` of the 1,000,000-row
report (after a one-row report whose one-item alert is copied; through
the daemon's own loader, so every
derived table is as the loader writes it), then 9,999 more ledger entries
and 100,000 outbox messages copied from the ingest's own rows with SQL, in
the database file, before the daemon starts.

Usage: python3 bench/console_bench.py [--binary build/stockwatch] [--workers N]
       [--only search,count]
Environment: BENCH_CONSOLE_SECONDS (default 5), TMPDIR.
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse

STORES = 100
ITEMS = 10_000
REPORTS = 10_000
MESSAGES = 100_000
CLIENTS = 50
PASSWORD = "bench-password-2024"

WRK_SCRIPT = r"""
cookies = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "%s", {["Cookie"] = cookies[(counter %% #cookies) + 1]})
end
"""


def log(msg):
    print(f"[console-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_text(root, db, port, workers=None, sorted_rows=None):
    """The daemon's configuration for a benchmark in `root`: mail written to
    a folder, the console on `port`, `[console] workers` and `sorted_rows`
    when given."""
    console = ([f"workers = {workers}"] if workers else []) + \
        ([f"sorted_rows = {sorted_rows}"] if sorted_rows is not None else [])
    return "\n".join([
        "[storage]", f"database = {json.dumps(db)}", "",
        "[inbox]", f"path = {json.dumps(os.path.join(root, 'inbox'))}",
        f"processed = {json.dumps(os.path.join(root, 'processed'))}",
        f"failed = {json.dumps(os.path.join(root, 'failed'))}", "",
        "[alerts]", 'from = "stockwatch@example.com"', "",
        "[[alerts.subscription]]", 'email = "owner@example.com"', "",
        "[smtp]", 'url = ""', f"maildir = {json.dumps(os.path.join(root, 'mail'))}", "",
        "[http]", f'listen = "127.0.0.1:{port}"', "",
        *(["[console]", *console, ""] if console else []),
        "[log]", 'level = "warn"', ""])


def write_report(path):
    rng = random.Random(15)
    with open(path, "w", encoding="utf-8") as f:
        f.write("store,item,count\n")
        for s in range(STORES):
            store = f"Gudang {s:03d}"
            f.write("".join(
                f"{store},Kopi {i:05d},{0 if rng.random() < 0.02 else rng.randint(1, 500)}\n"
                for i in range(ITEMS)))


def copy_rows(db, table, count, overrides, where):
    """Inserts `count` copies of one row of `table` (picked by `where`),
    with the columns in `overrides` set by SQL expressions of i (1..count)."""
    cols = [r[1] for r in db.execute(f"PRAGMA table_info({table})") if r[1] != "id"]
    exprs = [overrides.get(c, c) for c in cols]
    db.execute(
        f"INSERT INTO {table}({', '.join(cols)}) "
        f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) "
        f"SELECT {', '.join(exprs)} FROM n, (SELECT * FROM {table} WHERE {where} LIMIT 1)")


def make_data(binary, root, config, db):
    report = os.path.join(root, "stock.csv")
    t0 = time.monotonic()
    write_report(report)
    t1 = time.monotonic()
    # First a one-row report whose alert (one item) is the outbox row the
    # 100,000 messages are copied from; then the large one.
    small = os.path.join(root, "small.csv")
    with open(small, "w", encoding="utf-8") as f:
        f.write("store,item,count\nGudang Contoh,Kopi Contoh,0\n")
    for path in (small, report):
        subprocess.run([binary, "ingest", "--config", config, path], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t2 = time.monotonic()
    with sqlite3.connect(db, isolation_level=None) as c:
        c.execute("BEGIN")
        now_ms = int(time.time() * 1000)
        copy_rows(c, "reports", REPORTS - 1, {
            "path": "'bench/report-' || i || '.csv'",
            "sha256": "printf('%064x', i)",
            "status": "CASE WHEN i % 10 = 0 THEN 'rejected' ELSE 'loaded' END",
            "rows": "6", "changes": "CASE WHEN i % 10 = 0 THEN 0 ELSE 3 END",
            "error": "CASE WHEN i % 10 = 0 THEN 'line 3: the count is not a whole number' ELSE '' END",
            "received_at": f"{now_ms} - ({REPORTS} - i) * 60000",
            "finished_at": f"{now_ms} - ({REPORTS} - i) * 60000 + 50",
            "archived_path": "''",
        }, "id = 2")
        copy_rows(c, "outbox", MESSAGES - c.execute("SELECT count(*) FROM outbox").fetchone()[0], {
            "message_id": "message_id || '.' || i",
            "state": "CASE WHEN i % 20 = 0 THEN 'dead' ELSE 'sent' END",
            "attempts": "CASE WHEN i % 20 = 0 THEN 8 ELSE 1 END",
            "last_error": "CASE WHEN i % 20 = 0 THEN '550 mailbox unavailable' ELSE '' END",
            "created_at": f"{now_ms} - ({MESSAGES} - i) * 6000",
        }, "1 = 1 ORDER BY length(payload), id")
        c.execute("COMMIT")
        counts = {t: c.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("inventory", "reports", "outbox")}
    t3 = time.monotonic()
    log(f"data: report written in {t1 - t0:.1f} s, ingested in {t2 - t1:.1f} s, "
        f"ledger and outbox filled in {t3 - t2:.1f} s: {counts}")
    return counts, t3 - t0


def sign_in(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = urllib.parse.urlencode({"name": "owner", "password": PASSWORD})
    c.request("POST", "/_console/sign-in", body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": f"http://127.0.0.1:{port}", "Host": f"127.0.0.1:{port}"})
    r = c.getresponse()
    r.read()
    cookie = r.getheader("Set-Cookie") or ""
    m = re.match(r"(stockwatch_session=[^;]+)", cookie)
    if r.status != 303 or not m:
        raise SystemExit(f"sign-in failed: {r.status} {cookie}")
    return m.group(1)


def get(port, cookie, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request("GET", path, headers={"Cookie": cookie})
    r = c.getresponse()
    return r.status, r.read().decode("utf-8", "replace")


def deep_page(db, order):
    """The address of the 50th page (rows 4,901-5,000) of the inventory
    sorted by count or by last change, as its Next link would give it."""
    column = "count" if order == "count" else "updated_at"
    direction = "" if order == "count" else " DESC"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        store, item, value = c.execute(
            f"SELECT store, item, {column} FROM inventory "
            f"ORDER BY {column}{direction}, store, item LIMIT 1 OFFSET 4899").fetchone()
    return "/_console/inventory?" + urllib.parse.urlencode(
        {"sort": order, "after_store": store, "after_item": item, "after_value": value})


def pages(port, cookie, db):
    """Every page, with the links a person would follow (next pages, an
    item, a report, a message) taken from the pages themselves."""
    out = [("overview", "/_console/"),
           ("inventory", "/_console/inventory"),
           ("inventory, one store", "/_console/inventory?store=Gudang%20042"),
           ("inventory, out of stock", "/_console/inventory?out=1"),
           ("inventory, search", "/_console/inventory?q=Kopi%2004242"),
           ("inventory, search, 10 names", "/_console/inventory?q=kopi%200424"),
           ("inventory, by item", "/_console/inventory?sort=item"),
           ("inventory, by count", "/_console/inventory?sort=count"),
           ("inventory, by last change", "/_console/inventory?sort=changed"),
           ("inventory, one store, by count", "/_console/inventory?store=Gudang%20042&sort=count"),
           ("inventory, by count, page 50", deep_page(db, "count")),
           ("inventory, by last change, page 50", deep_page(db, "changed"))]
    _, inv = get(port, cookie, "/_console/inventory?store=Gudang%20042")
    m = re.search(r'href="(/_console/inventory\?[^"]*after_store=[^"]*)"', inv)
    if m:
        out.append(("inventory, next page", m.group(1).replace("&amp;", "&")))
    m = re.search(r'href="(/_console/item\?[^"]*)"', inv)
    if m:
        out.append(("item", m.group(1).replace("&amp;", "&")))
    out += [("reports", "/_console/reports"),
            ("reports, older", f"/_console/reports?before={REPORTS // 2}"),
            ("report", f"/_console/reports/{REPORTS // 2}"),
            ("alerts", "/_console/alerts"),
            ("alerts, dead", "/_console/alerts?state=dead"),
            ("alerts, older", f"/_console/alerts?before={MESSAGES // 2}"),
            ("message", f"/_console/alerts/{MESSAGES // 2}"),
            ("status", "/_console/status"),
            ("upload", "/_console/upload")]
    for name, path in out:
        t = time.monotonic()
        status, text = get(port, cookie, path)
        first_ms = (time.monotonic() - t) * 1000
        if status != 200 or "<main" not in text:
            raise SystemExit(f"{name} ({path}) answered {status}:\n{text[:500]}")
        # The first request of a page: for the sorted views, the one that
        # reads the rows the console then keeps (until a report is loaded).
        log(f"{name}: first request {first_ms:.1f} ms")
    return out


def first_sorted_after_reports(port, cookie, root, db):
    """How long the first page sorted by count, and then by last change,
    takes after a report of each size is loaded (the rows kept in memory
    are brought up to date by it): one request each, two reports a size.
    Each report changes the counts of existing rows, chosen at random."""
    rng = random.Random(18)
    out = []
    for size in (6, 1_000, 20_000, 150_000):
        for attempt in range(2):
            name = f"changes-{size}-{attempt}.csv"
            keys = rng.sample(range(STORES * ITEMS), size)
            tmp = os.path.join(root, name + ".part")
            with open(tmp, "w", encoding="utf-8") as f:
                f.write("store,item,count\n")
                f.writelines(f"Gudang {k // ITEMS:03d},Kopi {k % ITEMS:05d},{rng.randint(501, 900)}\n"
                             for k in sorted(keys))
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
                before = c.execute("SELECT max(id) FROM reports").fetchone()[0]
            os.rename(tmp, os.path.join(root, "inbox", name))
            deadline = time.monotonic() + 600
            while True:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
                    row = c.execute("SELECT status FROM reports WHERE id > ? ORDER BY id DESC LIMIT 1",
                                    (before,)).fetchone()
                if row:
                    if row[0] != "loaded":
                        raise SystemExit(f"{name}: {row[0]}")
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"{name} was not loaded in time")
                time.sleep(0.02)
            times = []
            for order in ("count", "changed"):
                t = time.monotonic()
                status, _ = get(port, cookie, f"/_console/inventory?sort={order}")
                times.append((time.monotonic() - t) * 1000)
                if status != 200:
                    raise SystemExit(f"sort={order} answered {status}")
            out.append((size, times[0], times[1]))
            log(f"after a report of {size:,} rows: first page by count {times[0]:.1f} ms, "
                f"by last change {times[1]:.1f} ms")
    return out


def page_label(path):
    """The daemon's page label (stockwatch_console_page_seconds{page=...})
    for a console path; the same table as Console::route."""
    page = urllib.parse.urlsplit(path).path[len("/_console/"):]
    if page.startswith("reports/"):
        return "console_report"
    if page.startswith("alerts/"):
        return "console_alert_message"
    names = {"": "overview", "upload": "upload", "reports": "reports", "inventory": "inventory",
             "inventory.csv": "inventory_csv", "alerts": "alerts", "status": "status",
             "item": "item", "sheet": "sheet"}
    return "console_" + names.get(page, "other")


def server_buckets(port, label):
    """The cumulative buckets of the daemon's page-time histogram for one
    page label, from GET /metrics: {upper bound in s: count}."""
    _, text = get(port, "", "/metrics")
    out = {}
    for m in re.finditer(r'^stockwatch_console_page_seconds_bucket\{([^}]*)\} (\S+)$', text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if labels.get("page") == label:
            le = labels["le"]
            out[float("inf") if le == "+Inf" else float(le)] = float(m.group(2))
    return out


def quantile_ms(before, after, q):
    """The q-quantile (ms) of the observations between two bucket readings,
    interpolated linearly inside its bucket (as Prometheus'
    histogram_quantile does); None without observations."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for b, c in zip(bounds, counts):
        if c >= rank:
            if b == float("inf"):
                return lower * 1e3
            inside = c - below
            return (lower + (b - lower) * ((rank - below) / inside if inside else 1.0)) * 1e3
        lower, below = b, c
    return lower * 1e3


def wrk(port, path, cookies, connections, seconds, root):
    script = os.path.join(root, "page.lua")
    with open(script, "w", encoding="utf-8") as f:
        f.write(WRK_SCRIPT % (", ".join(json.dumps(c) for c in cookies), path))
    p = subprocess.run(["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d",
                        f"{seconds}s", "--latency", "--timeout", "60s", "-s", script,
                        f"http://127.0.0.1:{port}"],
                       capture_output=True, text=True, timeout=seconds + 120, check=True)
    # The requests wrk left unanswered when it stopped are still queued for
    # the console's worker: wait for them (one more page behind them), so
    # that the next page starts on an idle server.
    get(port, cookies[0], "/_console/upload")
    lat = {}
    for q in ("50", "99"):
        m = re.search(rf"^\s+{q}(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\s*$", p.stdout, re.M)
        if not m:
            raise SystemExit(f"{path}: no latency from wrk:\n{p.stdout}")
        lat[q] = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[m.group(2)]
    total = int(re.search(r"(\d+) requests in", p.stdout).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", p.stdout)
    if bad:
        raise SystemExit(f"{path}: {bad.group(1)} answers were not 200:\n{p.stdout}")
    return lat["50"], lat["99"], total / seconds


def binary_label(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    return (out.stdout.strip() or binary).splitlines()[0]


def fmt_ms(v):
    # The histogram's first bucket is 0.5 ms: below it, no finer figure.
    if v is None:
        return "-"
    return "< 0.5 ms" if v <= 0.5 else f"{v:.2f} ms"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.environ.get("STOCKWATCH_BINARY", "build/stockwatch"))
    ap.add_argument("--workers", type=int, default=None,
                    help="[console] workers (default: not set, the daemon's default)")
    ap.add_argument("--sorted-rows", type=int, default=None,
                    help="[console] sorted_rows (default: not set; 0 sorts in the database)")
    ap.add_argument("--only", default=None,
                    help="only the pages whose name holds one of these comma-separated words")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    seconds = int(os.environ.get("BENCH_CONSOLE_SECONDS", "5"))
    if not shutil.which("wrk"):
        raise SystemExit("console_bench: needs wrk (apt-get install wrk)")
    root = tempfile.mkdtemp(prefix="console-bench-")
    daemon = None
    try:
        port = free_port()
        db = os.path.join(root, "stockwatch.db")
        config = os.path.join(root, "stockwatch.toml")
        for d in ("inbox", "processed", "failed", "mail"):
            os.makedirs(os.path.join(root, d))
        with open(config, "w", encoding="utf-8") as f:
            f.write(config_text(root, db, port, args.workers, args.sorted_rows))
        counts, gen_s = make_data(binary, root, config, db)
        subprocess.run([binary, "user", "add", "owner", "--role", "owner", "--config", config],
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        logf = open(os.path.join(root, "stockwatch.log"), "wb")
        daemon = subprocess.Popen([binary, "serve", "--config", config], stdout=logf, stderr=logf,
                                  stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(port, "", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or daemon.poll() is not None:
                raise SystemExit("the daemon did not start; see " + root)
            time.sleep(0.05)
        t = time.monotonic()
        cookies = [sign_in(port) for _ in range(CLIENTS)]
        log(f"{CLIENTS} sessions signed in in {time.monotonic() - t:.1f} s")
        rows = []
        chosen = pages(port, cookies[0], db)
        if args.only:
            words = args.only.split(",")
            chosen = [(n, p) for n, p in chosen if any(w in n for w in words)]
        for name, path in chosen:
            one = wrk(port, path, cookies[:1], 1, max(2, seconds // 2), root)
            label = page_label(path)
            before = server_buckets(port, label)
            many = wrk(port, path, cookies, CLIENTS, seconds, root)
            after = server_buckets(port, label)
            # The run's server times (the daemon's own histogram; wrk()'s
            # one closing page is among them, one of thousands).
            server = (quantile_ms(before, after, 0.5), quantile_ms(before, after, 0.99))
            rows.append((name, path, one, many, server))
            log(f"{name}: 1 client p50 {one[0]:.2f} ms p99 {one[1]:.2f} ms; "
                f"{CLIENTS} clients p50 {many[0]:.2f} ms p99 {many[1]:.2f} ms, {many[2]:.0f}/s; "
                f"server p50 {fmt_ms(server[0])} p99 {fmt_ms(server[1])}")
        print(f"\nConsole page times ({binary_label(binary)}, [console] workers = "
              f"{args.workers or 'default'}): {counts['inventory']:,} inventory rows, "
              f"{counts['reports']:,} reports, {counts['outbox']:,} outbox messages "
              f"(data made in {gen_s:.1f} s); wrk, {seconds} s per page\n")
        print("Server time: the daemon's stockwatch_console_page_seconds histogram (worker starts "
              "the page -> response ready), read from /metrics around the 50-client run. "
              "Client latency: wrk's, including the wait behind the other clients.\n")
        print(f"| page | server p50 | server p99 | server p99 <= 50 ms | client p50, 1 client "
              f"| client p99, 1 client | client p50, {CLIENTS} clients "
              f"| client p99, {CLIENTS} clients | pages/s |")
        print("|---|---:|---:|:---:|---:|---:|---:|---:|---:|")
        for name, path, one, many, server in rows:
            ok = server[1] is not None and server[1] <= 50
            print(f"| {name} | {fmt_ms(server[0])} | {fmt_ms(server[1])} | {'yes' if ok else 'NO'} | "
                  f"{one[0]:.2f} ms | {one[1]:.2f} ms | {many[0]:.2f} ms | "
                  f"{many[1]:.2f} ms | {many[2]:,.0f} |")
        after = first_sorted_after_reports(port, cookies[0], root, db)
        print("\nThe first page sorted over every store after a report is loaded (one client, "
              "one request each; the report changes the counts of existing rows):\n")
        print("| report rows | first page by count | then by last change |")
        print("|---:|---:|---:|")
        for size, by_count, by_changed in after:
            print(f"| {size:,} | {by_count:.1f} ms | {by_changed:.1f} ms |")
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(30)
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(root, ignore_errors=True)
        else:
            log(f"kept {root}")


if __name__ == "__main__":
    main()
