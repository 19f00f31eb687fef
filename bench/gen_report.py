#!/usr/bin/env python3
"""Seeded generator of stock reports (CSV `store,item,count`) for the benchmarks.

Three modes, all reproducible from --seed (the same arguments always give the
same bytes):

  Bulk: N stores x M items, streamed to one file (default 10 x 100,000 =
  1,000,000 rows, about 37 MB):

      gen_report.py --out report.csv [--stores 10] [--items 100000] [--seed 1]
                    [--order key|stores|items|shuffled]

  Bulk by size: as many rows as it takes to reach about --target-bytes
  (suffixes k, M, G), streamed to disk row block by row block, so a 1 GB
  report never sits in memory:

      gen_report.py --out big.csv --target-bytes 1G [--stores 10]

  Small: many small reports into a folder, one per store (distinct stores),
  each with --rows rows; with --zeros 1, item number (i mod rows) is at 0 in
  report i, so every report carries one new out-of-stock item:

      gen_report.py --small 10000 --outdir DIR [--rows 6] [--zeros 1]
                    [--prefix batch]

--order says in which order the bulk rows are written (every order holds the
same rows with the same counts; only their order differs):

  key       store by store, items in order (the key order of the inventory;
            the default)
  stores    store by store, items in order, but the stores in a shuffled
            order (not alphabetical)
  items     item-major: each item for every store in turn
  shuffled  every row at a random place (a uniform shuffle, done through
            temporary bucket files beside --out, so memory stays small)

About --zero-fraction of
the counts (default 1%) are 0; the others are between 1 and 9,999. It prints
one line on stdout: the number of rows (or files) and bytes written.
"""

import argparse
import array
import os
import random
import shutil
import sys
import tempfile

HEADER = "store,item,count\n"
BLOCK_ROWS = 50_000


def store_name(i):
    return f"Warehouse-{i:04d}"


def item_name(j):
    return f"Product-{j:08d}"


def parse_size(text):
    text = text.strip()
    mult = 1
    suffixes = {"k": 10**3, "m": 10**6, "g": 10**9}
    if text and text[-1].lower() in suffixes:
        mult = suffixes[text[-1].lower()]
        text = text[:-1]
    return int(float(text) * mult)


def counts(rng, n, zero_fraction):
    """n counts: 0 with probability zero_fraction, else 1..9999."""
    rnd = rng.random
    rint = rng.randrange
    return [0 if rnd() < zero_fraction else rint(1, 10000) for _ in range(n)]


ORDERS = ("key", "stores", "items", "shuffled")
SHUFFLE_BUCKET_ROWS = 200_000  # rows per temporary bucket of the shuffle


def key_order_blocks(stores, items, seed, zero_fraction):
    """Yields (store, first item, counts) blocks in key order; the counts
    are the same whatever order the rows are written in."""
    rng = random.Random(seed)
    for s in range(stores):
        for start in range(0, items, BLOCK_ROWS):
            n = min(BLOCK_ROWS, items - start)
            yield s, start, counts(rng, n, zero_fraction)


def block_lines(s, start, cs):
    prefix = store_name(s) + ","
    return [f"{prefix}{item_name(start + k)},{c}\n" for k, c in enumerate(cs)]


def write_rows(f, stores, items, seed, zero_fraction, order, tmpdir):
    """Writes the rows to `f` in `order`; returns (rows, zeros)."""
    rows = zeros = 0
    if order == "key":
        for s, start, cs in key_order_blocks(stores, items, seed, zero_fraction):
            zeros += cs.count(0)
            rows += len(cs)
            f.write("".join(block_lines(s, start, cs)))
        return rows, zeros
    if order == "items":
        # Every count, 2 bytes each, then item by item across the stores.
        table = [array.array("H") for _ in range(stores)]
        for s, _, cs in key_order_blocks(stores, items, seed, zero_fraction):
            table[s].extend(cs)
            zeros += cs.count(0)
            rows += len(cs)
        for start in range(0, items, max(1, BLOCK_ROWS // stores)):
            end = min(items, start + max(1, BLOCK_ROWS // stores))
            f.write("".join(f"{store_name(s)},{item_name(j)},{table[s][j]}\n"
                            for j in range(start, end) for s in range(stores)))
        return rows, zeros
    # "stores" and "shuffled": rows go to temporary buckets, then the buckets
    # are written out one after another (shuffled: each shuffled first).
    order_rng = random.Random(seed + 1_000_003)
    if order == "stores":
        perm = list(range(stores))
        while stores > 1 and perm == sorted(perm):
            order_rng.shuffle(perm)
        n_buckets = stores
    else:
        n_buckets = max(1, (stores * items) // SHUFFLE_BUCKET_ROWS)
    paths = [os.path.join(tmpdir, f"bucket-{b:05d}") for b in range(n_buckets)]
    files = [open(p, "w", encoding="ascii", newline="") for p in paths]
    try:
        for s, start, cs in key_order_blocks(stores, items, seed, zero_fraction):
            zeros += cs.count(0)
            rows += len(cs)
            lines = block_lines(s, start, cs)
            if order == "stores":
                files[s].write("".join(lines))
            else:
                pick = order_rng.randrange
                for line in lines:
                    files[pick(n_buckets)].write(line)
        for b in files:
            b.close()
        sequence = perm if order == "stores" else range(n_buckets)
        for b in sequence:
            with open(paths[b], encoding="ascii", newline="") as bf:
                if order == "stores":
                    shutil.copyfileobj(bf, f, 1 << 20)
                else:
                    lines = bf.readlines()
                    order_rng.shuffle(lines)
                    f.write("".join(lines))
            os.unlink(paths[b])
    finally:
        for b, p in zip(files, paths):
            b.close()
            if os.path.exists(p):
                os.unlink(p)
    return rows, zeros


def write_bulk(path, stores, items, seed, zero_fraction, order="key"):
    """Streams stores x items rows to `path` in `order`; returns (rows,
    bytes, zeros)."""
    tmp = path + ".part"
    tmpdir = tempfile.mkdtemp(prefix=".gen-", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with open(tmp, "w", encoding="ascii", newline="") as f:
            f.write(HEADER)
            rows, zeros = write_rows(f, stores, items, seed, zero_fraction, order, tmpdir)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    os.replace(tmp, path)
    return rows, os.path.getsize(path), zeros


def bytes_per_row_estimate(stores, seed, zero_fraction):
    """Average row length, from a sample of generated rows."""
    rng = random.Random(seed)
    cs = counts(rng, 10_000, zero_fraction)
    sample = "".join(f"{store_name(stores - 1)},{item_name(k)},{c}\n" for k, c in enumerate(cs))
    return len(sample) / len(cs)


def write_small(outdir, n, rows, zero_rows, seed, prefix):
    """n reports of `rows` rows, one distinct store each; returns (files, bytes)."""
    rng = random.Random(seed)
    os.makedirs(outdir, exist_ok=True)
    total = 0
    for i in range(n):
        store = f"{prefix}-{i:06d}"
        zero_at = {(i + z) % rows for z in range(zero_rows)}
        body = HEADER + "".join(
            f"{store},{item_name(j)},{0 if j in zero_at else rng.randrange(1, 10000)}\n"
            for j in range(rows))
        path = os.path.join(outdir, f"{prefix}-{i:06d}.csv")
        with open(path, "w", encoding="ascii", newline="") as f:
            f.write(body)
        total += len(body)
    return n, total


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", help="bulk report to write")
    p.add_argument("--stores", type=int, default=10)
    p.add_argument("--items", type=int, default=100_000, help="items per store")
    p.add_argument("--target-bytes", help="write about this many bytes (e.g. 1G, 100M)")
    p.add_argument("--order", choices=ORDERS, default="key",
                   help="row order of a bulk report (default: key)")
    p.add_argument("--zero-fraction", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--small", type=int, metavar="N", help="write N small reports to --outdir")
    p.add_argument("--outdir")
    p.add_argument("--rows", type=int, default=6, help="rows per small report")
    p.add_argument("--zeros", type=int, default=1, help="zero counts per small report")
    p.add_argument("--prefix", default="store", help="store and file name prefix (small mode)")
    args = p.parse_args(argv)

    if args.small is not None:
        if not args.outdir:
            p.error("--small needs --outdir")
        if not 0 <= args.zeros <= args.rows:
            p.error("--zeros must be between 0 and --rows")
        files, size = write_small(args.outdir, args.small, args.rows, args.zeros, args.seed,
                                  args.prefix)
        print(f"{files} files {size} bytes")
        return 0

    if not args.out:
        p.error("give --out FILE (bulk) or --small N --outdir DIR")
    items = args.items
    if args.target_bytes:
        target = parse_size(args.target_bytes)
        per_row = bytes_per_row_estimate(args.stores, args.seed, args.zero_fraction)
        items = max(1, int((target - len(HEADER)) / per_row / args.stores))
    rows, size, zeros = write_bulk(args.out, args.stores, items, args.seed, args.zero_fraction,
                                   args.order)
    print(f"{rows} rows {size} bytes {zeros} zeros")
    return 0


if __name__ == "__main__":
    sys.exit(main())
