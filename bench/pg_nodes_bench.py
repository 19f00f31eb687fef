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
                            [--bulk 1000000] [--runs 3] [--inbox-runs 2]
                            [--baseline other-build/stockwatch] [--poll-ms 100]
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


def config(root, name, url, inbox, shared, smtp_port, poll_ms=100):
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
poll_interval_ms = {poll_ms}
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


def cpu_jiffies():
    """The machine's busy and total CPU time so far (clock ticks), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def process_jiffies(pid):
    """utime + stime of one process (clock ticks); 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def shared_inbox(binary, server, root, n, nodes, smtp_port, run=1, poll_ms=100):
    db = server.fresh_database()
    url = server.url(db)
    work = os.path.join(root, f"shared-{nodes}-{run}")
    inbox = os.path.join(work, "inbox")
    staged = os.path.join(work, "staged")
    os.makedirs(inbox)
    subprocess.run([PYTHON, GEN, "--small", str(n), "--outdir", staged, "--rows", "6",
                    "--zeros", "0", "--prefix", f"n{nodes}"], check=True,
                   stdout=subprocess.DEVNULL)
    procs = [start(binary, config(work, f"node-{c}", url, inbox, nodes > 1, smtp_port,
                                  poll_ms),
                   os.path.join(work, f"node-{c}.log")) for c in "ab"[:nodes]]
    names = sorted(os.listdir(staged))
    # The work of this setup (its nodes and their PostgreSQL sessions)
    # against the whole machine's, so that a run slowed by other work on
    # the same cores shows it.
    backends = [int(x) for x in server.psql(
        db, "SELECT pid FROM pg_stat_activity WHERE application_name = 'stockwatch' "
            f"AND datname = '{db}'").split()]
    load_before = loadavg()
    busy0, total0 = cpu_jiffies()
    nodes0 = sum(process_jiffies(p.pid) for p in procs)
    ours0 = nodes0 + sum(map(process_jiffies, backends))
    began = time.monotonic()
    for name in names:
        os.rename(os.path.join(staged, name), os.path.join(inbox, name))
    # The archive folder first (a listing costs far less CPU than a psql
    # process, which would count as other work), then the ledger.
    processed = os.path.join(work, "processed")
    while not os.path.isdir(processed) or len(os.listdir(processed)) < n:
        time.sleep(0.1)
    while True:
        done = int(server.psql(db, "SELECT count(*) FROM reports WHERE archived_path <> ''"))
        if done >= n:
            break
        time.sleep(0.05)
    seconds = time.monotonic() - began
    busy1, total1 = cpu_jiffies()
    nodes1 = sum(process_jiffies(p.pid) for p in procs)
    ours1 = nodes1 + sum(map(process_jiffies, backends))
    load_after = loadavg()
    for p in procs:
        stop(p)
    tick = os.sysconf("SC_CLK_TCK")
    cores = os.cpu_count() or 1
    # Reports per second in each tenth of the run (by the ledger's finish times).
    finished = sorted(int(x) for x in server.psql(
        db, "SELECT finished_at FROM reports WHERE status = 'loaded'").split())
    tenths = []
    step = max(1, len(finished) // 10)
    for i in range(0, len(finished) - step + 1, step):
        span = (finished[i + step - 1] - finished[i]) / 1000
        tenths.append(round((step - 1) / span, 1) if span > 0 else None)
    loaded = server.psql(db, "SELECT count(*), count(DISTINCT path), sum(rows) FROM reports "
                             "WHERE status = 'loaded'").strip()
    others = server.psql(db, "SELECT count(*) FROM reports WHERE status <> 'loaded'").strip()
    per_node = {}
    for c in "ab"[:nodes]:
        with open(os.path.join(work, f"node-{c}.log"), errors="replace") as f:
            per_node[f"node-{c}"] = len(re.findall(r": loaded 6 rows", f.read()))
    ok = loaded == f"{n}|{n}|{6 * n}" and others == "0"
    return {"nodes": nodes, "run": run, "reports": n, "seconds": seconds,
            "reports_per_s": n / seconds, "loaded_once": ok, "ledger": loaded,
            "not_loaded": others, "per_node": per_node,
            "load_before": load_before, "load_after": load_after,
            # Share of the machine's cores busy, and of that, this setup's own.
            "machine_busy": (busy1 - busy0) / max(1, total1 - total0),
            "own_cpu_s": (ours1 - ours0) / tick,
            "nodes_cpu_s": (nodes1 - nodes0) / tick,
            "others_cpu_s": max(0.0, (busy1 - busy0 - (ours1 - ours0)) / tick),
            "cores": cores, "reports_per_s_by_tenth": tenths}


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


def timed_ingest(binary, server, work, name, report, rows, smtp_port):
    """Seconds of one `stockwatch ingest` of `report` into a fresh database."""
    db = server.fresh_database()
    cfg = config(work, name, server.url(db), os.path.join(work, "unused-inbox"), False,
                 smtp_port)
    os.makedirs(os.path.join(work, "unused-inbox"), exist_ok=True)
    t0 = time.monotonic()
    r = subprocess.run([binary, "ingest", "--config", cfg, report], capture_output=True,
                       text=True)
    seconds = time.monotonic() - t0
    if r.returncode != 0 or f"loaded {rows} rows" not in r.stdout + r.stderr:
        raise RuntimeError(f"{binary} ingest: {r.stdout}{r.stderr}")
    n = server.psql(db, "SELECT count(*) FROM inventory").strip()
    if n != str(rows):
        raise RuntimeError(f"{binary} ingest left {n} inventory rows, not {rows}")
    return seconds


def bulk(binary, server, root, rows, order, runs, smtp_port, baseline=None):
    """Median seconds of `stockwatch ingest` and of psql's \\copy + merge (and of
    a `baseline` build's ingest, when given, in turn with the others)."""
    work = os.path.join(root, f"bulk-{order}")
    os.makedirs(work)
    report = os.path.join(work, f"report-{order}.csv")
    subprocess.run([PYTHON, GEN, "--out", report, "--stores", "10", "--items", str(rows // 10),
                    "--order", order, "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
    ours, theirs, before = [], [], []
    for i in range(runs):
        if baseline:
            before.append(timed_ingest(baseline, server, work, f"baseline-{i}", report, rows,
                                       smtp_port))
        ours.append(timed_ingest(binary, server, work, f"ingest-{i}", report, rows, smtp_port))

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
                          "psql_s": theirs[-1],
                          "baseline_s": before[-1] if before else None}), flush=True)
    a, b = statistics.median(ours), statistics.median(theirs)
    out = {"order": order, "rows": rows, "stockwatch_s": a, "psql_s": b, "ratio": b / a,
           "stockwatch_runs": ours, "psql_runs": theirs}
    if before:
        out["baseline_s"] = statistics.median(before)
        out["baseline_runs"] = before
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "stockwatch"))
    ap.add_argument("--reports", type=int, default=10_000)
    ap.add_argument("--latency", type=int, default=100)
    ap.add_argument("--bulk", type=int, default=1_000_000, help="rows of the bulk load (0: skip)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each bulk load")
    ap.add_argument("--baseline", help="another build's stockwatch, timed in turn with "
                                       "--binary in the bulk loads (side by side)")
    ap.add_argument("--poll-ms", type=int, default=100,
                    help="inbox.poll_interval_ms of the shared-inbox runs (the latency run: 100)")
    ap.add_argument("--inbox-runs", type=int, choices=(1, 2), default=2,
                    help="shared-inbox runs of each setup (2: in the order 1, 2, 2, 1 nodes)")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    root = tempfile.mkdtemp(prefix="stockwatch-pgbench-")
    server = PgKeepingFsync()
    mail, port, received = smtp(root)
    try:
        results = {"shared_inbox": [], "bulk": []}
        for order in ("key", "shuffled") if args.bulk else ():
            r = bulk(binary, server, root, args.bulk, order, args.runs, port,
                     os.path.abspath(args.baseline) if args.baseline else None)
            results["bulk"].append(r)
        # One node, two nodes, two nodes, one node (with --inbox-runs 2):
        # each setup's runs straddle the other's, so a change in the
        # machine's other work falls on both alike.
        order = [1, 2] if args.inbox_runs == 1 else [1, 2, 2, 1]
        seen = {1: 0, 2: 0}
        for nodes in order if args.reports else ():
            seen[nodes] += 1
            r = shared_inbox(binary, server, root, args.reports, nodes, port, seen[nodes],
                             args.poll_ms)
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
            if "baseline_s" in r:
                print(f"| ... the baseline build's ingest | {r['baseline_s']:.2f} s | "
                      f"{r['baseline_s'] / r['stockwatch_s']:.2f} (baseline ÷ stockwatch) |")
        if args.reports:
            runs = results["shared_inbox"]
            for k in range(args.inbox_runs):
                one = [r for r in runs if r["nodes"] == 1][k]
                two = [r for r in runs if r["nodes"] == 2][k]
                ratio = two["reports_per_s"] / one["reports_per_s"]
                results.setdefault("ratio_two_to_one", []).append(ratio)
                for r, label, shown in ((one, "1 node", "1.00"),
                                        (two, "2 nodes on one shared inbox", f"{ratio:.2f}")):
                    print(f"| {args.reports:,} six-row reports, {label}, run {k + 1} | "
                          f"{r['seconds']:.1f} s, {r['reports_per_s']:.1f} reports/s "
                          f"(per node: {r['per_node']}; load {r['load_before']:.1f} -> "
                          f"{r['load_after']:.1f}; own CPU {r['own_cpu_s']:.0f} s, other work "
                          f"{r['others_cpu_s']:.0f} s) | {shown} |")
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
