"""Load generation: wrk when it is installed, else a bounded Python fallback (two processes of
eight threads each, plain ``http.client``), which is slower but measures the reference and the
subject alike. Each run lasts a fixed time; a run that saw any error or unexpected status is
reported as such and its figure not used."""

import http.client
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

WRK_TIMEOUT = "60s"  # slow pages (search) must not be counted as timeouts


def wrk_path():
    return shutil.which("wrk")


def _ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _wrk(url, seconds, connections, headers):
    argv = [wrk_path(), "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    argv += ["--timeout", WRK_TIMEOUT]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(url)
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
    if not parsed:  # wrk did not run; no answer at all within the time is a rate of 0, though
        result["errors"] = max(result["errors"], 1)
        result["output"] = out[-500:]
    return result


def _python_worker(url, seconds, threads, headers, out):
    """One process of the fallback: ``threads`` clients, each on its own connection."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + seconds
    counts = {"requests": 0, "errors": 0, "bad_status": 0, "latencies": []}
    lock = threading.Lock()

    def client():
        conn = None
        done = errors = bad = 0
        latencies = []
        while time.monotonic() < deadline and done < 1_000_000:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                started = time.perf_counter()
                conn.request("GET", path, headers=headers or {})
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


def _python(url, seconds, connections, headers):
    procs = 2
    per = max(1, connections // procs)
    code = (
        "import json, sys; from bench.load import _python_worker; "
        "_python_worker(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), "
        "json.loads(sys.argv[4]), sys.stdout)"
    )
    started = time.perf_counter()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code, url, str(seconds), str(per), json.dumps(headers or {})],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(procs)
    ]
    totals = {"tool": "python", "requests": 0, "errors": 0, "bad_status": 0}
    latencies = []
    for child in children:
        out, _ = child.communicate(timeout=seconds + 120)
        data = json.loads(out)
        for key in ("requests", "errors", "bad_status"):
            totals[key] += data[key]
        latencies.extend(data["latencies"])
    elapsed = time.perf_counter() - started
    totals["rps"] = totals["requests"] / max(seconds, elapsed - 0.3)  # less start-up
    latencies.sort()
    if latencies:
        totals["p50_ms"] = round(latencies[len(latencies) // 2] * 1000, 2)
        totals["p99_ms"] = round(latencies[int(len(latencies) * 0.99)] * 1000, 2)
    return totals


def measure(url, seconds, connections=16, headers=None):
    """Requests per second against ``url`` for ``seconds``, with ``connections`` at once."""
    if wrk_path():
        return _wrk(url, seconds, connections, headers)
    return _python(url, seconds, connections, headers)
