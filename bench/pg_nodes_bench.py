#!/usr/bin/python3
"""Several stockwatch nodes on one PostgreSQL: two benchmarks, side by side.

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

PostgreSQL 15 from Debian with its default settings (pg.py of the tests:
initdb, a Unix socket in a temporary folder; fsync stays on here), the SMTP
server of the tests. Everything runs in one temporary folder, removed at
the end.

    bench/pg_nodes_bench.py --binary build/stockwatch [--reports 10000] [--latency 100]
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "stockwatch"))
    ap.add_argument("--reports", type=int, default=10_000)
    ap.add_argument("--latency", type=int, default=100)
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    root = tempfile.mkdtemp(prefix="stockwatch-pgbench-")
    server = PgKeepingFsync()
    mail, port, received = smtp(root)
    try:
        results = {"shared_inbox": []}
        for nodes in (1, 2):
            r = shared_inbox(binary, server, root, args.reports, nodes, port)
            results["shared_inbox"].append(r)
            print(json.dumps(r), flush=True)
        one, two = results["shared_inbox"]
        results["ratio_two_to_one"] = two["reports_per_s"] / one["reports_per_s"]
        if args.latency:
            results["latency"] = latency(binary, server, root, args.latency, port, received)
            print(json.dumps(results["latency"]), flush=True)
        print(f"\n| Benchmark | Result | Ratio |\n|---|---|---|\n"
              f"| {args.reports:,} six-row reports, 1 node | {one['seconds']:.1f} s, "
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
