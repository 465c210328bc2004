"""The read API: lists with filters and opaque cursors, language views, the exchange format,
conditional GETs, and the changes feed followed by a client while writes go on."""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hub.accounts.models import User
from hub.db import utcnow
from hub.extensions import db
from hub.publishing import services
from hub.publishing.models import Entry
from tests.support import sample_entries


@pytest.fixture
def entries(app):
    with app.test_request_context("/"):
        return {kind: entry.id for kind, entry in sample_entries().items()}


def test_a_language_view_says_which_language_was_served(client, entries):
    policy = entries["policy"]
    ja = client.get(f"/api/v1/policies/{policy}?lang=ja").get_json()
    assert (ja["title"], ja["language"], ja["fallback"]) == ("一村一品プログラム", "ja", False)
    en = client.get(f"/api/v1/policies/{policy}?lang=en").get_json()
    assert (en["title"], en["language"], en["fallback"]) == (
        "Chương trình Mỗi xã một sản phẩm",
        "vi",
        True,
    )
    assert en["reference_number"] == "490/QĐ-TTg" and en["country"] == "VN"


def test_lang_all_gives_the_exchange_format_with_outdated_flags(app, client, entries):
    policy = entries["policy"]
    with app.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))
        services.save_text(vn, policy, "vi", {"title": "Chương trình OCOP (sửa đổi)"})
    record = client.get(f"/api/v1/policies/{policy}?lang=all").get_json()["record"]
    assert record["source_language"] == "vi"
    assert record["translations"]["vi"]["outdated"] is False
    assert record["translations"]["ja"] == {
        "title": "一村一品プログラム",
        "summary": "OCOPプログラムの承認。",
        "body": "決定490号。",
        "lessons": "",
        "outdated": True,
    }


def test_lists_page_with_an_opaque_cursor(app, client):
    with app.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))
        made = []
        for n in range(25):
            entry = services.create_entry(
                vn, "product", "en", {"title": f"Item {n}"}, {"product_group": "food"}
            )
            services.set_status(vn, entry.id, "published")
            made.append(entry.id)
    seen, url = [], "/api/v1/products?limit=10&group=food"
    while url:
        body = client.get(url).get_json()
        seen += [item["id"] for item in body["items"]]
        url = (
            f"/api/v1/products?limit=10&group=food&cursor={body['next_cursor']}"
            if body["next_cursor"]
            else None
        )
    assert seen == sorted(made, reverse=True)


@pytest.mark.parametrize(
    "query",
    ["lang=fr", "cursor=%%%", "limit=500", "stars=9", "group=gold", "country=VNM", "country=vn"],
)
def test_bad_parameters_get_the_json_error_shape(client, query):
    response = client.get(f"/api/v1/products?{query}")
    assert response.status_code == 422
    body = response.get_json()["error"]
    assert (body["code"], body["reason"]) == (422, "invalid_input") and body["details"]


def test_a_well_formed_country_code_with_nothing_filed_gives_an_empty_page(client, entries):
    for url in ("/api/v1/products?country=ZZ", "/api/v1/changes?country=TH"):
        response = client.get(url)
        assert response.status_code == 200 and response.get_json()["items"] == []
    assert client.get("/api/v1/products?country=VN").get_json()["items"]


def test_gets_are_cheap_to_poll(client, entries):
    url = f"/api/v1/policies/{entries['policy']}?lang=en"
    first = client.get(url)
    assert first.headers["ETag"] and first.headers["Access-Control-Allow-Origin"] == "*"
    assert "max-age=60" in first.headers["Cache-Control"]
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert client.get(url, headers={"If-Modified-Since": "not a date"}).status_code == 200


def test_countries_and_programmes(client):
    countries = client.get("/api/v1/countries?lang=ja").get_json()["items"]
    assert len(countries) == 43
    vn = next(c for c in countries if c["code"] == "VN")
    assert vn["name"] == "ベトナム" and vn["membership_status"] == "member"
    detail = client.get("/api/v1/countries/vn?lang=all").get_json()
    assert detail["name"] == {"vi": "Việt Nam", "en": "Vietnam", "ja": "ベトナム"}
    assert detail["membership_history"][0]["effective_on"] == "2019-04-17"
    assert (
        client.get("/api/v1/countries?status=member").get_json()["items"][0]["membership_status"]
        == "member"
    )
    assert client.get("/api/v1/countries/ZZ").get_json()["error"]["reason"] == "not_found"
    programmes = client.get("/api/v1/programmes?country=TH").get_json()["items"]
    assert [p["acronym"] for p in programmes] == ["OTOP"]


def _follow(client, since, copy, page_size):
    """Read the changes feed from ``since`` to the end into ``copy``; returns the new since."""
    while True:
        body = client.get(f"/api/v1/changes?since={since}&limit={page_size}").get_json()
        for item in body["items"]:
            if item["deleted"]:
                copy.pop(item["id"], None)
            else:
                copy[item["id"]] = item["record"]["translations"]
        since = body["next_since"]
        if not body["more"]:
            return since


def _server_copy():
    rows = db.session.scalars(
        select(Entry).where(Entry.deleted_dt.is_(None), Entry.status == "published")
    )
    return {e.id: {t.language: t.title for t in e.translations if t.title} for e in rows}


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["create", "edit", "translate", "publish", "archive", "delete", "poll"]),
        st.integers(min_value=0, max_value=50),
        st.integers(min_value=1, max_value=4),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=ACTIONS)
def test_a_client_following_the_changes_feed_ends_with_an_exact_copy(app, client, actions):
    copy, since = {}, 0
    with app.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))
        for action, pick, page_size in actions:
            ids = db.session.scalars(
                select(Entry.id).where(Entry.deleted_dt.is_(None)).order_by(Entry.id)
            ).all()
            target = ids[pick % len(ids)] if ids else None
            if action == "create" or target is None:
                entry = services.create_entry(vn, "policy", "en", {"title": f"Policy {pick}"}, {})
                services.set_status(vn, entry.id, "published")
            elif action == "edit":
                services.save_text(
                    vn,
                    target,
                    db.session.get(Entry, target).source_language,
                    {"title": f"Edited {pick}"},
                )
            elif action == "translate":
                services.save_text(vn, target, "ja", {"title": f"訳 {pick}"})
            elif action in ("publish", "archive"):
                services.set_status(vn, target, "published" if action == "publish" else "archived")
            elif action == "delete":
                services.delete_entry(vn, target)
            else:  # a client's poll between writes, with its own page size
                since = _follow(client, since, copy, page_size)
        _follow(client, since, copy, 3)
        expected = _server_copy()
    assert {k: {lang: t["title"] for lang, t in v.items()} for k, v in copy.items()} == expected


LANGS = ("vi", "en", "ja", "all")


def test_the_api_answers_429_with_retry_after_past_its_rate_limit(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    # Each a new question (the cache has none of them): each counts.
    statuses = [client.get(f"/api/v1/countries?lang={lang}").status_code for lang in LANGS]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/countries?status=member")
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"]["reason"] == "rate_limited"


def test_answers_from_the_cache_do_not_count_against_the_rate_limit(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    statuses = [client.get("/api/v1/countries").status_code for _ in range(10)]
    assert statuses == [200] * 10  # one computed, nine from the cache
    # The limit counts per endpoint: four new questions to another one, the fourth refused.
    codes = ("VN", "TH", "JP", "KR")
    statuses = [client.get(f"/api/v1/programmes?country={c}").status_code for c in codes]
    assert statuses == [200, 200, 200, 429]


def test_writes_through_the_api_follow_the_rules_of_the_pages(app, client, tokens):
    record = {
        "source_language": "vi",
        "status": "published",
        "translations": {"vi": {"title": "Chè Shan tuyết"}, "en": {"title": "Shan tuyet tea"}},
        "product_group": "beverages",
        "rating_scheme": "ocop",
        "stars": 4,
        "rated_on": "2025-03-01",
    }
    created = client.post("/api/v1/products", json=record, headers=tokens["VN"])
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    entry_id = body["id"]
    assert (body["country"], body["record"]["valid_until"]) == ("VN", "2028-03-01")
    assert (
        client.get(f"/api/v1/products/{entry_id}?lang=en").get_json()["title"] == "Shan tuyet tea"
    )

    patched = client.patch(
        f"/api/v1/products/{entry_id}",
        json={"stars": 5, "translations": {"vi": {"title": "Chè Shan tuyết cổ thụ"}}},
        headers=tokens["VN"],
    )
    assert patched.status_code == 200
    translations = patched.get_json()["record"]["translations"]
    assert (
        translations["vi"]["title"] == "Chè Shan tuyết cổ thụ"
        and translations["en"]["outdated"] is True
    )
    assert patched.get_json()["record"]["stars"] == 5

    # Another country's token cannot touch it.
    for method in ("patch", "delete"):
        response = getattr(client, method)(
            f"/api/v1/products/{entry_id}", json={"stars": 1}, headers=tokens["TH"]
        )
        assert response.status_code == 404
    assert client.get(f"/api/v1/products/{entry_id}?lang=all").get_json()["record"]["stars"] == 5

    assert client.delete(f"/api/v1/products/{entry_id}", headers=tokens["VN"]).status_code == 204
    assert client.get(f"/api/v1/products/{entry_id}").status_code == 404


@pytest.mark.parametrize(
    ("record", "field", "message"),
    [
        (
            {
                "source_language": "en",
                "translations": {"en": {"title": "x"}},
                "product_group": "food",
                "stars": 9,
                "rating_scheme": "ocop",
                "rated_on": "2025-01-01",
            },
            "stars",
            "格付けは1〜5つ星です。",
        ),
        (
            {
                "source_language": "en",
                "translations": {"en": {"title": "x"}},
                "product_group": "food",
                "rated_on": "someday",
            },
            "rated_on",
            "有効な日付ではありません。",
        ),
        (
            {
                "source_language": "en",
                "translations": {"en": {"title": ""}},
                "product_group": "food",
            },
            "title",
            "産品名は必須です。",
        ),
        (
            {
                "source_language": "en",
                "translations": {"en": {"title": "x"}},
                "product_group": "food",
                "colour": "red",
            },
            "colour",
            "不明な項目です。",
        ),
    ],
)
def test_invalid_writes_answer_422_per_field_in_the_callers_language(
    app, client, tokens, record, field, message
):
    before = client.get("/api/v1/products?lang=all").get_json()["items"]
    response = client.post(
        "/api/v1/products", json=record, headers={**tokens["VN"], "Accept-Language": "ja"}
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][field] == [message]
    assert client.get("/api/v1/products?lang=all").get_json()["items"] == before


def test_writes_need_a_token(client):
    response = client.post("/api/v1/policies", json={})
    assert response.status_code == 401


def test_details_and_lists_carry_last_modified(client, entries):
    url = f"/api/v1/products/{entries['product']}"
    first = client.get(url)
    assert first.headers["Last-Modified"]
    again = client.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "url",
    ["/api/v1/countries", "/api/v1/countries/VN", "/api/v1/programmes", "/api/v1/programmes/1",
     "/api/v1/products", "/api/v1/changes", "/api/v1/changes?since=1",
     "/api/v1/openapi.json", "/api/v1/schemas/fair.json", "/feeds/products.json",
     "/feeds/countries/VN/fairs.json", "/fairs.ics", "/countries/VN/fairs.ics"],
)  # fmt: skip
def test_every_read_carries_last_modified(client, entries, url):
    first = client.get(url)
    assert first.status_code == 200 and first.headers["Last-Modified"]
    again = client.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert again.status_code == 304
    # A malformed date is ignored: the whole answer again.
    assert client.get(url, headers={"If-Modified-Since": "yesterday"}).status_code == 200


@pytest.mark.dates
def test_a_list_is_modified_when_an_entry_leaves_it(app, client, time_machine, entries):
    """Last-Modified of a list is that of the newest change anywhere: an entry that leaves the
    list changes it, though every entry still shown is as old as before."""
    time_machine.move_to(utcnow(), tick=False)  # "an hour ago" stays an hour ago
    from sqlalchemy import update

    with app.test_request_context("/"):  # two products, written an hour ago
        vn = db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))
        other = services.create_entry(
            vn, "product", "en", {"title": "Fish sauce"}, {"product_group": "food"}
        )
        services.set_status(vn, other.id, "published")
        db.session.execute(update(Entry).values(updated_dt=utcnow() - timedelta(hours=1)))
        db.session.commit()
    stamp = client.get("/api/v1/products").headers["Last-Modified"]
    assert client.get("/api/v1/products", headers={"If-Modified-Since": stamp}).status_code == 304
    with app.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))
        services.delete_entry(vn, entries["product"])
    assert [p["id"] for p in client.get("/api/v1/products").get_json()["items"]] == [other.id]
    for url in ("/api/v1/products", "/api/v1/changes"):
        assert client.get(url, headers={"If-Modified-Since": stamp}).status_code == 200, url


def test_answers_are_gzipped_when_asked_for(client):
    import gzip
    import json

    plain = client.get("/api/v1/countries")
    zipped = client.get("/api/v1/countries", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
    assert json.loads(gzip.decompress(zipped.data)) == plain.get_json()
    assert len(zipped.data) < len(plain.data) / 3
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    again = client.get(
        "/api/v1/countries",
        headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]},
    )
    assert again.status_code == 304
