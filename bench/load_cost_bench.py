"""Benchmark: what a change to the loader costs a load, side by side.

Two builds of stockwatch (--binary, the one measured, and --baseline, the
one it is compared with) load the same reports one after the other, in
turns, each into its own fresh database, with `stockwatch ingest` (the
whole process, under GNU time -v, as bench/order_bench.py measures it):

  - first load: a report of 1,000,000 new rows (10 stores of 100,000 items),
    in key order and shuffled (bench/gen_report.py, seed 1);
  - next report: the same stores and items with other counts (seed 2),
    loaded into the database the first load made: the usual monthly report,
    whose items are all known.

It prints each case's median time of both builds and their ratio (the
measured build's time over the baseline's: above 1 is slower). The machine
may be shared: the turns alternate, so both builds see the same load.

Usage: python3 bench/load_cost_bench.py --binary build/stockwatch --baseline OLD/stockwatch
       [--runs 3] [--rows 1000000] [--tmpdir DIR]
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench as b  # noqa: E402  (its World, gnu_time_v and run_gen)

STORES = 10
ORDERS = ("key", "shuffled")


def ingest(binary, world, report, rows):
    elapsed, rss, out = b.gnu_time_v([binary, "ingest", "--config", world.config, report],
                                     world.root)
    if f"loaded {rows} rows" not in out:
        raise b.BenchError(f"stockwatch ingest did not load {rows} rows: {out.strip()}")
    return elapsed, rss


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--tmpdir", default=None)
    args = ap.parse_args()
    builds = {"measured": os.path.abspath(args.binary), "baseline": os.path.abspath(args.baseline)}
    tmp = tempfile.mkdtemp(prefix="load-cost-", dir=args.tmpdir)
    rows = args.rows
    results = {}   # (order, case, build) -> [seconds]
    try:
        for order in ORDERS:
            first = os.path.join(tmp, f"first-{order}.csv")
            second = os.path.join(tmp, f"second-{order}.csv")
            for path, seed in ((first, 1), (second, 2)):
                b.log(f"generating {rows:,} rows, {order}, seed {seed}: " + b.run_gen(
                    "--out", path, "--stores", STORES, "--items", rows // STORES, "--order",
                    order, "--seed", seed))
            for i in range(args.runs):
                # Alternate which build goes first, so neither always has the
                # warmer page cache.
                names = ("baseline", "measured") if i % 2 == 0 else ("measured", "baseline")
                for name in names:
                    root = os.path.join(tmp, f"{order}-{name}-{i}")
                    w = b.World(root)
                    w.write_config()
                    t1, _ = ingest(builds[name], w, first, rows)
                    t2, _ = ingest(builds[name], w, second, rows)
                    results.setdefault((order, "first load", name), []).append(t1)
                    results.setdefault((order, "next report", name), []).append(t2)
                    b.log(f"{order} run {i + 1} {name}: first load {t1:.2f} s, "
                          f"next report {t2:.2f} s")
                    shutil.rmtree(root, ignore_errors=True)
            os.unlink(first)
            os.unlink(second)
        print(f"\nstockwatch ingest, {rows:,} rows ({STORES} stores), median of {args.runs} "
              f"runs each, the two builds in turns\n")
        print("| rows in | load | baseline | measured | measured / baseline |")
        print("|---|---|---:|---:|---:|")
        for order in ORDERS:
            for case in ("first load", "next report"):
                base = statistics.median(results[(order, case, "baseline")])
                new = statistics.median(results[(order, case, "measured")])
                print(f"| {order} order | {case} | {base:.2f} s | {new:.2f} s | {new / base:.3f} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
