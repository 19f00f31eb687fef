"""Benchmark 7: requests per second of the HTTP server, measured with wrk.

- GET /healthz: the cheapest route, so the figure is the server's own
  overhead (accept, parse, answer) on keep-alive connections.
- PUT of a 6-row report per request: the S3 upload path (anonymous uploads
  on loopback, so no signature is computed by the client; verifying one
  costs the server four HMAC-SHA256 and one SHA-256, a few microseconds),
  each to its own key, each synced to disk and renamed into the inbox,
  while the daemon loads and archives them. A Lua script gives each
  request its own key and store, so no upload is a duplicate.
"""

import os
import re
import shutil
import subprocess

HEALTHZ_CONNECTIONS = 32
PUT_CONNECTIONS = 8

PUT_SCRIPT = r"""
counter = 0
request = function()
  counter = counter + 1
  local id = string.format("%d-%d", math.random(1, 1000000000), counter)
  local body = "store,item,count\nW" .. id .. ",A,1\nW" .. id .. ",B,2\nW" .. id ..
               ",C,3\nW" .. id .. ",D,4\nW" .. id .. ",E,5\nW" .. id .. ",F,6\n"
  return wrk.format("PUT", "/inventory/bench/" .. id .. ".csv", nil, body)
end
"""


def wrk_path():
    return shutil.which("wrk")


def parse_wrk(text):
    """Requests/s, p50 and p99 latency in seconds, and the non-2xx count."""
    def seconds(v, unit):
        return float(v) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    lat = {}
    for p in ("50", "99"):
        m = re.search(rf"^\s+{p}(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
        lat[p] = seconds(*m.groups()) if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = int(m.group(1)) if m else 0
    m = re.search(r"(\d+) requests in", text)
    total = int(m.group(1)) if m else 0
    return {"rps": rps, "p50_s": lat["50"], "p99_s": lat["99"], "non_2xx": errors,
            "requests": total}


def run_wrk(url, connections, seconds, script=None, threads=1):
    cmd = [wrk_path(), "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
           "--latency", "--timeout", "10s"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stderr or out.stdout}")
    return parse_wrk(out.stdout)


def http_bench(world, binary, seconds, wait_until):
    """`world` is a bench World (folders, config); returns the figures."""
    world.write_config()
    with open(world.config, "a", encoding="utf-8") as f:
        f.write('\n[http]\nlisten = "127.0.0.1:0"\nallow_anonymous_upload = true\n')
    world.start_daemon(binary)
    with open(world.log_path, encoding="utf-8") as f:
        port = int(re.search(r"http: listening on \S+ \(port (\d+)\)", f.read()).group(1))
    base = f"http://127.0.0.1:{port}"
    script = os.path.join(world.root, "put.lua")
    with open(script, "w", encoding="utf-8") as f:
        f.write(PUT_SCRIPT)
    healthz = run_wrk(base + "/healthz", HEALTHZ_CONNECTIONS, seconds, threads=2)
    put = run_wrk(base + "/", PUT_CONNECTIONS, seconds, script=script)
    # Every accepted upload must be loaded once.
    accepted = put["requests"] - put["non_2xx"]

    def all_loaded():
        return world.query("SELECT COUNT(*) FROM reports WHERE status = 'loaded' "
                           "AND archived_path <> ''")[0][0] >= accepted

    wait_until(all_loaded, f"{accepted} uploaded reports to be loaded", 300, 0.05)
    loaded = world.query("SELECT COUNT(*), COUNT(DISTINCT path) FROM reports")[0]
    world.stop_daemon()
    return {"healthz": healthz, "put": put, "accepted": accepted, "ledger_rows": loaded[0],
            "distinct_paths": loaded[1]}
