"""A per-process cache of public answers: the API's reads, the feeds and the visitors' pages.

An answer is kept under its whole URL (scheme, host and root path included: a page for one host is
never served for another, nor an http page over https), its language and the *data version*: the
last change sequence number given to an entry and the registry's newest change, read in one small
query. Every write to an entry takes a new sequence number and every change to the registry moves
its stamps, so an answer is served from the cache only while nothing it could show has changed. A
process reads the version again after every commit of its own and otherwise at most once per
``ANSWER_CACHE_FRESH_MS`` (a second by default): a write in another process — another worker, the
scheduler — shows within that time. The minute is part of the key too, for what depends on the clock
(upcoming fairs, ratings still valid).

Signed-in users (whose pages show their own menus and forms), requests with messages waiting to
be shown, and anything but a 200 are never cached. The cache is bounded in entries and bytes and
forgets the least recently used first.

Two layers use it. ``cached`` keeps a view's answer inside Flask, for every visitor without a
session. ``AnswerReplay``, in front of Flask, keeps the whole finished answer (status, headers
and body, after every ``after_request`` hook) for requests that carry nothing personal — no
cookie, no credentials — and replays it, or a 304 for a matching ``If-None-Match`` or
``If-Modified-Since``, without dispatching the request through Flask at all: a partner polling
an unchanged list costs the hub a dictionary lookup.
"""

import functools
import hashlib
import threading
import time
import weakref
from collections import OrderedDict
from functools import wraps

from flask import current_app, request, session
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from werkzeug.http import is_resource_modified, remove_entity_headers

from hub import invalidation
from hub.extensions import db


class AnswerCache:
    def __init__(self, max_entries, max_bytes, fresh_seconds=1.0):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.fresh_seconds = fresh_seconds
        self.size = 0
        self._items = OrderedDict()
        self._memo, self._memo_version = {}, None  # ``remembered``'s values
        self._lock = threading.Lock()
        self._version = None
        self._version_read = 0.0
        self._generation = 0  # moved by each forget_version: a version read across one is not kept
        _CACHES.add(self)

    def version(self):
        """The data version, read again when older than ``fresh_seconds`` or after a commit
        in this process (or, with ``HUB_REDIS_URL``, in another: ``hub.invalidation``)."""
        now = time.monotonic()
        if self._version is None or now - self._version_read >= self.fresh_seconds:
            generation = self._generation
            version = data_version()
            if generation == self._generation:  # else forgotten meanwhile: read it again next
                self._version, self._version_read = version, now
            return version
        return self._version

    def fresh_version(self):
        """The data version if it is still fresh, else None (reading it needs the database)."""
        if self._version is not None and time.monotonic() - self._version_read < self.fresh_seconds:
            return self._version
        return None

    def forget_version(self):
        self._generation += 1
        self._version = None

    def get(self, key):
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key, item, size, replace=False):
        if size > self.max_bytes // 8:  # one huge answer must not empty the cache
            return
        with self._lock:
            if key in self._items:
                if not replace:
                    return
                self.size -= self._items.pop(key)[1]
            self._items[key] = (item, size)
            self.size += size
            while len(self._items) > self.max_entries or self.size > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self.size -= dropped

    def clear(self):
        with self._lock:
            self._items.clear()
            self._memo, self._memo_version = {}, None
            self.size = 0
        self.forget_version()

    MEMO_ENTRIES = 256

    def remembered(self, key, compute):
        """``compute()``, kept under ``key`` while the data version stays what it is: for a
        value many different answers need and that only the data (and what ``key`` holds
        besides, a date say) decides."""
        version = self.version()
        with self._lock:
            if self._memo_version != version:
                self._memo, self._memo_version = {}, version
            if key in self._memo:
                return self._memo[key]
        value = compute()
        with self._lock:
            if self._memo_version == version and len(self._memo) < self.MEMO_ENTRIES:
                self._memo[key] = value
        return value


_CACHES = weakref.WeakSet()


@event.listens_for(Session, "after_commit")
def _committed(_session):
    # This process wrote: its next answer reads the version again, whatever its age.
    for cache in _CACHES:
        cache.forget_version()


def init_app(app):
    entries = app.config["ANSWER_CACHE_ENTRIES"]
    if entries > 0:
        answers = app.extensions["hub.answers"] = AnswerCache(
            entries,
            app.config["ANSWER_CACHE_MB"] * 1024 * 1024,
            app.config["ANSWER_CACHE_FRESH_MS"] / 1000,
        )
        app.wsgi_app = AnswerReplay(app, app.wsgi_app, answers)
        invalidation.init_app(app, answers)


# Larger answers (pages of the changes feed, which followers walk once) are not kept inside
# Flask; the replay, in front of it, keeps them compressed.
LARGEST_KEPT = 256 * 1024

# Set in the WSGI environ by ``cached`` for a cacheable answer: the (minute, data version) it
# was made at, and the URL rule of its view.
REPLAYABLE = "hub.replayable"
REPLAYABLE_ROUTE = "hub.replayable_route"
# Set by ``AnswerReplay`` for an answer it replays: the URL rule of the view that made it, under
# which the request is counted and logged (hub.ops.observe).
REPLAYED = "hub.replayed"
# Told of every lookup that found an answer or made one to keep, as ``function(layer, hit)``
# (layer "replay" or "view"): hub.ops.metrics counts them. The cache imports none of them.
_lookup_observers = []


def lookup_observer(function):
    """Register ``function(layer, hit)``, called at each hit and each miss of the cache."""
    _lookup_observers.append(function)
    return function


def _looked_up(layer, hit):
    for function in _lookup_observers:
        function(layer, hit)


class AnswerReplay:
    """WSGI middleware: finished answers to anonymous GETs, replayed without Flask.

    Only requests without a cookie, credentials, ``If-Match`` or a range are looked up, under their
    path, query and everything in the request an answer may depend on (host, scheme and the server's
    address, the ``X-Forwarded-*`` and ``Forwarded`` headers even when no proxy is trusted, the
    accepted types, languages and encodings). Only answers that ``cached`` marked as cacheable, made
    for a GET with status 200 and setting no cookie but the page's language (``LANGUAGE_COOKIE``,
    the same for every visitor without cookies), are kept, with the minute and the data version
    they were made at, and without the headers of the moment (``Date``, left to the server as for
    every answer, and the rate limit's counts). A kept answer is replayed while the minute and the
    version are the same; the version is read only then, so a path that never had a cacheable answer
    (``/healthz``, static files) never touches the database.
    """

    VARY = (
        "HTTP_HOST",
        "wsgi.url_scheme",
        "SERVER_NAME",
        "SERVER_PORT",
        "SCRIPT_NAME",
        "HTTP_X_FORWARDED_HOST",
        "HTTP_X_FORWARDED_PROTO",
        "HTTP_X_FORWARDED_PORT",
        "HTTP_X_FORWARDED_PREFIX",
        "HTTP_FORWARDED",
        "HTTP_ACCEPT",
        "HTTP_ACCEPT_LANGUAGE",
        "HTTP_ACCEPT_ENCODING",
    )
    PERSONAL = ("HTTP_COOKIE", "HTTP_AUTHORIZATION", "HTTP_IF_MATCH", "HTTP_RANGE")
    CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")
    OWN = frozenset(
        ("date", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after")
    )

    # A kept answer gone stale is made again by one thread of the process while the others asking
    # for it wait and replay it (the minute turns, and every thread would otherwise make the
    # same search at once). Locks by stripe: bounded, whatever the number of paths.
    STRIPES = 64

    def __init__(self, app, wsgi_app, cache):
        self.app = app
        self.wsgi_app = wsgi_app
        self.cache = cache
        self._stripes = [threading.Lock() for _ in range(self.STRIPES)]

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD") or any(name in environ for name in self.PERSONAL):
            return self.wsgi_app(environ, start_response)
        key = (
            "replay",
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            *(environ.get(name) for name in self.VARY),
        )
        hit = self.cache.get(key)
        if hit is not None and hit[0][0] == self._moment():
            return self._hit(hit[0], environ, start_response)
        if method != "GET":
            return self.wsgi_app(environ, start_response)
        if hit is None:
            return self._make(environ, start_response, key, hit)
        with self._stripes[hash(key) % self.STRIPES]:
            again = self.cache.get(key)
            if again is not None and again is not hit and again[0][0] == self._moment():
                return self._hit(again[0], environ, start_response)
            return self._make(environ, start_response, key, hit)

    def _moment(self):
        return (int(time.time() // 60), self._version())

    def _make(self, environ, start_response, key, hit):
        """Flask's answer, kept when it may be."""
        # A kept answer gone stale (a new minute, new data) and asked for with a validator: a
        # partner polling a list each minute. Flask makes the whole answer again, to keep, and
        # the validator is checked against it here; else its 304 would keep nothing, and every
        # poll would go through Flask until somebody asked without a validator.
        refresh = hit is not None and any(name in environ for name in self.CONDITIONAL)
        inner = (
            {k: v for k, v in environ.items() if k not in self.CONDITIONAL} if refresh else environ
        )
        started = []

        def capture(status, headers, exc_info=None):
            started[:] = [status, headers]
            if refresh:
                return None  # answered below, once it is known whether it can be kept
            return start_response(status, headers, exc_info)

        answer = self.wsgi_app(inner, capture)
        made_at = inner.get(REPLAYABLE)
        kept = made_at is not None and started and started[0].startswith("200 ")
        headers = [(k, v) for k, v in started[1] if k.lower() not in self.OWN] if kept else []
        if not kept or any(
            name.lower() == "set-cookie" and not self._language_cookie(value)
            for name, value in headers
        ):
            if refresh:  # the whole answer: a server may always ignore a validator
                start_response(*started)
            return answer
        try:
            body = b"".join(answer)
        finally:
            if hasattr(answer, "close"):
                answer.close()
        not_modified = list(headers)
        remove_entity_headers(not_modified)
        find = dict((name.lower(), value) for name, value in headers).get
        etag, last_modified, route = find("etag"), find("last-modified"), inner[REPLAYABLE_ROUTE]
        item = (made_at, headers, not_modified, body, etag, last_modified, route)
        self.cache.put(key, item, len(body) + 64 * len(headers), replace=True)
        _looked_up("replay", False)
        if refresh:
            return self._replay(item, environ, start_response)
        return [body]

    def _language_cookie(self, header):
        """Whether ``header`` (a Set-Cookie value) only remembers the page's language, as every
        page does for a visitor without cookies: the same for everyone asking that path without
        a cookie (only those are looked up), so such an answer is kept all the same."""
        return header.startswith(self.app.config["LANGUAGE_COOKIE"] + "=")

    def _version(self):
        version = self.cache.fresh_version()
        if version is None:
            with self.app.app_context():
                version = self.cache.version()
        return version

    @staticmethod
    def _hit(item, environ, start_response):
        _looked_up("replay", True)
        environ[REPLAYED] = item[-1]
        return AnswerReplay._replay(item, environ, start_response)

    @staticmethod
    def _replay(item, environ, start_response):
        _made_at, headers, not_modified, body, etag, last_modified, _route = item
        if any(name in environ for name in AnswerReplay.CONDITIONAL) and not is_resource_modified(
            environ, etag, last_modified=last_modified
        ):
            start_response("304 NOT MODIFIED", list(not_modified))
            return []
        start_response("200 OK", list(headers))
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]


# What the data version is made of: each package whose data the answers show registers the
# scalar subqueries that move when its data changes (``version_part``). The cache imports none
# of them: they subscribe to it, as they subscribe to its invalidation after each commit.
_version_parts = []


def version_part(function):
    """Register ``function() -> [scalar subquery, …]`` (values that change whenever the
    package's data does: a counter, a newest stamp, a count) as part of the data version."""
    _version_parts.append(function)
    _version_query.cache_clear()
    return function


@functools.cache
def _version_query():
    return select(*(part for function in _version_parts for part in function()))


def data_version():
    """Everything a public answer is made from, summed up in one row: what each package
    registered with ``version_part`` (the entries' last change sequence number, the registry's
    newest changes, its facts' texts in every language: a translation shows on the pages as
    soon as it is saved)."""
    if not _version_parts:
        return ()
    return tuple(db.session.execute(_version_query()).one())


def _cacheable():
    if request.method not in ("GET", "HEAD"):
        return False
    if not request.cookies.get(current_app.config["SESSION_COOKIE_NAME"]):
        return True  # no session: nobody signed in, no messages waiting
    return not current_user.is_authenticated and not session.get("_flashes")


def _lookup():
    """``(cache, key, hit)`` for this request (``hit`` None when not cached), or None when it
    cannot be served from the cache; found once per request."""
    if "hub.answer_lookup" in request.environ:  # per request (g can outlive one)
        return request.environ["hub.answer_lookup"]
    cache = current_app.extensions.get("hub.answers")
    view = current_app.view_functions.get(request.endpoint)
    found = None
    if cache is not None and getattr(view, "answer_cache", False) and _cacheable():
        key = (
            request.endpoint,
            request.root_url,
            request.full_path,
            str(get_locale()),
            int(time.time() // 60),
            cache.version(),
        )
        found = (cache, key, cache.get(key))
    request.environ["hub.answer_lookup"] = found
    return found


def remembered(key, compute):
    """``AnswerCache.remembered`` of the app's answer cache (``compute()`` itself without
    one)."""
    cache = current_app.extensions.get("hub.answers")
    return compute() if cache is None else cache.remembered(key, compute)


def served_from_cache():
    """Whether this request's answer is in the cache: such an answer costs about what a
    refusal would, so the API's rate limit does not count it."""
    found = _lookup()
    return found is not None and found[2] is not None


def cached(view):
    """Serve the view's 200 answers from the cache while the data version stays the same."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        found = _lookup()
        if found is None:
            return view(*args, **kwargs)
        cache, key, hit = found
        request.environ[REPLAYABLE] = key[-2:]  # its 200s may be replayed before Flask, too
        request.environ[REPLAYABLE_ROUTE] = request.url_rule.rule
        _looked_up("view", hit is not None)
        if hit is not None:
            (body, content_type, last_modified, etag), _ = hit
            response = current_app.response_class(body, content_type=content_type)
            if last_modified:
                response.headers["Last-Modified"] = last_modified
            response.set_etag(etag)  # taken once, when the answer was cached
            return response
        response = current_app.make_response(view(*args, **kwargs))
        if (
            response.status_code == 200
            and not response.is_streamed
            and (response.content_length or 0) <= LARGEST_KEPT
        ):
            body = response.get_data()
            etag = hashlib.sha1(body).hexdigest()
            response.set_etag(etag)  # the same as the cached answer will carry
            item = (body, response.content_type, response.headers.get("Last-Modified"), etag)
            cache.put(key, item, len(body))
        return response

    wrapper.answer_cache = True
    return wrapper
