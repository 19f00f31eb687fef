"""Benchmark 9 of bench.py: the same report as .xlsx and as .csv, side by side.

The report of benchmark 1 (10 stores x 100,000 items, 1,000,000 rows; 100,000
with --quick) is written by bench/gen_report.py as CSV, and the same rows
are written as an .xlsx by a real spreadsheet library (python3-openpyxl in
write-only mode, the mode it has for large sheets: its texts in the shared
string table, its numbers as numbers). Each run, `stockwatch ingest` loads
each file into a fresh database under GNU time -v (elapsed, peak RSS).

Targets (issue 17): the workbook loads at no less than half the CSV speed
(time at most 2x), with a peak RSS of at most 64 MB.

Run alone:  python3 bench/workbook_bench.py --binary build/stockwatch [--quick] [--runs 3]

With --before OTHER_BINARY (another build of stockwatch, e.g. the previous
commit's), each run also loads both files with that binary, interleaved with
this one's, and the table adds its rows and the ratios between the two.
"""

import argparse
import csv
import os
import shutil
import statistics
import sys
import tempfile
import time

RSS_LIMIT_KB = 64 * 1000  # 64 MB
SIZES = {"stores": (10, 10), "items": (100_000, 10_000)}


def write_xlsx(csv_path, xlsx_path):
    """The rows of `csv_path` as a workbook, written by openpyxl."""
    import openpyxl  # python3-openpyxl (scripts/install-deps.sh bench)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Stok")
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        ws.append(next(reader))
        for store, item, count in reader:
            ws.append([store, item, int(count)])
    wb.save(xlsx_path)


def run(b, tmp, quick, runs, before=None):
    """All of benchmark 9: {"rows", "csv_bytes", "xlsx_bytes", "write_s", "csv": [..],
    "xlsx": [..]} with {s, max_rss_kb} per run; with `before` (a binary) also
    "before_csv" and "before_xlsx"."""
    q = 1 if quick else 0
    stores, items = SIZES["stores"][q], SIZES["items"][q]
    rows = stores * items
    data = os.path.join(tmp, "wb-data")
    os.makedirs(data, exist_ok=True)
    report = os.path.join(data, "stok.csv")
    b.run_gen("--out", report, "--stores", stores, "--items", items, "--seed", 1)
    book = os.path.join(data, "stok.xlsx")
    t0 = time.monotonic()
    write_xlsx(report, book)
    write_s = time.monotonic() - t0
    b.log(f"workbooks: {rows} rows, csv {os.path.getsize(report)} bytes, "
          f"xlsx {os.path.getsize(book)} bytes (openpyxl took {write_s:.1f} s)")
    out = {"rows": rows, "csv_bytes": os.path.getsize(report),
           "xlsx_bytes": os.path.getsize(book), "write_s": write_s, "csv": [], "xlsx": []}
    binaries = [("", b.BINARY)]
    if before:
        binaries.append(("before_", before))
        out["before_csv"], out["before_xlsx"] = [], []
    for i in range(runs):
        for kind, path in (("csv", report), ("xlsx", book)):
            for label, binary in binaries:
                b.log(f"workbooks, run {i + 1}/{runs}: {label}stockwatch ingest {kind}")
                out[label + kind].append(b.ingest_memory(
                    binary, os.path.join(tmp, f"wb-{label}{kind}-{i}"), path, rows))
    shutil.rmtree(data, ignore_errors=True)
    return out


def table(res):
    """Markdown: one row per format, and whether the targets were met."""
    med = statistics.median
    c_s = med(r["s"] for r in res["csv"])
    x_s = med(r["s"] for r in res["xlsx"])
    c_rss = med(r["max_rss_kb"] for r in res["csv"])
    x_rss = med(r["max_rss_kb"] for r in res["xlsx"])
    rows = res["rows"]
    lines = [
        f"Benchmark 9: {rows:,} rows as .csv and as .xlsx (openpyxl, write-only), "
        f"`stockwatch ingest` into a fresh database, median of {len(res['csv'])} run(s).",
        "",
        "| File | Size | Time | Rows/s | Peak RSS |",
        "|---|---|---|---|---|",
        f"| .csv | {res['csv_bytes'] / 1e6:.1f} MB | {c_s:.2f} s | {rows / c_s:,.0f} | "
        f"{c_rss / 1024:.1f} MiB |",
        f"| .xlsx | {res['xlsx_bytes'] / 1e6:.1f} MB | {x_s:.2f} s | {rows / x_s:,.0f} | "
        f"{x_rss / 1024:.1f} MiB |",
        "",
        f"- .xlsx at {c_s / x_s:.0%} of the CSV speed (target: at least 50%): "
        f"{'met' if x_s <= 2 * c_s else 'NOT met'}",
        f"- .xlsx peak RSS {x_rss / 1000:.1f} MB (target: at most 64 MB): "
        f"{'met' if x_rss <= RSS_LIMIT_KB else 'NOT met'}",
    ]
    if "before_xlsx" in res:
        bc_s = med(r["s"] for r in res["before_csv"])
        bx_s = med(r["s"] for r in res["before_xlsx"])
        bx_rss = med(r["max_rss_kb"] for r in res["before_xlsx"])
        lines += [
            "",
            "| Binary | .csv time | .xlsx time | .xlsx peak RSS | .xlsx at % of CSV speed |",
            "|---|---|---|---|---|",
            f"| before | {bc_s:.2f} s | {bx_s:.2f} s | {bx_rss / 1024:.1f} MiB | {bc_s / bx_s:.0%} |",
            f"| this | {c_s:.2f} s | {x_s:.2f} s | {x_rss / 1024:.1f} MiB | {c_s / x_s:.0%} |",
            "",
            f"- .xlsx time, this / before: {x_s / bx_s:.3f}; .csv time, this / before: "
            f"{c_s / bc_s:.3f}",
        ]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--tmpdir", default=None)
    ap.add_argument("--before", default=None,
                    help="another stockwatch binary, run side by side with --binary")
    args = ap.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench as b  # noqa: E402  (the suite's helpers, beside this file)
    b.BINARY = os.path.abspath(args.binary)
    tmp = tempfile.mkdtemp(prefix="stockwatch-wbbench-", dir=args.tmpdir)
    try:
        before = os.path.abspath(args.before) if args.before else None
        res = run(b, tmp, args.quick, max(1, args.runs), before)
    finally:
        b.PROCS.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    print(table(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
