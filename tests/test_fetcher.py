"""The fetcher, against real servers on loopback."""

import contextlib
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from werkzeug import Response as WsgiResponse

from hub.sync.fetcher import (
    MAX_RETRY_AFTER,
    AddressGuard,
    BlockedAddress,
    Fetcher,
    FetchError,
    RetryLater,
    retry_after,
)

LOOPBACK = ["127.0.0.1", "::1"]


@pytest.fixture
def fetcher():
    f = Fetcher(allow=["127.0.0.1"], deadline=5, backoff=0.05, max_bytes=1000)
    yield f
    f.close()


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1",
     "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "224.0.0.1",
     "2002:a00:1::1", "2002:7f00:1::1", "fec0::1", "2001:0:4136:e378:8000:63bf:f5ff:fffe"],
)  # fmt: skip
def test_the_guard_refuses_addresses_that_are_not_public(address):
    with pytest.raises(BlockedAddress, match="not a public address"):
        AddressGuard().check("partner.example", address)


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "203.0.114.1"])
def test_the_guard_lets_public_addresses_through(address):
    AddressGuard().check("partner.example", address)


def test_the_allow_list_takes_hosts_and_networks():
    guard = AddressGuard(["intranet.example", "10.0.0.0/8"])
    guard.check("intranet.example", "192.168.1.5")
    guard.check("other.example", "10.9.9.9")
    with pytest.raises(BlockedAddress):
        guard.check("other.example", "192.168.1.5")


def test_loopback_is_refused_unless_allowed(httpserver):
    httpserver.expect_request("/feed").respond_with_data("hello")
    with pytest.raises(BlockedAddress, match="refusing to connect to"):
        Fetcher(deadline=5).get(httpserver.url_for("/feed"))
    assert httpserver.log == []  # nothing reached the server
    response = Fetcher(allow=["127.0.0.1"], deadline=5).get(httpserver.url_for("/feed"))
    assert (response.status, response.content) == (200, b"hello")
    assert httpserver.log[0][0].headers["User-Agent"].startswith("OCOPExchangeHub/")


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::1]:{port}/feed",
        "ftp://example.org/feed.csv",
        "file:///etc/passwd",
    ],
)
def test_a_redirect_to_a_forbidden_place_is_refused(httpserver, fetcher, target):
    httpserver.expect_request("/start").respond_with_data(
        "", status=302, headers={"Location": target.format(port=httpserver.port)}
    )
    httpserver.expect_request("/feed").respond_with_data("secret")
    with pytest.raises(FetchError) as excinfo:
        fetcher.get(httpserver.url_for("/start"))
    assert "not a public address" in str(excinfo.value) or "only http and https" in str(
        excinfo.value
    )
    assert [r.path for r, _ in httpserver.log] == ["/start"]


def test_redirects_between_allowed_places_are_followed(httpserver, fetcher):
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": "/new"}
    )
    httpserver.expect_request("/new").respond_with_data("moved here")
    response = fetcher.get(httpserver.url_for("/old"))
    assert response.content == b"moved here" and response.url.endswith("/new")


def test_endless_redirects_are_cut(httpserver, fetcher):
    httpserver.expect_request("/loop").respond_with_data(
        "", status=302, headers={"Location": "/loop"}
    )
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetcher.get(httpserver.url_for("/loop"))


def test_an_oversized_document_is_refused(httpserver, fetcher):
    httpserver.expect_request("/big").respond_with_data("x" * 1001)
    with pytest.raises(FetchError, match="larger than 1000 bytes"):
        fetcher.get(httpserver.url_for("/big"))

    def chunked(_request):
        return WsgiResponse((b"y" * 100 for _ in range(20)), direct_passthrough=True)

    httpserver.expect_request("/chunked").respond_with_handler(chunked)
    with pytest.raises(FetchError, match="larger than 1000 bytes"):
        fetcher.get(httpserver.url_for("/chunked"))


def test_conditional_get_sends_both_validators_and_reports_not_modified(httpserver, fetcher):
    httpserver.expect_request("/feed").respond_with_data(
        "v1", headers={"ETag": '"abc"', "Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT"}
    )
    first = fetcher.get(httpserver.url_for("/feed"))
    assert (first.etag, first.last_modified) == ('"abc"', "Wed, 01 Jan 2025 00:00:00 GMT")
    httpserver.clear()
    httpserver.expect_request("/feed").respond_with_data("", status=304)
    second = fetcher.get(
        httpserver.url_for("/feed"), etag=first.etag, last_modified=first.last_modified
    )
    assert second.not_modified and second.content == b""
    request = httpserver.log[0][0]
    assert request.headers["If-None-Match"] == '"abc"'
    assert request.headers["If-Modified-Since"] == "Wed, 01 Jan 2025 00:00:00 GMT"


def test_server_errors_are_retried_with_backoff(httpserver, fetcher):
    httpserver.expect_ordered_request("/flaky").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/flaky").respond_with_data("busy", status=502)
    httpserver.expect_ordered_request("/flaky").respond_with_data("finally")
    assert fetcher.get(httpserver.url_for("/flaky")).content == b"finally"
    assert len(httpserver.log) == 3


def test_a_server_that_keeps_failing_is_given_up(httpserver, fetcher):
    httpserver.expect_request("/down").respond_with_data("no", status=500)
    with pytest.raises(FetchError, match="the server answered 500"):
        fetcher.get(httpserver.url_for("/down"))
    assert len(httpserver.log) == 3


def test_client_errors_are_not_retried(httpserver, fetcher):
    httpserver.expect_request("/gone").respond_with_data("no", status=404)
    with pytest.raises(FetchError, match="the server answered 404"):
        fetcher.get(httpserver.url_for("/gone"))
    assert len(httpserver.log) == 1


def test_text_is_utf8_with_or_without_a_byte_order_mark(httpserver, fetcher):
    httpserver.expect_request("/bom").respond_with_data("\ufeffViệt Nam".encode())
    assert fetcher.get(httpserver.url_for("/bom")).text() == "Việt Nam"
    httpserver.expect_request("/latin1").respond_with_data("café".encode("latin-1"))
    with pytest.raises(FetchError, match="not UTF-8"):
        fetcher.get(httpserver.url_for("/latin1")).text()


@pytest.fixture
def trickling_server():
    """A server that sends its headers, then one byte a second, for ever (well, 30 s)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                for _ in range(30):
                    if stop.wait(1):
                        break
                    try:
                        conn.sendall(b"x")
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/slow"
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_a_trickling_server_is_cut_off_at_the_deadline(trickling_server):
    fetcher = Fetcher(allow=["127.0.0.1"], deadline=2, attempts=1)
    started = time.monotonic()
    with pytest.raises(FetchError, match="no complete answer within 2 s"):
        fetcher.get(trickling_server)
    assert time.monotonic() - started < 4


@pytest.fixture
def keepalive_then_trickle():
    """A server that answers the first request on a connection at once (keeping it open) and
    any later request on the same connection one byte a second."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def handle(conn):
        with conn:
            conn.settimeout(30)
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"
            )
            try:
                conn.recv(65536)
            except OSError:
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            for _ in range(20):
                if stop.wait(1):
                    return
                try:
                    conn.sendall(b"x")
                except OSError:
                    return

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/page"
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_the_deadline_holds_for_every_fetch_of_a_run(keepalive_then_trickle):
    """A second fetch never rides on a connection the watchdog does not see."""
    fetcher = Fetcher(allow=["127.0.0.1"], deadline=2, attempts=1)
    started = time.monotonic()
    for _ in range(2):
        try:
            assert fetcher.get(keepalive_then_trickle).content == b"ok"
        except FetchError as exc:
            assert "within 2 s" in str(exc)
    assert time.monotonic() - started < 5


class RawServer:
    """A loopback server that answers each connection with ``replies`` in turn (raw bytes, then
    the connection is closed), the last one for every connection after."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/feed.csv"
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                reply = self.replies[min(self.connections, len(self.replies) - 1)]
                self.connections += 1
                conn.sendall(reply)

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread waiting in accept()
        self.sock.close()
        self.thread.join(5)


SHORT = b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: 1000\r\n\r\n0123456789"
WHOLE = b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: 10\r\n\r\n0123456789"


def test_a_body_shorter_than_announced_is_retried_then_fails_saying_so(fetcher):
    server = RawServer(SHORT)
    try:
        with pytest.raises(FetchError) as excinfo:
            fetcher.get(server.url)
    finally:
        server.close()
    assert str(excinfo.value) == (
        "the server sent fewer bytes than it announced (10 of 1000) and closed the connection "
        f"({server.url})"
    )
    assert server.connections == fetcher.attempts  # retried like a connection failure


def test_a_body_cut_short_once_is_fetched_again(fetcher):
    server = RawServer(SHORT, WHOLE)
    try:
        response = fetcher.get(server.url)
    finally:
        server.close()
    assert (response.status, response.content, server.connections) == (200, b"0123456789", 2)


def test_a_chunked_body_without_its_end_fails_saying_so(fetcher):
    cut = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n"
    server = RawServer(cut)
    try:
        with pytest.raises(FetchError, match="the connection broke off before the end"):
            fetcher.get(server.url)
    finally:
        server.close()


@pytest.mark.dates
@pytest.mark.parametrize("status", [429, 503])
def test_a_long_retry_after_in_seconds_is_handed_back(httpserver, fetcher, status, instant):
    httpserver.expect_request("/feed").respond_with_data(
        "busy", status=status, headers={"Retry-After": "120"}
    )
    with pytest.raises(RetryLater) as excinfo:
        fetcher.get(httpserver.url_for("/feed"))
    assert excinfo.value.retry_at == instant + timedelta(seconds=120)
    assert f"the server answered {status} and asked to be asked again at " in str(excinfo.value)
    assert len(httpserver.log) == 1  # not asked again within the fetch


@pytest.mark.dates
def test_a_retry_after_date_is_followed_and_capped_at_an_hour(httpserver, fetcher, instant):
    in_ten_minutes = instant + timedelta(minutes=10)
    httpserver.expect_request("/date").respond_with_data(
        "", status=503, headers={"Retry-After": format_datetime(in_ten_minutes, usegmt=True)}
    )
    with pytest.raises(RetryLater) as excinfo:
        fetcher.get(httpserver.url_for("/date"))
    assert excinfo.value.retry_at == in_ten_minutes
    httpserver.expect_request("/days").respond_with_data(
        "", status=429, headers={"Retry-After": str(3 * 24 * 3600)}
    )
    with pytest.raises(RetryLater) as excinfo:
        fetcher.get(httpserver.url_for("/days"))
    assert excinfo.value.retry_at == instant + MAX_RETRY_AFTER


def test_a_short_retry_after_is_waited_out(httpserver, fetcher):
    httpserver.expect_ordered_request("/feed").respond_with_data(
        "", status=503, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request("/feed").respond_with_data("hello")
    started = time.monotonic()
    response = fetcher.get(httpserver.url_for("/feed"))
    assert (response.status, response.content) == (200, b"hello")
    assert time.monotonic() - started >= 0.9


def test_a_429_without_retry_after_fails_at_once(httpserver, fetcher):
    httpserver.expect_request("/feed").respond_with_data("", status=429)
    with pytest.raises(FetchError, match="the server answered 429") as excinfo:
        fetcher.get(httpserver.url_for("/feed"))
    assert not isinstance(excinfo.value, RetryLater)
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", datetime(2027, 1, 1, 12, tzinfo=UTC)),
        ("90", datetime(2027, 1, 1, 12, 1, 30, tzinfo=UTC)),
        ("999999999999", datetime(2027, 1, 1, 13, tzinfo=UTC)),  # an hour at most
        ("Fri, 01 Jan 2027 12:20:00 GMT", datetime(2027, 1, 1, 12, 20, tzinfo=UTC)),
        ("Fri, 01 Jan 2027 21:20:00 +0900", datetime(2027, 1, 1, 12, 20, tzinfo=UTC)),
        ("Fri, 01 Jan 2027 12:20:00 -0000", datetime(2027, 1, 1, 12, 20, tzinfo=UTC)),
        ("Thu, 31 Dec 2026 12:00:00 GMT", datetime(2027, 1, 1, 12, tzinfo=UTC)),  # past: now
        ("Sat, 02 Jan 2027 12:00:00 GMT", datetime(2027, 1, 1, 13, tzinfo=UTC)),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("١٢", None),
        ("Fri, 99 Foo 2027", None),
    ],
)
def test_retry_after_values(value, expected):
    assert retry_after(value, now=datetime(2027, 1, 1, 12, tzinfo=UTC)) == expected
