"""The cache of public answers: a repeated read costs one small query, and nothing is served
stale — not after a write in this process, nor after one in another process sharing the
database, nor to a signed-in user."""

import gzip
import threading
from datetime import UTC, date, datetime

import pytest
from flask import request_started
from sqlalchemy import event, select

from hub.accounts.models import User
from hub.cache import AnswerCache
from hub.db import upgrade
from hub.extensions import db
from hub.publishing import services
from hub.registry.seeding import seed_registry
from hub.registry.services import change_membership
from tests.support import fresh_database, make_test_app, sample_entries, sign_in


class Statements:
    """Counts the SQL statements the app runs."""

    def __init__(self, app):
        self.engine = db.binding(app).engine
        self.count = 0

    def _count(self, _conn, _cursor, statement, *_args):
        # The tests' savepoints (see conftest) are not the app's queries.
        if "SAVEPOINT" not in statement:
            self.count += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc):
        event.remove(self.engine, "before_cursor_execute", self._count)


def vn(app):
    return db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))


@pytest.mark.parametrize(
    "url", ["/api/v1/products?lang=ja", "/en/products", "/ja/countries/VN", "/vi/search?q=chè"]
)
def test_a_repeated_read_is_at_most_one_small_query(app, client, url, monkeypatch):
    with app.test_request_context("/"):
        sample_entries()
    monkeypatch.setattr(app.extensions["hub.answers"], "fresh_seconds", 60)  # a slow machine
    first = client.get(url)
    with Statements(app) as statements:
        again = client.get(url)  # the version read for the first answer is still fresh
    assert again.status_code == 200 and again.data == first.data
    assert statements.count == 0
    monkeypatch.setattr(app.extensions["hub.answers"], "fresh_seconds", 0)
    with Statements(app) as statements:
        assert client.get(url).data == first.data
    assert statements.count == 1  # the data version, nothing else


def test_a_write_is_seen_by_the_next_read(app, client):
    with app.test_request_context("/"):
        entries = sample_entries()
    before = client.get("/api/v1/products?lang=en").get_json()["items"]
    assert [p["title"] for p in before] == ["Chè Thái Nguyên"]
    with app.test_request_context("/"):
        services.save_text(vn(app), entries["product"].id, "en", {"title": "Thai Nguyen tea"})
    after = client.get("/api/v1/products?lang=en").get_json()["items"]
    assert [p["title"] for p in after] == ["Thai Nguyen tea"]
    with app.test_request_context("/"):
        services.delete_entry(vn(app), entries["product"].id)
    assert client.get("/api/v1/products?lang=en").get_json()["items"] == []
    assert "Thai Nguyen tea" not in client.get("/en/products").get_data(as_text=True)


def test_a_remembered_value_is_computed_once_per_data_version(app):
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    cache = app.extensions["hub.answers"]
    with app.test_request_context("/"):
        assert [cache.remembered("k", compute) for _ in range(3)] == [1, 1, 1]
        assert cache.remembered(("k", "another day"), compute) == 2
        services.create_entry(
            vn(app), "product", "en", {"title": "Lotus tea"}, {"product_group": "beverages"}
        )  # a commit: a new data version
        assert cache.remembered("k", compute) == 3
    cache.clear()
    with app.test_request_context("/"):
        assert cache.remembered("k", compute) == 4


def test_a_registry_change_is_seen_by_the_next_read(app, client):
    assert client.get("/api/v1/countries/TH").get_json()["membership_status"] == "member"
    assert "Suspended" not in client.get("/en/countries/TH").get_data(as_text=True)
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        change_membership("TH", "suspended", date(2026, 1, 5), "Lapsed")
    assert client.get("/api/v1/countries/TH").get_json()["membership_status"] == "suspended"
    assert "Suspended" in client.get("/en/countries/TH").get_data(as_text=True)


def test_signed_in_pages_are_never_served_from_the_cache(app, client):
    anonymous = client.get("/en/").get_data(as_text=True)
    assert "coordinator.vn@hub.test" not in anonymous
    sign_in(client, "coordinator.vn@hub.test")
    assert "coordinator.vn@hub.test" in client.get("/en/").get_data(as_text=True)
    other = app.test_client()
    assert "coordinator.vn@hub.test" not in other.get("/en/").get_data(as_text=True)


def test_a_write_in_another_process_is_seen(backend, tmp_path):
    """Two apps on one database stand for two worker processes: each has its own cache."""
    with fresh_database(backend, tmp_path) as url:
        reader, writer = make_test_app(url), make_test_app(url)
        try:
            with writer.app_context():
                upgrade(db.engine)
                seed_registry()
            client = reader.test_client()
            assert client.get("/api/v1/policies").get_json()["items"] == []
            with writer.test_request_context("/"):
                from hub.accounts.services import create_user

                create_user(
                    "coordinator.vn@hub.test", "correct horse battery staple", "coordinator", "VN"
                )
                sample_entries()
            titles = [
                p["title"] for p in client.get("/api/v1/policies?lang=vi").get_json()["items"]
            ]
            assert titles == ["Chương trình Mỗi xã một sản phẩm"]
        finally:
            for app in (reader, writer):
                db.binding(app).engine.dispose()


def test_a_write_another_process_commits_shows_within_the_freshness_time(app, client):
    """A commit in this process makes the next answer read the version again (the other tests
    show it); one made elsewhere — here straight on the database connection, not through this
    process's sessions — shows once the version read is older than ANSWER_CACHE_FRESH_MS."""
    from sqlalchemy import text

    cache = app.extensions["hub.answers"]
    cache.fresh_seconds = 60
    try:
        assert client.get("/api/v1/countries/TH").get_json()["membership_status"] == "member"
        connection = db.binding(app).sessionmaker.kw["bind"]  # the test's (see conftest)
        connection.execute(
            text("UPDATE country SET membership_status = 'suspended', updated_dt = :now"
                 " WHERE code = 'TH'"),
            {"now": "2030-01-01 00:00:00.000000"},
        )  # fmt: skip
        # Younger than the freshness time: the version read before is still used.
        assert client.get("/api/v1/countries/TH").get_json()["membership_status"] == "member"
        cache.fresh_seconds = 0  # as if the time had passed
        assert client.get("/api/v1/countries/TH").get_json()["membership_status"] == "suspended"
    finally:
        cache.fresh_seconds = app.config["ANSWER_CACHE_FRESH_MS"] / 1000


def test_the_cache_is_bounded_and_forgets_the_least_recently_used():
    cache = AnswerCache(max_entries=3, max_bytes=800)
    for key in "abc":
        cache.put(key, key, 10)
    cache.get("a")  # a is now the most recently used
    cache.put("d", "d", 10)
    assert cache.get("b") is None and cache.get("a") and cache.get("d")
    cache.put("big", "x", 101)  # more than an eighth of the bytes: not kept
    assert cache.get("big") is None
    for n in range(3):
        cache.put(n, n, 90)
    assert cache.size <= 800


class Dispatches:
    """Counts the requests Flask itself dispatched (the replay answers before Flask)."""

    def __init__(self, app):
        self.app = app
        self.count = 0

    def _started(self, _sender, **_extra):
        self.count += 1

    def __enter__(self):
        request_started.connect(self._started, self.app)
        return self

    def __exit__(self, *_exc):
        request_started.disconnect(self._started, self.app)


MOMENT = (
    "Date",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
    "X-Request-ID",  # each request's own (hub.ops.observe), replayed or not
)


def _headers(response):
    return sorted((k, v) for k, v in response.headers.items() if k not in MOMENT)


@pytest.mark.parametrize("encoding", ["gzip, deflate", None])
def test_an_anonymous_read_is_replayed_whole_without_flask(app, client, encoding):
    url = "/api/v1/countries?lang=all"
    headers = {"Accept-Encoding": encoding} if encoding else {}
    first = client.get(url, headers=headers)
    assert first.headers["X-RateLimit-Remaining"]  # counted: it was made
    with Dispatches(app) as dispatches, Statements(app) as statements:
        again = client.get(url, headers=headers)
        head = client.head(url, headers=headers)
    assert dispatches.count == 0 and statements.count == 0
    assert again.status_code == 200 and again.data == first.data
    assert _headers(again) == _headers(first)  # ETag, Vary, CORS, CSP, Last-Modified…
    assert "X-RateLimit-Remaining" not in again.headers  # not counted: no stale count shown
    assert len(again.headers.getlist("X-Request-ID")) == 1  # its own, not the first's too
    assert first.headers.get("Content-Encoding") == ("gzip" if encoding else None)
    assert head.status_code == 200 and head.data == b""
    assert _headers(head) == _headers(first)


def test_the_replay_answers_revalidation_as_flask_does(app, client):
    with app.test_request_context("/"):
        sample_entries()
    url = "/api/v1/products?lang=en"
    first = client.get(url)
    with_cookie = app.test_client()
    with_cookie.set_cookie("unrelated", "1")
    for condition in (
        {"If-None-Match": first.headers["ETag"]},
        {"If-Modified-Since": first.headers["Last-Modified"]},
    ):
        # Flask's own 304: a cookie keeps the request away from the replay.
        with Dispatches(app) as dispatches:
            flask_304 = with_cookie.get(url, headers=condition)
        assert dispatches.count == 1
        with Dispatches(app) as dispatches:
            replayed = client.get(url, headers=condition)
        assert dispatches.count == 0
        assert replayed.status_code == flask_304.status_code == 304
        assert replayed.data == b""
        assert _headers(replayed) == _headers(flask_304)
    stale = client.get(url, headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.data == first.data


def test_a_poll_with_a_validator_refreshes_a_stale_answer_for_the_next(app, client):
    """A partner polls with If-None-Match after the data changed (here a draft, which the list
    does not show): Flask makes the answer again once, and the next polls are replayed."""
    url = "/api/v1/products?lang=en"
    first = client.get(url)
    with app.test_request_context("/"):
        services.create_entry(
            vn(app), "product", "vi", {"title": "Bản nháp"}, {"product_group": "food"}
        )
    poll = {"If-None-Match": first.headers["ETag"]}
    with Dispatches(app) as dispatches:
        answers = [client.get(url, headers=poll) for _ in range(3)]
    assert dispatches.count == 1
    assert [a.status_code for a in answers] == [304, 304, 304]
    assert all(a.data == b"" and a.headers["ETag"] == first.headers["ETag"] for a in answers)
    # After a change the list shows, the same poll gets the new list, whole.
    with app.test_request_context("/"):
        sample_entries()
    changed = client.get(url, headers=poll)
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert changed.data == client.get(url).data and changed.get_json()["items"]


def test_answers_that_differ_by_request_are_kept_apart(client):
    url = "/api/v1/countries?lang=all"
    plain = client.get(url).data
    for encoding in ("gzip", None, "gzip", None):
        answer = client.get(url, headers={"Accept-Encoding": encoding} if encoding else {})
        assert answer.headers.get("Content-Encoding") == encoding
        assert (gzip.decompress(answer.data) if encoding else answer.data) == plain


def test_personal_or_cookie_setting_answers_go_through_flask(app, client):
    client.get("/api/v1/countries")
    with_cookie = app.test_client()
    with_cookie.set_cookie("session", "x")
    with Dispatches(app) as dispatches:
        with_cookie.get("/api/v1/countries")
        client.get("/api/v1/countries", headers={"Authorization": "Bearer nothing"})
    assert dispatches.count == 2
    # A page remembering the visitor's language sets a cookie that is the same for every
    # visitor without cookies: the page is replayed with it, and each visitor gets it.
    fresh = app.test_client()
    assert "hub_lang=ja" in fresh.get("/ja/countries/VN").headers.get("Set-Cookie", "")
    with Dispatches(app) as dispatches:
        again = app.test_client().get("/ja/countries/VN")
    assert dispatches.count == 0 and "hub_lang=ja" in again.headers.get("Set-Cookie", "")


def test_what_is_never_cached_does_not_touch_the_database(app, client):
    app.extensions["hub.answers"].forget_version()
    with Statements(app) as statements:
        assert client.get("/healthz").status_code == 200
        with client.get("/static/hub.css") as style:
            assert style.status_code == 200
    assert statements.count == 0


def test_a_stale_answer_is_made_once_while_the_others_asking_for_it_wait(
    deployed_app, time_machine
):
    """The minute turns with many visitors on one page: one thread makes it again and the
    others replay it, instead of every thread making the same page at once."""
    app, url = deployed_app, "/en/countries/VN"
    time_machine.move_to(datetime(2026, 5, 4, 10, 0, 5, tzinfo=UTC), tick=False)
    assert app.test_client(use_cookies=False).get(url).status_code == 200
    time_machine.move_to(datetime(2026, 5, 4, 10, 1, 5, tzinfo=UTC), tick=False)
    start, statuses = threading.Barrier(8), []

    def visit():
        visitor = app.test_client(use_cookies=False)
        start.wait(timeout=10)
        statuses.append(visitor.get(url).status_code)

    with Dispatches(app) as dispatches:
        threads = [threading.Thread(target=visit) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert statuses == [200] * 8
    assert dispatches.count == 1
