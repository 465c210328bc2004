"""The gunicorn worker the hub is served with (deploy/gunicorn.conf.py): gunicorn's threaded
worker (``gthread``), whose reads of a request time out, so that slow or stalled clients cost a
connection and, for a bounded time, one of many threads, never a whole worker.

gunicorn's ``gthread`` already keeps idle and kept-alive connections on its poller, off the
threads, until their first byte arrives. Once a thread reads a request, though, it would wait
for the rest of it for as long as the client likes. Here every read of a request (its line, its
headers, its body) waits at most ``read_timeout`` seconds for the next bytes, as nginx's
``client_header_timeout`` and ``client_body_timeout`` do:

* a client that stalls in its headers is disconnected;
* one that stalls in its body is answered 408 (werkzeug's ``RequestTimeout``, in the page's
  language like any other error) and disconnected.

A connection that ends is closed on its thread: gunicorn would close it on the worker's main
thread, lingering up to 2 s for the client's side, while every other connection waits.

gunicorn names itself and its version in a ``Server`` header; the hub's answers say ``hub``.
"""

import errno
import os
import shutil
import sys
import tempfile
from pathlib import Path

import gunicorn.http.wsgi
from gunicorn.glogging import Logger as GunicornLogger
from gunicorn.http.errors import NoMoreData
from gunicorn.workers.gthread import TConn, ThreadWorker
from werkzeug.exceptions import RequestTimeout

SERVER = "hub"
# Read by gunicorn's Response for every answer's Server header (it has no setting for it).
gunicorn.http.wsgi.SERVER = SERVER


# Under Python 3.11, a threaded worker dies of SIGSEGV under concurrent load (garbage collection
# in one thread corrupts what another is working on: the crashes stop with the collector off),
# and not under 3.12 or 3.13 (deploy/README.md, "Python version"). There, one thread a worker.
THREADS_ARE_SAFE = sys.version_info >= (3, 12)


def thread_count(wanted, safe=THREADS_ARE_SAFE):
    """The threads each worker runs: ``wanted``, or 1 where threads are not safe."""
    return wanted if safe else 1


def warn_of_unsafe_threads(server):
    """gunicorn's ``on_starting`` hook (deploy/gunicorn.conf.py): say so when the workers run
    without threads, or with threads where they are not safe."""
    if THREADS_ARE_SAFE:
        return
    version = ".".join(map(str, sys.version_info[:3]))
    if server.cfg.threads > 1:
        server.log.warning(
            "Python %s: %s threads a worker may crash it under load (SIGSEGV); use Python 3.12"
            ' or later, or --threads 1 (deploy/README.md, "Python version")',
            version,
            server.cfg.threads,
        )
    else:
        server.log.warning(
            "Python %s: one thread a worker, since threads may crash it; a slow client holds a"
            ' whole worker (deploy/README.md, "Python version")',
            version,
        )


def starting(server):
    """gunicorn's ``on_starting`` hook, in the master before any worker: the warning above, and
    the metrics' folder."""
    warn_of_unsafe_threads(server)
    prepare_metrics_folder()


# prometheus_client's multiprocess mode (hub.ops.metrics): each process writes its values to
# files in this folder, and a scrape adds them up.
METRICS_FOLDER = "PROMETHEUS_MULTIPROC_DIR"
_own_metrics_folder = []  # the folder made by this master, removed when it exits


def prepare_metrics_folder():
    """Set ``PROMETHEUS_MULTIPROC_DIR`` before any worker imports prometheus_client: a fresh
    temporary folder, or the one given (``make run`` gives one that the scheduler writes to as
    well), without the files of processes that have ended (an earlier server's)."""
    folder = os.environ.get(METRICS_FOLDER)
    if not folder:
        os.environ[METRICS_FOLDER] = folder = tempfile.mkdtemp(prefix="hub-metrics-")
        _own_metrics_folder.append(folder)
        return
    os.makedirs(folder, exist_ok=True)
    for path in Path(folder).glob("*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not _alive(int(pid)):
            path.unlink(missing_ok=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's
    return True


def worker_ended(server, worker):
    """gunicorn's ``child_exit`` hook: the worker's gauges go (its counts stay)."""
    from hub.ops import metrics

    metrics.process_ended(worker.pid)


def stopped(server):
    """gunicorn's ``on_exit`` hook: the metrics' folder goes, if this master made it."""
    for folder in _own_metrics_folder:
        shutil.rmtree(folder, ignore_errors=True)


class Logger(GunicornLogger):
    """gunicorn's logger, whose own lines (workers booting, stopping, timing out) go through
    the hub's logging (hub.ops.logs: stderr, ``HUB_LOG_FORMAT``) at gunicorn's ``--log-level``,
    which the hub's request lines follow too. gunicorn's access log (``--access-logfile``) is
    left as gunicorn makes it: off unless asked for, the hub logging every request itself."""

    def setup(self, cfg):
        from hub.config import log_format
        from hub.ops import logs

        super().setup(cfg)
        if cfg.errorlog == "-":
            for handler in list(self.error_log.handlers):
                if getattr(handler, "_gunicorn", False):
                    self.error_log.removeHandler(handler)
            self.error_log.propagate = True
        logs.configure(log_format(), self.loglevel)


class ReadTimedOut(NoMoreData, TimeoutError):
    """The client sent nothing for ``read_timeout`` seconds. gunicorn closes the connection
    quietly when reading the headers raises it, as it does when a client goes away."""


class _Conn(TConn):
    """A connection whose reads wait at most ``read_timeout`` seconds for data."""

    read_timeout = None

    def init(self):
        # Called on the worker thread before each request, once the socket is blocking.
        super().init()
        self.sock.settimeout(self.read_timeout)
        unreader = getattr(self.parser, "unreader", None)  # none on an HTTP/2 connection
        if unreader is not None and "chunk" not in vars(unreader):
            unreader.chunk = _timing_out(unreader.chunk)


def _timing_out(read):
    def chunk(size_hint=None):
        try:
            return read(size_hint)
        except TimeoutError as exc:
            raise ReadTimedOut() from exc

    return chunk


class _TimedInput:
    """``wsgi.input``, whose reads raise ``RequestTimeout`` (408) when the client stalls."""

    def __init__(self, stream):
        self.stream = stream
        self.timed_out = False

    def _call(self, name, *args):
        try:
            return getattr(self.stream, name)(*args)
        except TimeoutError as exc:
            self.timed_out = True
            raise RequestTimeout() from exc

    def read(self, *args):
        return self._call("read", *args)

    def readline(self, *args):
        return self._call("readline", *args)

    def readlines(self, *args):
        return self._call("readlines", *args)

    def __iter__(self):
        return iter(self.readline, b"")


def timed_input(app):
    """Wrap a WSGI ``app``: a stalled body is a 408, and the connection closes after it (the
    rest of the body will not come)."""

    def serve(environ, start_response):
        stream = environ["wsgi.input"] = _TimedInput(environ["wsgi.input"])

        def respond(status, headers, exc_info=None):
            # gunicorn drops an application's Connection header; its response says close.
            response = getattr(start_response, "__self__", None)
            if stream.timed_out and hasattr(response, "force_close"):
                response.force_close()
            return start_response(status, headers, exc_info)

        return app(environ, respond)

    return serve


class Worker(ThreadWorker):
    """gunicorn's ``gthread`` worker with the read timeout above (seconds)."""

    read_timeout = 10.0

    def load_wsgi(self):
        super().load_wsgi()
        self.wsgi = timed_input(self.wsgi)

    def accept(self, listener):
        # gunicorn's, making our connections.
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        client_sock.setblocking(True)
        conn = _Conn(self.cfg, client_sock, client_addr, listener.getsockname())
        conn.read_timeout = self.read_timeout
        self.enqueue_req(conn)

    def handle(self, conn):
        keep = super().handle(conn)
        if keep is False:
            # gunicorn would close it on the worker's main thread, which lingers up to 2 s for
            # the client to close its side while every other connection of the worker waits.
            conn.close(graceful=True)
        return keep
