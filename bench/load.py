"""Load generation: wrk when it is installed, else a bounded Python fallback (two processes of
eight threads each, plain ``http.client``), which is slower but measures the reference and the
subject alike. Each run lasts a fixed time; a run that saw any error or unexpected status is
reported as such and its figure not used.

Given ``paths``, each request takes the next of them (wrk through a Lua script, ``PATHS_LUA``),
from ``offset`` on, going round again at the end: the cold figures, whose requests are all
distinct. The run then says how many paths it used (``issued``), the next run's offset."""

import http.client
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

WRK_TIMEOUT = "60s"  # slow pages (search) must not be counted as timeouts

# wrk's script for a list of paths (``wrk -s FILE URL -- PATHS_FILE OFFSET``): ``request`` gives
# the next path; ``done`` reports the paths used and the latency percentiles as one JSON line.
# ``issued`` is a global so that ``done``, run in wrk's main Lua state, can read each thread's
# (``thread:get``); wrk calls ``request`` once more to check it, before the run.
PATHS_LUA = """
local paths, offset = {}, 0
local threads = {}
issued = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  offset = tonumber(args[2]) or 0
end

function request()
  local path = paths[((offset + issued) % #paths) + 1]
  issued = issued + 1
  return wrk.format(nil, path)
end

function done(summary, latency, requests)
  local used = 0
  for _, thread in ipairs(threads) do used = used + thread:get("issued") end
  io.write(string.format(
    'BENCH {"issued":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d}\\n',
    used, latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def wrk_path():
    return shutil.which("wrk")


def _ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _wrk(url, seconds, connections, headers, paths_file=None, offset=0):
    argv = [wrk_path(), "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    argv += ["--timeout", WRK_TIMEOUT]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    script = None
    if paths_file:
        script = paths_file.with_suffix(".lua")
        script.write_text(PATHS_LUA)
        argv += ["-s", str(script)]
    argv.append(url)
    if paths_file:
        argv += ["--", str(paths_file), str(offset)]
    out = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + 120, check=False
    ).stdout
    result = {"tool": "wrk", "requests": 0, "rps": 0.0, "errors": 0, "bad_status": 0}
    parsed = False
    if m := re.search(r"(\d+) requests in ([\d.]+)(\w+),", out):
        result["requests"] = int(m.group(1))
        parsed = True
    if m := re.search(r"Requests/sec:\s+([\d.]+)", out):
        result["rps"] = float(m.group(1))
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        result["bad_status"] = int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        # wrk counts a server closing the connection after its answer (gunicorn's sync
        # workers do) as neither; read errors here are real resets.
        result["errors"] = int(m.group(1)) + int(m.group(4))
    for pct in ("50", "99"):
        if m := re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)\b", out):
            result[f"p{pct}_ms"] = round(_ms(m.group(1), m.group(2)), 2)
    if m := re.search(r"^BENCH (\{.*\})$", out, re.MULTILINE):
        reported = json.loads(m.group(1))
        result["issued"] = reported["issued"]
        for pct in ("50", "95", "99"):
            result[f"p{pct}_ms"] = round(reported[f"p{pct}_us"] / 1000, 2)
    if not result["requests"]:  # wrk prints percentiles of 0 when nothing was answered
        for pct in ("50", "95", "99"):
            result.pop(f"p{pct}_ms", None)
    if not parsed:  # wrk did not run; no answer at all within the time is a rate of 0, though
        result["errors"] = max(result["errors"], 1)
        result["output"] = out[-500:]
    return result


def _python_worker(url, seconds, threads, headers, out, paths_file=None, offset=0, stride=1):
    """One process of the fallback: ``threads`` clients, each on its own connection. With
    ``paths_file``, each request takes the next of its paths (one a line) this process has:
    ``offset``, then every ``stride``-th (the other processes take those in between)."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    paths = Path(paths_file).read_text().split("\n") if paths_file else None
    paths = [p for p in paths if p] if paths else None
    deadline = time.monotonic() + seconds
    counts = {"requests": 0, "errors": 0, "bad_status": 0, "latencies": [], "issued": 0}
    lock = threading.Lock()

    def next_path():
        if paths is None:
            return path
        with lock:
            index = offset + counts["issued"] * stride
            counts["issued"] += 1
        return paths[index % len(paths)]

    def client():
        conn = None
        done = errors = bad = 0
        latencies = []
        while time.monotonic() < deadline and done < 1_000_000:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                started = time.perf_counter()
                conn.request("GET", next_path(), headers=headers or {})
                response = conn.getresponse()
                response.read()
                latencies.append(time.perf_counter() - started)
                done += 1
                if response.status >= 400:
                    bad += 1
                if response.will_close:
                    conn.close()
                    conn = None
            except OSError:
                errors += 1
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()
        with lock:
            counts["requests"] += done
            counts["errors"] += errors
            counts["bad_status"] += bad
            counts["latencies"].extend(latencies)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    json.dump(counts, out)


def _python(url, seconds, connections, headers, paths_file=None, offset=0):
    procs = 2
    per = max(1, connections // procs)
    code = (
        "import json, sys; from bench.load import _python_worker; "
        "_python_worker(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), "
        "json.loads(sys.argv[4]), sys.stdout, sys.argv[5] or None, int(sys.argv[6]), "
        "int(sys.argv[7]))"
    )
    started = time.perf_counter()
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                code,
                url,
                str(seconds),
                str(per),
                json.dumps(headers or {}),
                str(paths_file or ""),
                str(offset + k),
                str(procs),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for k in range(procs)
    ]
    totals = {"tool": "python", "requests": 0, "errors": 0, "bad_status": 0}
    latencies, issued = [], []
    for child in children:
        out, _ = child.communicate(timeout=seconds + 120)
        data = json.loads(out)
        for key in ("requests", "errors", "bad_status"):
            totals[key] += data[key]
        latencies.extend(data["latencies"])
        issued.append(data["issued"])
    elapsed = time.perf_counter() - started
    totals["rps"] = totals["requests"] / max(seconds, elapsed - 0.3)  # less start-up
    if paths_file:
        totals["issued"] = procs * max(issued)  # the next offset: past every path taken
    latencies.sort()
    if latencies:
        for pct in (50, 95, 99):
            index = min(len(latencies) - 1, len(latencies) * pct // 100)
            totals[f"p{pct}_ms"] = round(latencies[index] * 1000, 2)
    return totals


def measure(url, seconds, connections=16, headers=None, paths=None, offset=0):
    """Requests per second against ``url`` for ``seconds``, with ``connections`` at once.

    With ``paths``, ``url`` is the server's base and each request takes the next path, from
    ``offset`` on (going round again at the end); the result's ``issued`` is how many were
    taken (the next run's offset: the paths from there on were never asked for)."""
    if not paths:
        if wrk_path():
            return _wrk(url, seconds, connections, headers)
        return _python(url, seconds, connections, headers)
    with tempfile.TemporaryDirectory(prefix="bench-paths-") as folder:
        paths_file = Path(folder) / "paths.txt"
        paths_file.write_text("\n".join(paths) + "\n")
        if wrk_path():
            result = _wrk(url, seconds, connections, headers, paths_file, offset)
        else:
            result = _python(url, seconds, connections, headers, paths_file, offset)
    result.setdefault("issued", 0)
    return result
