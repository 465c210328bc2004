"""What each request and each scheduler job leaves behind: an id, a count and a duration in
the metrics (hub.ops.metrics), and one log line (hub.ops.logs).

Requests are observed by WSGI middleware outside everything else (ProxyFix, the media files and
the answer replay, which answer many requests without Flask): every answer carries
``X-Request-ID`` — the client's own when it sent a sane one, else a new one — and is counted and
logged, replayed or not. Its route is the URL rule Flask matched (noted when the request ends),
the rule of the answer a replay repeats (``hub.cache.REPLAYED``), ``(unmatched)`` when no rule
matched (a 404, say) and ``(other)`` for what was answered before Flask otherwise.

The duration is until the answer is ready to be sent (the body of a streamed answer may take
longer to reach the client).
"""

import functools
import logging
import re
import secrets
import time

from flask import g, request

from hub.cache import REPLAYED
from hub.ops import metrics
from hub.ops.logs import request_id

ENVIRON_KEY = "hub.observed"
UNMATCHED = "(unmatched)"
OTHER = "(other)"
# An X-Request-ID taken as it is: short, and of characters safe in any log or header.
SANE_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,64}")

requests_log = logging.getLogger("hub.requests")
jobs_log = logging.getLogger("hub.jobs")


class Observed:
    """One request's facts, found as it is answered (in the WSGI environ, ``ENVIRON_KEY``; a
    copy of the environ shares it)."""

    __slots__ = ("id", "route", "status", "token_id", "user_id")

    def __init__(self, rid):
        self.id = rid
        self.route = self.status = self.user_id = self.token_id = None


def name_route(environ, route):
    """Note the route of a request answered before Flask (a media file)."""
    observed = environ.get(ENVIRON_KEY)
    if observed is not None:
        observed.route = route


class RequestObserver:
    """WSGI middleware: ``X-Request-ID``, the request's count and duration, its log line."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        rid = environ.get("HTTP_X_REQUEST_ID")
        if rid is None or not SANE_ID.fullmatch(rid):
            rid = secrets.token_hex(8)
        observed = environ[ENVIRON_KEY] = Observed(rid)
        header = ("X-Request-ID", rid)

        def start(status, headers, exc_info=None):
            observed.status = status
            # A new list: the answer cache keeps the one it was given.
            return start_response(status, [*headers, header], exc_info)

        token = request_id.set(rid)
        try:
            return self.wsgi_app(environ, start)
        finally:
            request_id.reset(token)
            self._done(environ, observed, time.perf_counter() - started)

    @staticmethod
    def _done(environ, observed, seconds):
        method = environ.get("REQUEST_METHOD", "")
        route = observed.route or environ.get(REPLAYED) or OTHER
        status = observed.status[:3] if observed.status else "500"  # raised, not answered
        metrics.count_request(route, method, status, seconds)
        if not requests_log.isEnabledFor(logging.INFO):
            return
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        duration_ms = round(seconds * 1000, 1)
        requests_log.info(
            "%s %s %s %s ms",
            method,
            path,
            status,
            duration_ms,
            extra={
                "request_id": observed.id,
                "method": method,
                "route": route,
                "path": path,
                "status": int(status),
                "duration_ms": duration_ms,
                "user_id": observed.user_id,
                "token_id": observed.token_id,
                "remote_addr": environ.get("REMOTE_ADDR"),
            },
        )


def init_app(app):
    """Observe every request to ``app``: call once every other middleware is in place."""
    app.teardown_request(_note_request)
    app.wsgi_app = RequestObserver(app.wsgi_app)


def _note_request(_exc=None):
    """What only Flask knows of the request: the rule it matched, who asked."""
    observed = request.environ.get(ENVIRON_KEY)
    if observed is None:  # a request context made without a request (tests, CLI)
        return
    rule = request.url_rule
    observed.route = rule.rule if rule is not None else UNMATCHED
    user = g.get("_login_user")  # only if the request loaded it: no query made here
    if user is not None and user.is_authenticated:
        observed.user_id = user.id
    token = g.get("api_token")
    if token is not None:
        observed.token_id = token.id


# Jobs this frequent log a line only when they fail or take this long: a line every few
# seconds from each would drown the others.
FREQUENT_SECONDS = 60
SLOW_SECONDS = 1.0


def observed_job(job_id, function, label=None, every=None):
    """``function`` as a scheduler job ``job_id``: counted and timed under ``label`` (the job's
    id unless given; one label for every source's job), one log line a run, at DEBUG for a job
    run more often than every ``FREQUENT_SECONDS`` that went well and quickly. A failure is
    logged with its traceback and goes no further (the scheduler would log it again)."""
    label = label or job_id
    quiet = every is not None and every < FREQUENT_SECONDS

    @functools.wraps(function)
    def run(*args):
        started = time.perf_counter()
        outcome, failure = "ok", None
        try:
            function(*args)
        except Exception as exc:
            outcome, failure = "error", exc
        seconds = time.perf_counter() - started
        metrics.count_job(label, outcome, seconds)
        level = logging.INFO
        if outcome == "error":
            level = logging.ERROR
        elif quiet and seconds < SLOW_SECONDS:
            level = logging.DEBUG
        if jobs_log.isEnabledFor(level):
            duration_ms = round(seconds * 1000, 1)
            jobs_log.log(
                level,
                "job %s %s in %s ms",
                job_id,
                outcome,
                duration_ms,
                exc_info=failure,
                extra={"job": job_id, "outcome": outcome, "duration_ms": duration_ms},
            )

    return run
