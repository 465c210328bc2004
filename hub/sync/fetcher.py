"""The fetcher: the only way the hub reaches a partner's server.

* http and https only; never an address on this machine or its private networks, checked on
  the address actually connected to, on every redirect too (``hub.sync.guard``).
* A total deadline per response, however the server sends it: when it passes, the socket is shut
  from a watchdog thread, so a server trickling a byte a second is cut off too.
* A size cap, checked on Content-Length and while reading.
* Conditional GET: the ETag and the Last-Modified date are sent back separately; a 304 is
  reported as "not modified" and the caller writes nothing.
* Retries with backoff on timeouts, connection failures, bodies cut short (fewer bytes than the
  ``Content-Length`` announced, or a chunked body without its end) and 5xx answers; a body cut
  short that is still short on the last attempt fails with that said.
* ``Retry-After`` on a 429 or 503 is honoured, in seconds or as an HTTP date, up to
  ``MAX_RETRY_AFTER``: a wait of at most ``WAIT_RETRY_AFTER`` seconds that fits in the deadline is
  waited out inside the fetch; a longer one raises ``RetryLater``, which carries the moment the
  partner named, and the pipeline schedules the source's next run then.
"""

import contextlib
import hashlib
import io
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.exceptions import IncompleteRead, ProtocolError

from hub.sync.guard import (
    AddressGuard,
    BlockedAddress,
    FetchError,
    GuardedAdapter,
    watch,
)

USER_AGENT = "OCOPExchangeHub/0.1 (partner sync; +https://github.com/ocop-network/hub)"
MAX_REDIRECTS = 5
SPOOL_BYTES = 1024 * 1024  # bodies larger than this go to a temporary file
# A partner's Retry-After (429, 503) is followed up to this long; a later moment is cut to it, so
# that a mistaken or hostile header cannot stop a source for days.
MAX_RETRY_AFTER = timedelta(hours=1)
# A Retry-After this short (seconds) is waited out inside the fetch, if the deadline allows.
WAIT_RETRY_AFTER = 5


class RetryLater(FetchError):
    """The partner asked to be asked again later (429 or 503 with ``Retry-After``):
    ``retry_at`` is that moment (a UTC datetime, at most ``MAX_RETRY_AFTER`` away)."""

    def __init__(self, message, url, retry_at, **params):
        super().__init__(message, url, code="retry_later", at=retry_at.isoformat(), **params)
        self.retry_at = retry_at


@dataclass
class Response:
    """A fetched document. Its body is spooled to a temporary file past 1 MiB, so a large
    partner file is read from disk, a line at a time, not held in memory."""

    def __init__(self, url, status, headers, body=None, not_modified=False, digest=None):
        self.url, self.status, self.headers, self.not_modified = url, status, headers, not_modified
        self.body = body if body is not None else io.BytesIO()
        self.digest = digest  # SHA-256 of the body, as received

    def close(self):
        self.body.close()

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()

    @property
    def etag(self):
        return self.headers.get("etag")

    @property
    def last_modified(self):
        return self.headers.get("last-modified")

    @property
    def content(self):
        self.body.seek(0)
        return self.body.read()

    def text(self):
        """The whole body as text: UTF-8, with or without a byte-order mark."""
        try:
            return self.content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FetchError(
                f"the document is not UTF-8 (byte {exc.start})",
                self.url,
                code="not_utf8",
                byte=exc.start,
            ) from None

    def lines(self):
        """The body as a text stream (UTF-8, BOM dropped) for reading bit by bit; a decoding
        error surfaces as ``UnicodeDecodeError`` where it is met."""
        self.body.seek(0)
        return io.TextIOWrapper(_Unclosable(self.body), encoding="utf-8-sig", newline="")


class _Unclosable(io.RawIOBase):
    """Lets a TextIOWrapper read the spooled body without closing it when it goes."""

    def __init__(self, inner):
        self.inner = inner

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass
class Fetcher:
    """Fetches partner documents under the rules above; one per sync run."""

    allow: list = field(default_factory=list)
    deadline: float = 60.0  # seconds for one response, redirects and retries included
    max_bytes: int = 50 * 1024 * 1024
    attempts: int = 3
    backoff: float = 1.0  # seconds before the second attempt; doubled for each one after
    user_agent: str = USER_AGENT

    def __post_init__(self):
        self.guard = AddressGuard(self.allow)
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy from the environment may bypass the guard
        self.adapter = GuardedAdapter(self.guard)
        self.session.mount("http://", self.adapter)
        self.session.mount("https://", self.adapter)

    def close(self):
        self.session.close()

    def get(self, url, etag=None, last_modified=None, headers=None, accept=()):
        """GET ``url``; with ``etag``/``last_modified`` from the last run, conditionally.
        ``accept``: 4xx statuses answered as a ``Response`` (the caller reads them) rather
        than raised."""
        extra = {
            "User-Agent": self.user_agent,
            "Accept-Encoding": "gzip, deflate",
            **(headers or {}),
        }
        if etag:
            extra["If-None-Match"] = etag
        if last_modified:
            extra["If-Modified-Since"] = last_modified
        started = time.monotonic()
        delay = self.backoff
        last = None
        for attempt in range(1, self.attempts + 1):
            remaining = self.deadline - (time.monotonic() - started)
            if remaining <= 0:
                break
            wait = delay
            try:
                return self._get_once(url, extra, remaining, accept)
            except _AskedToWait as exc:
                elapsed = time.monotonic() - started
                if (
                    exc.seconds > WAIT_RETRY_AFTER
                    or attempt == self.attempts
                    or elapsed + exc.seconds >= self.deadline
                ):
                    raise RetryLater(
                        f"the server answered {exc.status} and asked to be asked again "
                        f"at {exc.retry_at:%Y-%m-%d %H:%M:%S} UTC",
                        url,
                        exc.retry_at,
                        status=exc.status,
                    ) from None
                last, wait = exc, exc.seconds
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
                ProtocolError,
                _Retryable,
            ) as exc:
                last = self._describe(exc)
                if attempt == self.attempts:
                    raise FetchError(str(last), url, code=last.code, **last.params) from None
            if time.monotonic() - started + wait >= self.deadline:
                break
            time.sleep(wait)
            delay *= 2
        suffix = f"; the last attempt: {last}" if last else ""
        raise FetchError(
            f"no answer within {self.deadline:g} s{suffix}",
            url,
            code="no_answer",
            seconds=self.deadline,
            last={"code": last.code, **last.params} if last else None,
        )

    @staticmethod
    def _describe(exc):
        """What went wrong with an attempt, as a ``_Retryable`` (its sentence, code, facts)."""
        if isinstance(exc, _Retryable | _AskedToWait):
            return exc
        if (short := _find(exc, IncompleteRead)) is not None:
            got, expected = short.partial, short.partial + short.expected
            return _Retryable(
                "the server sent fewer bytes than it announced "
                f"({got} of {expected}) and closed the connection",
                "short_read",
                got=got,
                expected=expected,
            )
        if isinstance(exc, requests.exceptions.ChunkedEncodingError | ProtocolError):
            return _Retryable(
                "the connection broke off before the end of the document", "broken_off"
            )
        name = exc.__class__.__name__
        return _Retryable(f"connection failed: {name}", "connection_failed", error=name)

    def post(self, url, body, headers=None, max_answer=64 * 1024):
        """POST ``body`` (bytes) to ``url`` once, under the same rules as ``get``: public
        addresses only unless allowed, the deadline for the whole answer; redirects are not
        followed (a 3xx is the answer). Returns the status code; ``FetchError`` when there is
        no answer (``BlockedAddress`` for an address the hub may not reach). At most
        ``max_answer`` bytes of the answer's body are read."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise _not_http(url)
        extra = {"User-Agent": self.user_agent, "Content-Type": "application/json"}
        extra.update(headers or {})
        budget = self.deadline

        def send():
            with self.session.post(
                url,
                data=body,
                headers=extra,
                stream=True,
                allow_redirects=False,
                timeout=(min(10, budget), budget),
            ) as response:
                read = 0
                for chunk in response.iter_content(16 * 1024):
                    read += len(chunk)
                    if read >= max_answer:
                        break
                return response.status_code

        try:
            return self._watched(url, budget, send)
        except requests.RequestException as exc:
            said = self._describe(exc)
            raise FetchError(str(said), url, code=said.code, **said.params) from None

    def _get_once(self, url, headers, budget, accept=()):
        return self._watched(url, budget, lambda: self._follow(url, headers, budget, accept))

    def _watched(self, url, budget, call):
        """``call()`` with its sockets shut by a watchdog once ``budget`` seconds pass."""
        sockets = []
        watch.sockets, watch.budget = sockets, budget
        expired = threading.Event()

        def shut():
            expired.set()
            for sock in list(sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        watchdog = threading.Timer(budget, shut)
        watchdog.daemon = True
        watchdog.start()
        try:
            return call()
        except (requests.RequestException, OSError, FetchError) as exc:
            if expired.is_set():
                raise FetchError(
                    f"no complete answer within {self.deadline:g} s",
                    url,
                    code="too_slow",
                    seconds=self.deadline,
                ) from None
            if (blocked := _find(exc, BlockedAddress)) is not None:
                raise blocked from None
            raise
        finally:
            watchdog.cancel()
            watch.sockets = watch.budget = None
            # No connection outlives its fetch: a pooled one would escape the next watchdog.
            self.adapter.poolmanager.clear()

    def _follow(self, url, headers, budget, accept=()):
        for _hop in range(MAX_REDIRECTS + 1):
            if urlsplit(url).scheme not in ("http", "https"):
                raise _not_http(url)
            with self.session.get(
                url,
                headers=headers,
                stream=True,
                allow_redirects=False,
                timeout=(min(10, budget), budget),
            ) as response:
                if response.is_redirect:
                    url = urljoin(url, response.headers["location"])
                    continue
                return self._read(url, response, accept)
        raise FetchError(
            f"more than {MAX_REDIRECTS} redirects", url, code="redirects", count=MAX_REDIRECTS
        )

    def _read(self, url, response, accept=()):
        lowered = {k.lower(): v for k, v in response.headers.items()}
        if response.status_code == 304:
            return Response(url, 304, lowered, not_modified=True)
        if response.status_code in (429, 503):
            retry_at = retry_after(lowered.get("retry-after"))
            if retry_at is not None:
                raise _AskedToWait(response.status_code, retry_at)
        if response.status_code >= 500:
            status = response.status_code
            raise _Retryable(f"the server answered {status}", "http_status", status=status)
        if response.status_code >= 400 and response.status_code not in accept:
            status = response.status_code
            raise FetchError(
                f"the server answered {status}", url, code="http_status", status=status
            )
        length = lowered.get("content-length")
        if length and length.isdigit() and int(length) > self.max_bytes:
            raise self._too_large(url)
        body, size, digest = io.BytesIO(), 0, hashlib.sha256()
        try:
            for chunk in response.iter_content(64 * 1024):
                digest.update(chunk)
                size += len(chunk)
                if size > self.max_bytes:
                    raise self._too_large(url)
                if size > SPOOL_BYTES and isinstance(body, io.BytesIO):
                    spilled = tempfile.TemporaryFile()  # noqa: SIM115  (closed by Response.close)
                    spilled.write(body.getvalue())
                    body = spilled
                body.write(chunk)
        except BaseException:
            body.close()
            raise
        return Response(url, response.status_code, lowered, body, digest=digest.hexdigest())

    def _too_large(self, url):
        return FetchError(
            f"the document is larger than {self.max_bytes} bytes",
            url,
            code="too_large",
            bytes=self.max_bytes,
        )


def _not_http(url):
    return FetchError("only http and https addresses can be fetched", url, code="not_http")


class _Retryable(Exception):
    """A failed attempt worth another (a 5xx answer, a broken connection): its sentence, and
    its ``code`` and ``params`` for ``hub.sync.messages``."""

    def __init__(self, message, code, **params):
        super().__init__(message)
        self.code, self.params = code, params


class _AskedToWait(Exception):
    """A 429 or 503 with a usable ``Retry-After``."""

    def __init__(self, status, retry_at):
        self.status, self.retry_at = status, retry_at
        self.seconds = max(0.0, (retry_at - datetime.now(UTC)).total_seconds())
        super().__init__(f"the server answered {status} and asked to wait {self.seconds:.0f} s")
        self.code, self.params = "asked_to_wait", {"status": status, "seconds": round(self.seconds)}


def retry_after(value, now=None):
    """The moment a ``Retry-After`` header names (seconds, or an HTTP date), in UTC, no later than
    ``MAX_RETRY_AFTER`` from ``now`` and no earlier than ``now``; None if there is none or it
    cannot be read."""
    now = now or datetime.now(UTC)
    value = (value or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        moment = now + timedelta(seconds=min(int(value), MAX_RETRY_AFTER.total_seconds()))
    else:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if moment.tzinfo is None:  # "-0000": UTC, as RFC 5322 has it
            moment = moment.replace(tzinfo=UTC)
    return min(max(moment.astimezone(UTC), now), now + MAX_RETRY_AFTER)


def _find(exc, kind):
    """The first exception of ``kind`` in ``exc``'s chain of causes, or None."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None
