"""Dry runs: ``POST /api/v1/validate`` and the "Try it" button of a source's page answer what a
document would create, update, leave unchanged and refuse, and store nothing at all."""

import io
import json

import pytest
from sqlalchemy import func, select

from hub.extensions import db
from hub.publishing.models import ChangeCounter, Entry
from hub.sync import pipeline, services
from hub.sync.models import PartnerSource, RejectedRecord, SyncRun
from tests.support import csrf_token, sign_in
from tests.test_sync import CSV, CSV_SETTINGS, ICS

# P1 as synced, P2 changed, P3 still refused, P4 new, P5 refused too.
CSV_AGAIN = (
    "Mã,Tên sản phẩm,Mô tả,Nhóm,Sao,Ngày xếp hạng\n"
    "P1,Chè Tân Cương,Chè búp,beverages,4,2024-05-01\n"
    "P2,Mật ong bạc hà,Mật ong bạc hà Hà Giang,food,5,2024-06-01\n"
    "P3,Bánh gai,,food,7,2024-06-01\n"
    "P4,Cam Cao Phong,,food,3,2024-07-01\n"
    "P5,,Không tên,food,3,2024-07-01\n"
)
STARS = {
    "en": "A rating has 1 to 5 stars.",
    "vi": "Kết quả phân hạng có từ 1 đến 5 sao.",
    "ja": "格付けは1〜5つ星です。",
}


def product(title, stars=4):
    return {
        "source_language": "vi",
        "status": "published",
        "translations": {"vi": {"title": title}},
        "product_group": "food",
        "rating_scheme": "ocop",
        "stars": stars,
        "rated_on": "2025-03-01",
    }


pytestmark = pytest.mark.usefixtures("loopback_allowed")


def footprint(app):
    """What a dry run must not change: entries, runs, refused records, sources and the change
    counter."""
    with app.app_context():
        counts = [
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Entry, SyncRun, RejectedRecord, PartnerSource)
        ]
        return (*counts, db.session.scalar(select(ChangeCounter.value)))


def csv_source(app, httpserver, body=CSV):
    httpserver.expect_request("/p.csv").respond_with_data(body.encode())
    with app.test_request_context("/"):
        source = services.add_source("VN", "csv", httpserver.url_for("/p.csv"), CSV_SETTINGS).id
        run = pipeline.run_source(source)
        assert (run.created, run.rejected) == (2, 1)
    return source


def validate(client, headers, body, lang="en", **query):
    content_type = "application/json" if isinstance(body, dict) else "text/plain"
    data = json.dumps(body) if isinstance(body, dict) else body
    return client.post(
        "/api/v1/validate",
        data=data,
        content_type=content_type,
        query_string=query,
        headers={**headers, "Accept-Language": lang},
    )


def test_a_csv_against_its_source_counts_what_a_sync_would_do(app, client, tokens, httpserver):
    source = csv_source(app, httpserver)
    before = footprint(app)
    response = validate(client, tokens["VN"], CSV_AGAIN.encode(), source=source)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["counts"] == {
        "fetched": 5,
        "created": 1,
        "updated": 1,
        "unchanged": 1,
        "deleted": 0,
        "rejected": 2,
        "held": 0,
    }
    assert (body["stored"], body["source"], body["kind"], body["complete"]) == (
        False,
        source,
        "csv",
        True,
    )
    refused = {r["id"]: r["reasons"] for r in body["rejected"]}
    assert refused["P3"] == {"stars": [STARS["en"]]}
    assert "translations.vi.title" in refused["P5"]
    assert footprint(app) == before


def test_a_complete_snapshot_says_what_it_would_delete(app, client, tokens, httpserver):
    source = csv_source(app, httpserver)
    only_p1 = "\n".join(CSV.splitlines()[:2]) + "\n"
    before = footprint(app)
    body = validate(client, tokens["VN"], only_p1.encode(), source=source).get_json()
    assert (body["counts"]["unchanged"], body["counts"]["deleted"]) == (1, 1)
    # A document with no record would be held for review, as a sync would hold it.
    header = CSV.splitlines()[0] + "\n"
    body = validate(client, tokens["VN"], header.encode(), source=source).get_json()
    assert (body["counts"]["deleted"], body["counts"]["held"]) == (0, 2)
    assert footprint(app) == before


def test_the_same_csv_without_a_source_would_all_be_created(app, client, tokens):
    before = footprint(app)
    response = validate(
        client, tokens["VN"], CSV.encode(), kind="csv", settings=json.dumps(CSV_SETTINGS)
    )
    body = response.get_json()
    assert body["counts"]["created"] == 2 and body["counts"]["rejected"] == 1
    assert body["source"] is None
    assert footprint(app) == before


def test_an_exchange_document_against_the_countrys_pushes(app, client, tokens):
    pushed = {
        "records": [
            {"id": "a", "collection": "products", "record": product("Chè")},
            {"id": "b", "collection": "products", "record": product("Mật ong")},
            {"id": "c", "collection": "products", "record": product("Bánh")},
        ]
    }
    assert client.post("/api/v1/ingest", json=pushed, headers=tokens["VN"]).status_code == 200
    before = footprint(app)
    document = {
        "records": [
            {"id": "a", "collection": "products", "record": product("Chè")},
            {"id": "b", "collection": "products", "record": product("Mật ong rừng")},
            {"id": "c", "collection": "products", "deleted": True},
            {"id": "d", "collection": "products", "record": product("Cam")},
            {"id": "e", "collection": "products", "record": product("Bưởi", stars=9)},
            {"id": "a", "collection": "policies", "record": product("Chè")},
            {"id": "x" * 201, "collection": "products", "record": product("Dài")},
        ]
    }
    response = validate(client, tokens["VN"], document)
    body = response.get_json()
    assert body["counts"] == {
        "fetched": 7,
        "created": 1,
        "updated": 1,
        "unchanged": 1,
        "deleted": 1,
        "rejected": 3,
        "held": 0,
    }, body
    reasons = [r["reasons"] for r in body["rejected"]]
    assert reasons == [
        {"stars": [STARS["en"]]},
        {"collection": ["This id belongs to another collection already."]},
        {"id": ["A record needs an id of at most 200 characters."]},
    ]
    assert footprint(app) == before
    # Another country's token compares with its own pushes (none): all would be created.
    body = validate(client, tokens["TH"], document).get_json()
    assert (body["counts"]["created"], body["counts"]["rejected"], body["source"]) == (3, 3, None)
    assert footprint(app) == before  # no push source made for it either


def test_a_json_feed_is_checked_alone_without_its_next_pages(app, client, tokens):
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Partner",
        "language": "en",
        "items": [
            {"id": "a1", "title": "Silk village", "content_text": "Weavers."},
            {"id": "a2", "title": "", "content_text": "No title."},
        ],
        "next_url": "https://partner.example/feed2.json",
    }
    before = footprint(app)
    response = validate(
        client,
        tokens["VN"],
        json.dumps(feed).encode(),
        kind="jsonfeed",
        settings='{"collection": "experiences"}',
    )
    body = response.get_json()
    # An item without a title is taken, its title the start of its text (JSON Feed allows it).
    assert (body["counts"]["created"], body["counts"]["rejected"]) == (2, 0), body
    assert body["complete"] is False
    assert footprint(app) == before


def test_an_icalendar_file_in_a_form(app, client, tokens):
    before = footprint(app)
    response = client.post(
        "/api/v1/validate",
        data={
            "kind": "ical",
            "settings": '{"language": "en", "timezone": "Asia/Ho_Chi_Minh"}',
            "document": (io.BytesIO(ICS.replace("\n", "\r\n").encode()), "fairs.ics"),
        },
        headers=tokens["VN"],
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["counts"]["created"] == 3
    assert footprint(app) == before


@pytest.mark.parametrize("lang", ["vi", "en", "ja"])
def test_reasons_are_in_the_requesters_language(app, client, tokens, lang):
    response = validate(
        client,
        tokens["VN"],
        CSV.encode(),
        lang=lang,
        kind="csv",
        settings=json.dumps(CSV_SETTINGS),
    )
    assert response.get_json()["rejected"] == [
        {
            "id": "P3",
            "collection": "products",
            "reasons": {"stars": [STARS[lang]]},
            "columns": CSV_SETTINGS["mapping"],
        }
    ]


def test_only_the_first_refusals_are_listed_but_all_are_counted(app, client, tokens, monkeypatch):
    monkeypatch.setitem(app.config, "VALIDATE_MAX_DETAILS", 2)
    document = {
        "records": [
            {"id": str(n), "collection": "products", "record": product("x", stars=9)}
            for n in range(5)
        ]
    }
    body = validate(client, tokens["VN"], document).get_json()
    assert (body["counts"]["rejected"], body["rejected_listed"], len(body["rejected"])) == (5, 2, 2)


def test_a_lone_surrogate_refuses_its_record_only(app, client, tokens):
    # json.dumps writes a lone surrogate as its "\\ud800" escape, as a partner's JSON would.
    document = json.dumps(
        {
            "records": [
                {"id": "ok", "collection": "products", "record": product("Chè")},
                {"id": "bad\ud800", "collection": "products", "record": product("Mật ong")},
                {"id": "text", "collection": "products", "record": product("B\udc00nh")},
            ]
        }
    )
    response = client.post(
        "/api/v1/validate", data=document, content_type="application/json", headers=tokens["VN"]
    )
    body = response.get_json()
    assert (body["counts"]["created"], body["counts"]["rejected"]) == (1, 2), body
    by_id = {r["id"]: r["reasons"] for r in body["rejected"]}
    assert by_id["bad\ufffd"] == {
        "id": ["This text is not valid Unicode (it has a lone surrogate)."]
    }
    assert list(by_id["text"]) == ["translations.vi.title"]


def test_validate_needs_a_token(client):
    assert client.post("/api/v1/validate", json={"records": []}).status_code == 401
    response = client.post(
        "/api/v1/validate", json={"records": []}, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401


def test_another_countrys_source_is_not_found(app, client, tokens, httpserver):
    source = csv_source(app, httpserver)
    before = footprint(app)
    response = validate(client, tokens["TH"], CSV.encode(), source=source)
    assert response.status_code == 404
    assert response.get_json()["error"]["reason"] == "not_found"
    assert validate(client, tokens["TH"], CSV.encode(), source=999999).status_code == 404
    assert footprint(app) == before


@pytest.mark.parametrize(
    ("query", "body", "field", "message"),
    [
        ({}, b"not json", "document", "The document is not JSON"),
        ({}, b'{"records": {}}', "records", "Send a JSON object with a list of records."),
        ({}, b'{"records": [{"collection": "products"}]}', "0", "Each record needs an id"),
        ({}, b"[" * 100000 + b"]" * 100000, "document", "nested too deeply"),
        ({}, b'{"records": [' + b"[" * 100000 + b"]" * 100000 + b"]}", "document", "nested"),
        ({}, b"\xff\xfe{}", "document", "not UTF-8"),
        ({"kind": "pdf"}, b"", "kind", "Use one of: exchange, jsonfeed, ical, or csv."),
        ({"kind": "hub"}, b"", "kind", "Use one of"),
        ({"kind": "csv", "settings": "{"}, b"", "settings", "The settings are not valid JSON"),
        ({"kind": "csv", "settings": "[]"}, b"", "settings", "The settings must be a JSON object."),
        (
            {"kind": "csv", "settings": '{"language": "vi", "delimiter": ";;"}'},
            b"",
            "settings",
            "The settings do not suit a csv source",
        ),
        ({"kind": "exchange", "settings": '{"a": 1}'}, b"", "settings", "takes no settings"),
        (
            {"kind": "csv", "settings": json.dumps(CSV_SETTINGS)},
            b"\xff\xfe,\n",
            "document",
            "The document cannot be read: The document is not UTF-8 text",
        ),
        (
            {"kind": "ical", "settings": '{"language": "en"}'},
            b"\x89PNG\r\n\x1a\n\x00",
            "document",
            "The document cannot be read",
        ),
        (
            {"kind": "jsonfeed", "settings": "{}"},
            b'{"version": "x"}',
            "document",
            "not a JSON Feed",
        ),
        (
            {"kind": "csv", "settings": '{"language": "vi", "mapping": {"b\\udc00d": "x"}}'},
            b"",
            "settings",
            "The mapping names a field the hub does not have: “b\ufffdd”",
        ),
        (
            {
                "kind": "csv",
                "settings": json.dumps(CSV_SETTINGS, ensure_ascii=False).replace("Mã", "M\\ud800"),
            },
            CSV.encode(),
            "document",
            "The file has no column",
        ),
        ({"source": "abc"}, b"", None, None),
        ({"source": "1", "kind": "csv"}, b"", "source", "Give either a source or a kind"),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_stores_nothing(
    app, client, tokens, query, body, field, message
):
    before = footprint(app)
    response = client.post(
        "/api/v1/validate",
        data=body,
        content_type="application/octet-stream",
        query_string=query,
        headers=tokens["VN"],
    )
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    error = response.get_json()["error"]
    if field is not None:
        assert response.status_code == 422
        assert message in " ".join(error["details"][field]), error
    assert footprint(app) == before


def test_a_file_where_text_is_expected_is_refused(client, tokens):
    response = client.post(
        "/api/v1/validate",
        data={
            "kind": "csv",
            "settings": (io.BytesIO(json.dumps(CSV_SETTINGS).encode()), "settings.json"),
            "document": (io.BytesIO(CSV.encode()), "p.csv"),
        },
        headers={**tokens["VN"], "Accept-Language": "vi"},
    )
    assert response.status_code == 422
    assert list(response.get_json()["error"]["details"]) == ["settings"]
    no_document = client.post(
        "/api/v1/validate",
        data={"kind": "csv"},
        headers=tokens["VN"],
        content_type="multipart/form-data",
    )
    assert no_document.status_code == 422
    assert list(no_document.get_json()["error"]["details"]) == ["document"]


def test_a_document_over_the_size_limit_is_refused(app, client, tokens, monkeypatch):
    monkeypatch.setitem(app.config, "VALIDATE_MAX_BYTES", 1000)
    response = validate(client, tokens["VN"], b"x" * 1001, lang="ja")
    assert response.status_code == 413
    assert response.get_json()["error"]["message"] == "文書が1,000バイトを超えています。"
    form = client.post(
        "/api/v1/validate",
        data={"document": (io.BytesIO(b"x" * 2000), "big.json")},
        headers=tokens["VN"],
    )
    assert form.status_code == 413


def test_try_it_fetches_the_source_and_writes_nothing(app, client, httpserver):
    source = csv_source(app, httpserver)
    httpserver.clear()
    httpserver.expect_request("/p.csv").respond_with_data(CSV_AGAIN.encode())
    before = footprint(app)
    sign_in(client, "admin@hub.test")
    page_url = f"/en/admin/sources/{source}"
    page = client.get(page_url).get_data(as_text=True)
    assert f'action="/en/admin/sources/{source}/try"' in page
    token = csrf_token(client, page_url)
    response = client.post(f"{page_url}/try", data={"csrf_token": token})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Nothing was saved." in html
    for key, count in (("created", 1), ("updated", 1), ("unchanged", 1), ("rejected", 2)):
        assert f'data-count="{key}">{count}<' in html
    assert STARS["en"] in html
    assert footprint(app) == before
    with app.app_context():
        assert db.session.get(PartnerSource, source).etag is None  # no validators kept either
    vi = client.post(f"{page_url.replace('/en/', '/vi/')}/try", data={"csrf_token": token})
    assert STARS["vi"] in vi.get_data(as_text=True)
    assert footprint(app) == before


def test_try_it_shows_why_a_fetch_failed(app, client, httpserver):
    source = csv_source(app, httpserver)
    httpserver.clear()
    httpserver.expect_request("/p.csv").respond_with_data("gone", status=404)
    before = footprint(app)
    sign_in(client, "admin@hub.test")
    token = csrf_token(client, f"/en/admin/sources/{source}")
    response = client.post(f"/en/admin/sources/{source}/try", data={"csrf_token": token})
    assert response.status_code == 422
    assert "The document cannot be read: The server answered 404" in response.get_data(as_text=True)
    assert footprint(app) == before


def test_coordinators_cannot_try_sources(app, client, httpserver):
    source = csv_source(app, httpserver)
    sign_in(client, "coordinator.vn@hub.test")
    assert client.post(f"/en/admin/sources/{source}/try").status_code in (400, 403)


def test_a_source_gives_its_kind_and_settings(app, client, tokens, httpserver):
    pushed = {"records": [{"id": "a", "collection": "products", "record": product("Chè")}]}
    client.post("/api/v1/ingest", json=pushed, headers=tokens["VN"])
    with app.app_context():
        push = db.session.scalar(select(PartnerSource.id).where(PartnerSource.kind == "push"))
        hub = services.add_source("VN", "hub", "https://hub.example", {"country": "VN"}).id
    before = footprint(app)
    body = validate(client, tokens["VN"], pushed, source=push).get_json()
    assert (body["kind"], body["source"], body["counts"]["unchanged"]) == ("exchange", push, 1)
    response = validate(client, tokens["VN"], pushed, source=hub)
    assert response.status_code == 422
    assert (
        "cannot be checked from one posted document"
        in response.get_json()["error"]["details"]["source"][0]
    )
    assert footprint(app) == before


def test_a_push_source_has_nothing_to_try(app, client, tokens):
    pushed = {"records": [{"id": "a", "collection": "products", "record": product("Chè")}]}
    client.post("/api/v1/ingest", json=pushed, headers=tokens["VN"])
    with app.app_context():
        push = db.session.scalar(select(PartnerSource.id).where(PartnerSource.kind == "push"))
    sign_in(client, "admin@hub.test")
    page = client.get(f"/ja/admin/sources/{push}").get_data(as_text=True)
    assert "プッシュのソースには取得する文書がありません。" in page
    assert f"/sources/{push}/try" not in page
