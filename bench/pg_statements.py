#!/usr/bin/python3
"""Statements per six-row report on PostgreSQL, counted in the server's log.

One node (`stockwatch serve`, inbox.shared = true so that the claim and its
release are counted too) on a fresh database of the tests' PostgreSQL
(tests/e2e/pg.py) with `log_statement = 'all'`. N six-row reports
(bench/gen_report.py --small, no zeros: they raise no alert, the common
case) are moved into the inbox at once; when every one is archived, the
statements that stockwatch's sessions ran meanwhile are counted (a prepared
statement's `execute` and a plain `statement` each count once; a COPY counts
once) and listed by kind, per report.

    bench/pg_statements.py --binary build/stockwatch [--reports 200]
"""

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, HERE)
import pg  # noqa: E402
import pg_nodes_bench as nb  # noqa: E402

LINE = re.compile(r"^\[stockwatch\] LOG:  (?:duration: \S+ ms  )?(statement|execute [^:]*): ?(.*)")


def kind(what, text):
    """A short name for one logged statement."""
    if what.startswith("execute") and what.split()[1] != "<unnamed>":
        return what.split()[1]
    first = " ".join(text.split()[:3])
    return first[:60]


def run(binary, server, root, n, zeros=0):
    db = server.fresh_database()
    server.psql(db, f"ALTER DATABASE {db} SET log_statement = 'all'")
    url = server.url(db)
    smtp, port, _ = nb.smtp(root)
    work = os.path.join(root, f"count-{zeros}")
    inbox = os.path.join(work, "inbox")
    staged = os.path.join(work, "staged")
    os.makedirs(inbox)
    subprocess.run([nb.PYTHON, nb.GEN, "--small", str(n), "--outdir", staged, "--rows", "6",
                    "--zeros", str(zeros), "--prefix", f"z{zeros}"], check=True,
                   stdout=subprocess.DEVNULL)
    p = nb.start(binary, nb.config(work, "node-a", url, inbox, True, port, 100),
                 os.path.join(work, "node-a.log"))
    time.sleep(1.0)
    offset = os.path.getsize(server.log)
    for name in sorted(os.listdir(staged)):
        os.rename(os.path.join(staged, name), os.path.join(inbox, name))
    processed = os.path.join(work, "processed")
    while not os.path.isdir(processed) or len(os.listdir(processed)) < n:
        time.sleep(0.1)
    while int(server.psql(db, "SELECT count(*) FROM reports WHERE archived_path <> ''")) < n:
        time.sleep(0.1)
    time.sleep(0.5)
    nb.stop(p)
    smtp.terminate()
    smtp.wait(10)
    counts = collections.Counter()
    with open(server.log, errors="replace") as f:
        f.seek(offset)
        for line in f:
            m = LINE.match(line)
            if m:
                counts[kind(m.group(1), m.group(2))] += 1
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "stockwatch"))
    ap.add_argument("--reports", type=int, default=200)
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="stockwatch-pgcount-")
    server = pg.PgServer()
    try:
        with open(os.path.join(server.data, "postgresql.conf"), "a") as conf:
            conf.write("\nlog_line_prefix = '[%a] '\n")
        server.psql("postgres", "SELECT pg_reload_conf()")
        time.sleep(0.5)
        counts = run(os.path.abspath(args.binary), server, root, args.reports)
        total = sum(counts.values())
        print(f"{args.reports} six-row reports, no alert, one node, inbox.shared = true: "
              f"{total} statements, {total / args.reports:.2f} per report")
        for k, c in counts.most_common():
            print(f"  {c / args.reports:6.2f}  {k}")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
