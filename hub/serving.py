"""The gunicorn worker the hub is served with (deploy/gunicorn.conf.py): gunicorn's threaded
worker, with deadlines on reading a request so that a slow or stalled client costs one
connection and, for a bounded time, one thread, never a whole worker.

* The request line and headers must arrive within ``header_timeout`` seconds of a thread
  taking the connection up (its first byte, or gunicorn's 5 s wait for one); a client that
  stalls is disconnected.
* The body must arrive within ``body_timeout`` seconds of the headers, extended by one second
  for every ``body_min_rate`` bytes received (the rule of Apache's mod_reqtimeout). When it
  does not, the application's read of the body raises werkzeug's ``RequestTimeout`` and the
  client is answered 408, then disconnected.

A connection that ends is closed on its thread, not on the worker's main thread, where gunicorn
would wait up to 2 s for the client to close its side while every other connection waits.

gunicorn answers with ``Server: gunicorn``; the hub's answers name no server software."""

import errno
import time

import gunicorn.http.wsgi
from gunicorn.http.errors import NoMoreData
from gunicorn.workers.gthread import TConn, ThreadWorker
from werkzeug.exceptions import RequestTimeout

SERVER = "hub"
gunicorn.http.wsgi.SERVER = SERVER


class ReadTimedOut(NoMoreData, TimeoutError):
    """The client did not send its request in time. gunicorn closes the connection without a
    word when reading the headers raises it, and stops draining an unread body."""


class _Conn(TConn):
    """A connection whose reads end at ``deadline``; ``Worker`` moves the deadline."""

    deadline = None
    min_rate = None

    def init(self):
        super().init()
        unreader = getattr(self.parser, "unreader", None)  # none on an HTTP/2 connection
        if unreader is not None and not isinstance(unreader.chunk, _Deadline):
            unreader.chunk = _Deadline(self, unreader)

    def start(self, timeout, min_rate=None):
        self.deadline = time.monotonic() + timeout
        self.min_rate = min_rate


class _Deadline:
    """The unreader's ``chunk``, bounded by its connection's deadline."""

    def __init__(self, conn, unreader):
        self.conn = conn
        self.sock = unreader.sock
        self.read = unreader.chunk

    def __call__(self, size_hint=None):
        if self.conn.deadline is None:
            return self.read(size_hint)
        remaining = self.conn.deadline - time.monotonic()
        if remaining <= 0:
            raise ReadTimedOut()
        self.sock.settimeout(remaining)
        try:
            data = self.read(size_hint)
        except TimeoutError as exc:
            raise ReadTimedOut() from exc
        finally:
            self.sock.settimeout(None)
        if self.conn.min_rate:
            self.conn.deadline += len(data) / self.conn.min_rate
        return data


class _TimedInput:
    """``wsgi.input``, whose reads raise werkzeug's ``RequestTimeout`` (408) when the client
    stalls, which the application answers like any other HTTP error."""

    def __init__(self, stream):
        self.stream = stream

    def _call(self, name, *args):
        try:
            return getattr(self.stream, name)(*args)
        except ReadTimedOut as exc:
            raise RequestTimeout() from exc

    def read(self, *args):
        return self._call("read", *args)

    def readline(self, *args):
        return self._call("readline", *args)

    def readlines(self, *args):
        return self._call("readlines", *args)

    def __iter__(self):
        return iter(self.readline, b"")


def _timed_input(app):
    def serve(environ, start_response):
        environ["wsgi.input"] = _TimedInput(environ["wsgi.input"])
        return app(environ, start_response)

    return serve


class Worker(ThreadWorker):
    """gunicorn's ``gthread`` worker with the deadlines above (seconds; bytes per second)."""

    header_timeout = 10.0
    body_timeout = 20.0
    body_min_rate = 500

    def load_wsgi(self):
        super().load_wsgi()
        self.wsgi = _timed_input(self.wsgi)

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        client_sock.setblocking(True)
        self.enqueue_req(_Conn(self.cfg, client_sock, client_addr, listener.getsockname()))

    def handle(self, conn):
        if isinstance(conn, _Conn):
            conn.start(self.header_timeout)
        keep = super().handle(conn)
        if keep is False:
            # gunicorn would close it on the worker's main thread, which lingers up to 2 s for
            # the client to close its side, holding up every other connection of the worker.
            conn.close(graceful=True)
        return keep

    def handle_request(self, req, conn):
        if isinstance(conn, _Conn):
            conn.start(self.body_timeout, self.body_min_rate)
        return super().handle_request(req, conn)
