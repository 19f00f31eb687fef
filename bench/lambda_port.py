#!/usr/bin/env python3
"""The two AWS Lambda functions that stockwatch replaces, ported to SQLite.

It is the baseline of the benchmarks in docs/benchmarks.md: the same work
the serverless flow did, in plain Python, with no change log, no ledger and
no duplicate check.

  Load-Inventory: reads the report with csv.DictReader and upserts every row
  into `inventory` with one executemany, in one transaction (the Lambda
  wrote each row to the DynamoDB table).

  Check-Stock: for the stores that were just loaded, selects the rows with
  count 0 and builds the alert text, one line "<store> is out of stock of
  <item>" per row (the Lambda published that text to the SNS topic).

Usage:

    lambda_port.py --db FILE REPORT.csv [--alert-out FILE]

The database is created if needed (WAL, synchronous=NORMAL, the same
`inventory` table as the sqlite3 CLI baseline). It prints one line:
"<rows> rows loaded, <n> out of stock".
"""

import argparse
import csv
import sqlite3
import sys

SCHEMA = """
CREATE TABLE IF NOT EXISTS inventory(
  store TEXT NOT NULL,
  item  TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (store, item)
) WITHOUT ROWID
"""

UPSERT = ("INSERT INTO inventory(store, item, count) VALUES (?, ?, ?) "
          "ON CONFLICT(store, item) DO UPDATE SET count = excluded.count")


def load_inventory(conn, path):
    """Load-Inventory: every row of the report, one transaction.
    Returns (rows, stores seen)."""
    stores = set()
    rows = 0

    def records(reader):
        nonlocal rows
        for rec in reader:
            store = rec["store"]
            stores.add(store)
            rows += 1
            yield store, rec["item"], int(rec["count"])

    with open(path, newline="", encoding="utf-8") as f:
        conn.execute("BEGIN")
        try:
            conn.executemany(UPSERT, records(csv.DictReader(f)))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return rows, stores


def check_stock(conn, stores):
    """Check-Stock: the out-of-stock rows of the loaded stores, as alert text."""
    lines = []
    for store in sorted(stores):
        for s, item in conn.execute(
                "SELECT store, item FROM inventory WHERE store = ? AND count = 0", (store,)):
            lines.append(f"{s} is out of stock of {item}")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", required=True)
    p.add_argument("--alert-out", help="write the alert text to this file")
    p.add_argument("report")
    args = p.parse_args(argv)

    conn = sqlite3.connect(args.db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(SCHEMA)
    rows, stores = load_inventory(conn, args.report)
    alert = check_stock(conn, stores)
    if args.alert_out:
        with open(args.alert_out, "w", encoding="utf-8") as f:
            f.write(alert + "\n")
    conn.close()
    n = alert.count("\n") + 1 if alert else 0
    print(f"{rows} rows loaded, {n} out of stock")
    return 0


if __name__ == "__main__":
    sys.exit(main())
