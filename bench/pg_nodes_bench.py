#!/usr/bin/python3
"""Several stockwatch nodes on one PostgreSQL: three benchmarks, side by side.

1. Shared inbox: N six-row reports (bench/gen_report.py --small, distinct
   stores, no zeros) moved at once into one inbox folder, polled by
   (a) one node (inbox.shared = false, the single-node setting) and
   (b) two nodes (inbox.shared = true: each file claimed through the
   database). Reports per second until every report is archived, and the
   ratio (b)/(a). Checks that every report was loaded exactly once.
2. Latency: reports with one zero each dropped one at a time into node A's
   inbox, with node B running beside it on the same database; the time
   from the rename into the inbox to the SMTP server's acceptance, p50 and
   p99, overall and split by the node that sent the email (node B learns of
   the message through LISTEN/NOTIFY; without it, B would find it only at
   its next recheck, every 30 s).

3. Bulk load: one report of --bulk rows (10 stores), in key order and
   shuffled, into a fresh database: `stockwatch ingest` (the whole
   process: read, check, COPY into a temporary table, one set-based merge
   that also writes the change log, the checker, the alert queued and
   sent) against `psql` doing `\\copy` into a staging table plus one
   `INSERT ... ON CONFLICT DO UPDATE` into a keyed table (no change log,
   no checks, no alerts), the whole psql process timed. Ratio psql time /
   stockwatch time (above 1: stockwatch faster). Median of --runs runs.

PostgreSQL 15 from Debian with its default settings (pg.py of the tests:
initdb, a Unix socket in a temporary folder; fsync stays on here), the SMTP
server of the tests. Everything runs in one temporary folder, removed at
the end.

    bench/pg_nodes_bench.py --binary build/stockwatch [--reports 10000] [--latency 100]
                            [--bulk 1000000] [--runs 3]
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import pg  # noqa: E402  (the tests' PostgreSQL, started unprivileged)

GEN = os.path.join(HERE, "gen_report.py")
SMTP_SERVER = os.path.join(ROOT, "tests", "support", "smtp_server.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


class PgKeepingFsync(pg.PgServer):
    """The tests' server, but with PostgreSQL's default durability."""

    def __init__(self):
        super().__init__()
        with open(os.path.join(self.data, "postgresql.conf"), "a") as conf:
            conf.write("\nfsync = on\nsynchronous_commit = on\n")
        self.stop_server("fast")
        self.start_server()


def config(root, name, url, inbox, shared, smtp_port):
    path = os.path.join(root, f"{name}.toml")
    os.makedirs(os.path.join(root, name), exist_ok=True)
    with open(path, "w") as f:
        f.write(f"""[storage]
backend = "postgresql"
url = "{url}"
database = "{root}/{name}/scratch.db"

[inbox]
path = "{inbox}"
processed = "{root}/processed"
failed = "{root}/failed"
mode = "poll"
poll_interval_ms = 100
settle_ms = 0
shared = {"true" if shared else "false"}

[alerts]
from = "stockwatch@example.com"

[[alerts.subscription]]
email = "owner@example.com"

[smtp]
url = "smtp://127.0.0.1:{smtp_port}"
maildir = "{root}/{name}/mail"
starttls = "off"

[console]
enabled = false

[node]
name = "{name}"

[log]
level = "info"
""")
    return path


def start(binary, cfg, log):
    f = open(log, "ab")
    p = subprocess.Popen([binary, "serve", "--config", cfg], stdout=f, stderr=f,
                         stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(log, errors="replace") as r:
            if "stockwatch started" in r.read():
                return p
        if p.poll() is not None:
            raise RuntimeError(open(log).read())
        time.sleep(0.05)
    raise RuntimeError("no start: " + open(log).read())


def stop(p):
    p.send_signal(signal.SIGTERM)
    p.wait(60)


def smtp(root):
    out = os.path.join(root, "received")
    os.makedirs(out, exist_ok=True)
    ready = os.path.join(root, "smtp-ready")
    p = subprocess.Popen([PYTHON, SMTP_SERVER, "--port", "0", "--outdir", out, "--ready-file",
                          ready], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not os.path.exists(ready) or not open(ready).read().strip():
        time.sleep(0.05)
    return p, int(open(ready).read().strip()), out


def shared_inbox(binary, server, root, n, nodes, smtp_port):
    db = server.fresh_database()
    url = server.url(db)
    work = os.path.join(root, f"shared-{nodes}")
    inbox = os.path.join(work, "inbox")
    staged = os.path.join(work, "staged")
    os.makedirs(inbox)
    subprocess.run([PYTHON, GEN, "--small", str(n), "--outdir", staged, "--rows", "6",
                    "--zeros", "0", "--prefix", f"n{nodes}"], check=True,
                   stdout=subprocess.DEVNULL)
    procs = [start(binary, config(work, f"node-{c}", url, inbox, nodes > 1, smtp_port),
                   os.path.join(work, f"node-{c}.log")) for c in "ab"[:nodes]]
    names = sorted(os.listdir(staged))
    began = time.monotonic()
    for name in names:
        os.rename(os.path.join(staged, name), os.path.join(inbox, name))
    while True:
        done = int(server.psql(db, "SELECT count(*) FROM reports WHERE archived_path <> ''"))
        if done >= n:
            break
        time.sleep(0.2)
    seconds = time.monotonic() - began
    for p in procs:
        stop(p)
    loaded = server.psql(db, "SELECT count(*), count(DISTINCT path), sum(rows) FROM reports "
                             "WHERE status = 'loaded'").strip()
    others = server.psql(db, "SELECT count(*) FROM reports WHERE status <> 'loaded'").strip()
    per_node = {}
    for c in "ab"[:nodes]:
        with open(os.path.join(work, f"node-{c}.log"), errors="replace") as f:
            per_node[f"node-{c}"] = len(re.findall(r": loaded 6 rows", f.read()))
    ok = loaded == f"{n}|{n}|{6 * n}" and others == "0"
    return {"nodes": nodes, "reports": n, "seconds": seconds, "reports_per_s": n / seconds,
            "loaded_once": ok, "ledger": loaded, "not_loaded": others, "per_node": per_node}


def latency(binary, server, root, n, smtp_port, received):
    db = server.fresh_database()
    url = server.url(db)
    work = os.path.join(root, "latency")
    inboxes = {c: os.path.join(work, f"inbox-{c}") for c in "ab"}
    for d in inboxes.values():
        os.makedirs(d)
    procs = [start(binary, config(work, f"node-{c}", url, inboxes[c], False, smtp_port),
                   os.path.join(work, f"node-{c}.log")) for c in "ab"]
    staged = os.path.join(work, "staged")
    os.makedirs(staged)
    samples = []
    for i in range(n):
        name = f"lat{i:05d}.csv"
        with open(os.path.join(staged, name), "w") as f:
            f.write(f"store,item,count\nLat{i:05d},Robusta,0\nLat{i:05d},Arabika,5\n")
        before = len(os.listdir(received))
        t0 = time.monotonic()
        os.rename(os.path.join(staged, name), os.path.join(inboxes["a"], name))
        while len(os.listdir(received)) < before + 2:  # the .eml and its .json
            time.sleep(0.0005)
        samples.append(time.monotonic() - t0)
        time.sleep(0.05)
    for p in procs:
        stop(p)
    sender = {}
    for c in "ab":
        with open(os.path.join(work, f"node-{c}.log"), errors="replace") as f:
            for m in re.finditer(r"mail (\d+) \(out_of_stock\) to \S+: sent", f.read()):
                sender[int(m.group(1))] = f"node-{c}"
    ids = [int(x) for x in server.psql(db, "SELECT id FROM outbox ORDER BY id").split()]
    by = {"node-a": [], "node-b": []}
    for i, s in zip(ids, samples):
        by[sender.get(i, "node-a")].append(s)

    def pct(xs, q):
        if not xs:
            return None
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] * 1000

    out = {"reports": n, "p50_ms": pct(samples, 0.5), "p99_ms": pct(samples, 0.99),
           "mean_ms": statistics.mean(samples) * 1000}
    for node, xs in by.items():
        out[node] = {"sent": len(xs), "p50_ms": pct(xs, 0.5), "p99_ms": pct(xs, 0.99)}
    return out


PSQL_MERGE = """\\set ON_ERROR_STOP 1
BEGIN;
CREATE TEMP TABLE staging(store text, item text, count bigint) ON COMMIT DROP;
\\copy staging FROM '{report}' WITH (FORMAT csv, HEADER true)
INSERT INTO inventory(store, item, count) SELECT store, item, count FROM staging
  ON CONFLICT (store, item) DO UPDATE SET count = EXCLUDED.count;
COMMIT;
"""


def bulk(binary, server, root, rows, order, runs, smtp_port):
    """Median seconds of `stockwatch ingest` and of psql's \\copy + merge."""
    work = os.path.join(root, f"bulk-{order}")
    os.makedirs(work)
    report = os.path.join(work, f"report-{order}.csv")
    subprocess.run([PYTHON, GEN, "--out", report, "--stores", "10", "--items", str(rows // 10),
                    "--order", order, "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
    ours, theirs = [], []
    for i in range(runs):
        db = server.fresh_database()
        cfg = config(work, f"ingest-{i}", server.url(db), os.path.join(work, "unused-inbox"),
                     False, smtp_port)
        os.makedirs(os.path.join(work, "unused-inbox"), exist_ok=True)
        t0 = time.monotonic()
        r = subprocess.run([binary, "ingest", "--config", cfg, report], capture_output=True,
                           text=True)
        ours.append(time.monotonic() - t0)
        if r.returncode != 0 or f"loaded {rows} rows" not in r.stdout + r.stderr:
            raise RuntimeError(f"stockwatch ingest: {r.stdout}{r.stderr}")
        n = server.psql(db, "SELECT count(*) FROM inventory").strip()
        if n != str(rows):
            raise RuntimeError(f"stockwatch ingest left {n} inventory rows, not {rows}")

        db = server.fresh_database()
        server.psql(db, "CREATE TABLE inventory(store text, item text, count bigint NOT NULL, "
                        "PRIMARY KEY (store, item))")
        script = os.path.join(work, "merge.sql")
        with open(script, "w") as f:
            f.write(PSQL_MERGE.format(report=report))
        t0 = time.monotonic()
        subprocess.run([f"{pg.PG_BIN}/psql", "-X", "-q", "-d", server.url(db), "-f", script],
                       check=True, stdout=subprocess.DEVNULL)
        theirs.append(time.monotonic() - t0)
        n = server.psql(db, "SELECT count(*) FROM inventory").strip()
        if n != str(rows):
            raise RuntimeError(f"psql left {n} inventory rows, not {rows}")
        print(json.dumps({"bulk": order, "run": i + 1, "stockwatch_s": ours[-1],
                          "psql_s": theirs[-1]}), flush=True)
    a, b = statistics.median(ours), statistics.median(theirs)
    return {"order": order, "rows": rows, "stockwatch_s": a, "psql_s": b, "ratio": b / a,
            "stockwatch_runs": ours, "psql_runs": theirs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "stockwatch"))
    ap.add_argument("--reports", type=int, default=10_000)
    ap.add_argument("--latency", type=int, default=100)
    ap.add_argument("--bulk", type=int, default=1_000_000, help="rows of the bulk load (0: skip)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each bulk load")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    root = tempfile.mkdtemp(prefix="stockwatch-pgbench-")
    server = PgKeepingFsync()
    mail, port, received = smtp(root)
    try:
        results = {"shared_inbox": [], "bulk": []}
        for order in ("key", "shuffled") if args.bulk else ():
            r = bulk(binary, server, root, args.bulk, order, args.runs, port)
            results["bulk"].append(r)
        for nodes in (1, 2) if args.reports else ():
            r = shared_inbox(binary, server, root, args.reports, nodes, port)
            results["shared_inbox"].append(r)
            print(json.dumps(r), flush=True)
        if args.latency:
            results["latency"] = latency(binary, server, root, args.latency, port, received)
            print(json.dumps(results["latency"]), flush=True)
        print("\n| Benchmark | Result | Ratio |\n|---|---|---|")
        for r in results["bulk"]:
            print(f"| {r['rows']:,} rows, {r['order']} order: stockwatch ingest | "
                  f"{r['stockwatch_s']:.2f} s | 1.00 |\n"
                  f"| ... psql \\copy into staging + INSERT ON CONFLICT | {r['psql_s']:.2f} s "
                  f"| {r['ratio']:.2f} (psql ÷ stockwatch) |")
        if args.reports:
            one, two = results["shared_inbox"]
            results["ratio_two_to_one"] = two["reports_per_s"] / one["reports_per_s"]
            print(f"| {args.reports:,} six-row reports, 1 node | {one['seconds']:.1f} s, "
                  f"{one['reports_per_s']:.0f} reports/s | 1.00 |\n"
                  f"| {args.reports:,} six-row reports, 2 nodes on one shared inbox | "
                  f"{two['seconds']:.1f} s, {two['reports_per_s']:.0f} reports/s "
                  f"(per node: {two['per_node']}) | {results['ratio_two_to_one']:.2f} |")
        if args.latency:
            lat = results["latency"]
            print(f"| report at node A -> email accepted, {lat['reports']} reports | p50 "
                  f"{lat['p50_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms | |")
            for node in ("node-a", "node-b"):
                d = lat[node]
                if d["sent"]:
                    print(f"| ... sent by {node} ({d['sent']}) | p50 {d['p50_ms']:.0f} ms, "
                          f"p99 {d['p99_ms']:.0f} ms | |")
        print("every report loaded once:",
              all(r["loaded_once"] for r in results["shared_inbox"]))
    finally:
        mail.send_signal(signal.SIGTERM)
        mail.wait(10)
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
