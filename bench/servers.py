"""Servers the benchmark starts: gunicorn (the hub, the bare Flask app), Datasette, and the
static server of the partner feed. Each binds to 127.0.0.1 on a free port, runs in a process
group of its own, and is stopped (TERM, then KILL) by ``Servers.close``, which the caller runs
in a ``finally``/``with``."""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerFailed(RuntimeError):
    pass


# gunicorn's line for a worker killed by a signal (its arbiter). A worker's crash restarts it with
# empty caches and fails the requests it held: the figures of a run with one are not to be trusted.
WORKER_KILLED = re.compile(rb"Worker \(pid:\d+\) was sent (SIG\w+)")

# Worker deaths seen in every server's log of this run, by server and signal (the report's meta).
crashes = {}


class Servers:
    """The processes started for one run; ``close`` stops them all."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.procs = []

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()

    def start(self, name, argv, env=None, ready_path="/", timeout=60):
        """Start ``argv`` (which listens on the port in ``{port}``) and wait until
        ``ready_path`` answers; returns the base URL."""
        port = free_port()
        argv = [str(a).replace("{port}", str(port)) for a in argv]
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115  (closed in close())
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: gunicorn's workers stop with it
        )
        self.procs.append((name, proc, log))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ServerFailed(f"{name} exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(base + ready_path, timeout=5) as response:
                    response.read()
                return base
            except urllib.error.HTTPError:
                return base  # it answers
            except OSError:
                time.sleep(0.2)
        raise ServerFailed(f"{name} did not answer within {timeout}s; see {log.name}")

    def gunicorn(self, name, app_spec, env=None, workers=2):
        """A gunicorn with the settings ``make run`` uses (deploy/gunicorn.conf.py), less the
        access log."""
        argv = [
            BIN / "gunicorn",
            "--config", ROOT / "deploy" / "gunicorn.conf.py",
            "--bind", "127.0.0.1:{port}",
            "--workers", str(workers),
            "--log-level", "warning",
            app_spec,
        ]  # fmt: skip
        return self.start(name, argv, env=env)

    def datasette(self, db_path, metadata=None, time_limit_ms=None):
        """Datasette serving ``db_path``; ``metadata``: its metadata file (the cold search's
        full-text table); ``time_limit_ms``: the time a query may take before Datasette gives
        up on it (its own default is a second)."""
        argv = [
            BIN / "datasette", "serve", db_path,
            "--host", "127.0.0.1", "--port", "{port}",
            "--setting", "max_returned_rows", "1000",
            "--setting", "suggest_facets", "off",
        ]  # fmt: skip
        if metadata:
            argv += ["--metadata", metadata]
        if time_limit_ms:
            argv += ["--setting", "sql_time_limit_ms", str(time_limit_ms)]
        return self.start("datasette", argv, ready_path="/-/versions.json")

    def feed(self, directory):
        argv = [sys.executable, "-m", "bench.feed_server", directory, "{port}"]
        return self.start("feed", argv, ready_path="/")

    def close(self):
        for _name, proc, _log in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for name, proc, log in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
            log.close()
            _count_crashes(name, Path(log.name))
        self.procs = []


def _count_crashes(name, log_path):
    """Add the workers of ``name`` that a signal killed while it served (not the TERM of
    ``close``) to ``crashes``."""
    with contextlib.suppress(OSError):
        for signal_name in WORKER_KILLED.findall(log_path.read_bytes()):
            if signal_name != b"SIGTERM":
                key = f"{name}: {signal_name.decode()}"
                crashes[key] = crashes.get(key, 0) + 1
