"""Benchmark: the memory the console's item names take, by number of workers.

The search by item name and the listing by item keep the inventory's
distinct item names in memory (src/store/item_names.hpp). This loads one
report of N distinct items (one store; default 2,700,000), starts the daemon
with `[console] workers = W` for each W given, waits until its resident
memory stops growing (the names are read at start), and prints the
daemon's resident memory (VmRSS) side by side for each binary given, so
that a build with one list per worker and a build with one list for all
of them can be compared in one run.

Usage: python3 bench/console_names_memory.py --binary build/stockwatch
           [--binary other/stockwatch] [--names 2700000] [--workers 1,4]
Environment: TMPDIR.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from console_bench import config_text, free_port, log


def rss_mib(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def write_config(root, db, port, workers):
    path = os.path.join(root, f"stockwatch-{workers}.toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(config_text(root, db, port, workers))
    return path


def settled_rss(binary, config):
    """Starts the daemon, waits until its memory has not grown for 3 s
    (at most 120 s), returns that memory in MiB and stops it."""
    daemon = subprocess.Popen([binary, "serve", "--config", config], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        last, since = 0.0, time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if daemon.poll() is not None:
                raise SystemExit(f"the daemon stopped ({daemon.returncode}); config {config}")
            now = rss_mib(daemon.pid)
            if now > last + 1:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= 3:
                return last
        return last
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", action="append", default=None)
    ap.add_argument("--names", type=int, default=2_700_000)
    ap.add_argument("--workers", default="1,4")
    args = ap.parse_args()
    binaries = [os.path.abspath(b) for b in (args.binary or ["build/stockwatch"])]
    workers = [int(w) for w in args.workers.split(",")]
    root = tempfile.mkdtemp(prefix="names-memory-")
    try:
        for d in ("inbox", "processed", "failed", "mail"):
            os.makedirs(os.path.join(root, d))
        report = os.path.join(root, "names.csv")
        with open(report, "w", encoding="utf-8") as f:
            f.write("store,item,count\n")
            f.write("".join(f"Gudang,Kopi Nusantara {i:08d},{i % 50 + 1}\n"
                            for i in range(args.names)))
        results = {}
        for binary in binaries:
            db = os.path.join(root, f"db-{len(results)}.sqlite")
            t = time.monotonic()
            subprocess.run([binary, "ingest", "--config", write_config(root, db, free_port(), 1),
                            report], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            log(f"{binary}: {args.names:,} names loaded in {time.monotonic() - t:.1f} s")
            for w in workers:
                mib = settled_rss(binary, write_config(root, db, free_port(), w))
                results[(binary, w)] = mib
                log(f"{binary}: workers = {w}: {mib:,.0f} MiB")
        print(f"\nDaemon resident memory (VmRSS, MiB) with {args.names:,} distinct item names\n")
        print("| binary | " + " | ".join(f"workers = {w}" for w in workers) + " |")
        print("|---|" + "---:|" * len(workers))
        for binary in binaries:
            print(f"| {binary} | " + " | ".join(f"{results[(binary, w)]:,.0f}" for w in workers) + " |")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
