#!/usr/bin/env bash
# Runs the stockwatch benchmark suite once: prints one table and appends it
# to docs/benchmarks.md (which explains each benchmark).
#
# Environment:
#   STOCKWATCH_BINARY  the stockwatch executable (default: build/stockwatch)
#   BENCH_RUNS         runs per benchmark; the table shows medians (default: 5,
#                      or 1 with BENCH_QUICK=1)
#   BENCH_QUICK=1      small sizes, for a smoke test (100,000-row bulk report,
#                      20 latency reports, 1,000 small reports, 100 MB large
#                      report); its table is appended only with BENCH_APPEND=1
#   BENCH_APPEND=0|1   append the table to the document (default: 1, quick: 0)
#   BENCH_DOC          the document to append to (default: docs/benchmarks.md)
#   BENCH_SKIP_BIG=1   skip the large-report memory benchmark
#   BENCH_BIG_TIMEOUT  seconds the large-report ingest may run (default: 900)
#   BENCH_ORDER_RUNS   runs of each file of the row-order benchmark (default: 3,
#                      or 1 with BENCH_QUICK=1)
#   BENCH_ONLY         all (default), orders (the row-order benchmark alone),
#                      workbooks (.xlsx beside .csv alone) or classic
#                      (everything but the row-order benchmark)
#   BENCH_BASELINE     an earlier stockwatch executable: benchmarks 2-6 also run
#                      with it, the two taking turns, and a second table
#                      compares them (make bench-compare BASE=<git revision>
#                      builds one)
#   TMPDIR             where the temporary folder goes (it needs about 5 GB
#                      free for the 1 GB report and its database)
set -euo pipefail

cd "$(dirname "$0")/.."

binary="${STOCKWATCH_BINARY:-build/stockwatch}"
quick="${BENCH_QUICK:-0}"
if [ "$quick" = "1" ]; then
  runs="${BENCH_RUNS:-1}"
  append="${BENCH_APPEND:-0}"
else
  runs="${BENCH_RUNS:-5}"
  append="${BENCH_APPEND:-1}"
fi
doc="${BENCH_DOC:-docs/benchmarks.md}"

if [ ! -x "$binary" ]; then
  echo "bench: $binary is not an executable; build it (make build) or set STOCKWATCH_BINARY" >&2
  exit 2
fi

python=/usr/bin/python3
[ -x "$python" ] || python="$(command -v python3)"
missing=""
command -v sqlite3 >/dev/null 2>&1 || missing="$missing sqlite3"
[ -x /usr/bin/time ] || missing="$missing time"
"$python" -c 'import aiosmtpd' >/dev/null 2>&1 || missing="$missing python3-aiosmtpd"
if [ -n "$missing" ]; then
  echo "bench: missing:$missing (scripts/install-deps.sh bench installs them)" >&2
  exit 2
fi

if [ "$quick" = "1" ]; then order_runs="${BENCH_ORDER_RUNS:-1}"; else order_runs="${BENCH_ORDER_RUNS:-3}"; fi
args=(--binary "$binary" --runs "$runs" --big-timeout "${BENCH_BIG_TIMEOUT:-900}"
      --order-runs "$order_runs" --only "${BENCH_ONLY:-all}")
[ "$quick" = "1" ] && args+=(--quick)
[ "${BENCH_SKIP_BIG:-0}" = "1" ] && args+=(--skip-big)
[ "$append" = "1" ] && args+=(--doc "$doc")
[ -n "${TMPDIR:-}" ] && args+=(--tmpdir "$TMPDIR")
[ -n "${BENCH_BASELINE:-}" ] && args+=(--baseline "$BENCH_BASELINE")

exec "$python" bench/bench.py "${args[@]}"
