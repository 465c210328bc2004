"""The lists' fragments (``hub.cache.fragments``): the cards of the public lists and the items
of the API's lists, kept per entry under its change number, are what the entry shows now, in
the language, on the day and under the root URL asked, and the lists made of them are those the
entries themselves would make."""

import json
from datetime import UTC, datetime, time, timedelta

import pytest
from flask import jsonify
from sqlalchemy import event, select

from hub.accounts.models import User
from hub.api.views import entries_media, entry_view
from hub.cache import fragments
from hub.db import utcnow
from hub.extensions import db
from hub.publishing import queries, services
from tests.support import sample_entries

LISTS = (
    "/en/products",
    "/vi/products?country=VN&stars=3",
    "/ja/policies",
    "/en/experiences?q=pilot",
    "/api/v1/products?lang=ja",
    "/api/v1/policies?lang=vi&country=VN",
    "/api/v1/experiences?lang=all",
    "/api/v1/products?lang=en&q=ch%C3%A8",
)


class TextReads:
    """Counts the statements that read the entries' texts (what a kept fragment spares)."""

    def __init__(self, app):
        self.engine = db.binding(app).engine
        self.count = 0

    def _seen(self, _conn, _cursor, statement, *_args):
        if "FROM entry_translation" in statement and "SAVEPOINT" not in statement:
            self.count += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)


@pytest.fixture
def no_answers(app, monkeypatch):
    """The answer cache off: every request is made again, from the fragments."""
    monkeypatch.delitem(app.extensions, "hub.answers")


def _coordinator():
    return db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))


@pytest.mark.parametrize("url", LISTS)
def test_a_list_made_of_kept_fragments_is_the_list_itself(app, client, no_answers, url):
    with app.test_request_context("/"):
        sample_entries()
    first = client.get(url)
    assert first.status_code == 200
    with TextReads(app) as reads:
        again = client.get(url)  # every fragment kept
    assert again.data == first.data
    assert reads.count == 0 or "q=" in url  # a list narrowed by words reads the texts' index
    fragments_cache = app.extensions.pop("hub.fragments")
    try:
        assert client.get(url).data == first.data  # made without the fragment cache
    finally:
        app.extensions["hub.fragments"] = fragments_cache


def test_an_api_list_is_what_jsonify_writes_of_the_entries_views(app, client):
    with app.test_request_context("/"):
        sample_entries()
    answer = client.get("/api/v1/products?lang=vi")
    with app.test_request_context("/api/v1/products?lang=vi"):
        page = queries.public_list("product")
        media = entries_media(page.items)
        expected = jsonify(
            {"items": [entry_view(e, "vi", media) for e in page.items], "next_cursor": None}
        )
        assert answer.get_data(as_text=True) == expected.get_data(as_text=True)
    assert answer.mimetype == "application/json"
    assert json.loads(answer.data)["items"][0]["title"] == "Chè Thái Nguyên"


def test_a_kept_card_follows_its_entry(app, client, no_answers):
    with app.test_request_context("/"):
        product = sample_entries()["product"]
    assert "Chè Thái Nguyên" in client.get("/en/products").get_data(as_text=True)
    with app.test_request_context("/"):
        services.save_text(_coordinator(), product.id, "en", {"title": "Thai Nguyen tea"})
    page = client.get("/en/products").get_data(as_text=True)
    assert "Thai Nguyen tea" in page and "Chè Thái Nguyên" not in page
    assert "Chè Thái Nguyên" in client.get("/vi/products").get_data(as_text=True)
    api = client.get("/api/v1/products?lang=en").get_json()["items"]
    assert [item["title"] for item in api] == ["Thai Nguyen tea"]
    with app.test_request_context("/"):
        services.set_status(_coordinator(), product.id, "draft")
    assert "Thai Nguyen tea" not in client.get("/en/products").get_data(as_text=True)
    assert client.get("/api/v1/products?lang=en").get_json()["items"] == []


def test_a_kept_card_is_the_days(app, client, no_answers, time_machine):
    """A rating's expiry shows on the card the day it comes, though the entry did not change."""
    time_machine.move_to(utcnow(), tick=False)
    with app.test_request_context("/"):
        product = sample_entries()["product"]
        valid_until = product.valid_until
    assert "rating expired" not in client.get("/en/products").get_data(as_text=True)
    time_machine.move_to(
        datetime.combine(valid_until + timedelta(days=1), time(12), UTC), tick=False
    )
    assert "rating expired" in client.get("/en/products").get_data(as_text=True)


def test_kept_fragments_are_the_languages_and_the_root_urls(app, client, no_answers):
    with app.test_request_context("/"):
        product = sample_entries()["product"]
    vi = client.get("/api/v1/products?lang=vi").get_json()["items"][0]
    ja = client.get("/api/v1/products?lang=ja").get_json()["items"][0]
    assert (vi["requested_language"], ja["requested_language"]) == ("vi", "ja")
    link = f"/products/{product.id}"
    assert f'href="/en{link}"' in client.get("/en/products").get_data(as_text=True)
    assert f'href="/ja{link}"' in client.get("/ja/products").get_data(as_text=True)
    mounted = client.get("/en/products", environ_overrides={"SCRIPT_NAME": "/hub"})
    assert f'href="/hub/en{link}"' in mounted.get_data(as_text=True)


def test_fragments_leave_out_what_is_gone_and_keep_what_was_made(app):
    made = []

    def make(ids):
        made.append(list(ids))
        return {i: f"<{i}>" for i in ids if i != 2}  # 2: unpublished between the two reads

    with app.test_request_context("/en/products"):
        keys = [(3, 30), (2, 20), (1, 10)]
        assert fragments("test", keys, make) == ["<3>", "<1>"]
        assert fragments("test", keys, make) == ["<3>", "<1>"]
        assert made == [[3, 2, 1], [2]]
        assert fragments("test", [(3, 31), (1, 10)], make) == ["<3>", "<1>"]  # 3 changed
        assert made[-1] == [3]
        assert fragments("test", [], make) == []
