#!/usr/bin/env python3
"""What minimum levels cost the loader: `stockwatch ingest` before and after.

Three ways, each a fresh SQLite database per run, the binaries taking turns
(each going first in every other run), CPU time (user + system) of the
whole process, which a busy machine disturbs less than the wall clock:

1. 500 six-row reports in one `ingest` (the per-report cost);
2. a 100,000-row report over a loaded one (most rows change), no levels;
3. the same with a levels file in force (`*,*,5` and 20,000 store-and-item
   lines), with --binary only: what the lookups and the extra low_stock
   events cost.

    bench/levels_bench.py --binary build/stockwatch --baseline OLD/stockwatch [--runs 6]
"""

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import tempfile


def config(d):
    os.makedirs(d + "/mail", exist_ok=True)
    with open(d + "/c.toml", "w", encoding="utf-8") as f:
        f.write(f'[storage]\ndatabase = "{d}/db"\n[alerts]\nfrom = "s@example.com"\n'
                f'[[alerts.subscription]]\nemail = "o@example.com"\n'
                f'[smtp]\nurl = ""\nmaildir = "{d}/mail"\n')
    return d + "/c.toml"


def ingest(binary, cfg, files):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run([binary, "ingest", "-c", cfg, *files], capture_output=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"{binary} ingest failed: {r.stderr.decode(errors='replace')}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def big_report(path, seed):
    r = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        f.write("store,item,count\n")
        for s in range(20):
            for i in range(5000):
                f.write(f"Store{s:02d},Item{i:05d},{r.randrange(0, 40)}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--runs", type=int, default=6)
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="stockwatch-levels-bench-")
    try:
        small = []
        for i in range(500):
            p = f"{root}/r{i:04d}.csv"
            with open(p, "w", encoding="utf-8") as f:
                f.write("store,item,count\n" +
                        "".join(f"Store{i % 7},Item{j},{(i * 7 + j) % 5}\n" for j in range(6)))
            small.append(p)
        big_report(f"{root}/a.csv", 1)
        big_report(f"{root}/b.csv", 2)
        with open(f"{root}/levels.csv", "w", encoding="utf-8") as f:
            f.write("store,item,minimum\n*,*,5\n")
            for s in range(20):
                for i in range(0, 5000, 5):
                    f.write(f"Store{s:02d},Item{i:05d},{i % 30}\n")
        bins = {"baseline": args.baseline, "this": args.binary}
        cpu = {(k, w): [] for k in bins for w in ("small", "big")}
        cpu_levels = []
        for run in range(args.runs):
            order = list(bins) if run % 2 == 0 else list(reversed(bins))
            for name in order:
                d = f"{root}/{name}-{run}"
                cpu[(name, "small")].append(ingest(bins[name], config(d + "s"), small))
                cfg = config(d + "b")
                ingest(bins[name], cfg, [f"{root}/a.csv"])
                cpu[(name, "big")].append(ingest(bins[name], cfg, [f"{root}/b.csv"]))
            cfg = config(f"{root}/levels-{run}")
            ingest(args.binary, cfg, [f"{root}/a.csv", f"{root}/levels.csv"])
            cpu_levels.append(ingest(args.binary, cfg, [f"{root}/b.csv"]))
        med = {k: statistics.median(v) for k, v in cpu.items()}
        lv = statistics.median(cpu_levels)
        print(f"CPU seconds, median of {args.runs} run(s); ratio > 1: this build is faster\n")
        print("| Benchmark | Baseline | This build | Baseline ÷ this |")
        print("|---|---|---|---|")
        print(f"| 500 six-row reports, no levels | {med[('baseline', 'small')]:.3f} s | "
              f"{med[('this', 'small')]:.3f} s | {med[('baseline', 'small')] / med[('this', 'small')]:.2f} |")
        print(f"| 100,000-row report, no levels | {med[('baseline', 'big')]:.3f} s | "
              f"{med[('this', 'big')]:.3f} s | {med[('baseline', 'big')] / med[('this', 'big')]:.2f} |")
        print(f"| 100,000-row report, levels in force (this build only) | | {lv:.3f} s | "
              f"{med[('this', 'big')] / lv:.2f} (no levels ÷ levels) |")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
