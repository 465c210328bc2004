"""Lists narrowed by words (issue 21 §2): ``q=`` on the public list pages and the API's lists,
with their filters, their order and their pages; ``/api/v1/search``; bad words refused with a
4xx, never a 500. On both databases (the index is FTS5 on SQLite, pg_trgm on PostgreSQL)."""

import re
from datetime import time, timedelta

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select, text

from hub.accounts.models import User
from hub.db import utcnow, utctoday
from hub.extensions import db
from hub.publishing import services
from hub.publishing.models import Entry
from hub.search import queries as search_queries
from tests.support import run_clock_from_awkward_instant


# Their data is dated from "now": the clock stands at an awkward instant, whatever the day.
@pytest.fixture(autouse=True)
def clock(request, time_machine):
    """Their data is dated from now: time-machine runs the clock from an awkward instant."""
    return run_clock_from_awkward_instant(request, time_machine)


def user(email):
    return db.session.scalar(select(User).where(User.email == email))


def publish(kind, language, texts, fields=None, country="vn", translations=()):
    """A published entry of ``kind`` written in ``language``, with more ``translations``
    (``[(language, texts)]``), by the coordinator of ``country``; its id."""
    coordinator = user(f"coordinator.{country}@hub.test")
    defaults = {"product": {"product_group": "food"}, "policy": {}, "experience": {}}
    entry = services.create_entry(coordinator, kind, language, texts, fields or defaults[kind])
    for other, other_texts in translations:
        services.save_text(coordinator, entry.id, other, other_texts)
    services.set_status(coordinator, entry.id, "published")
    return entry.id


def rated(group, stars, valid):
    today = utctoday()
    return {
        "product_group": group,
        "rating_scheme": "ocop",
        "stars": stars,
        "rated_on": today - timedelta(days=400 if valid else 2000),
        "valid_until": today + timedelta(days=300) if valid else today - timedelta(days=1000),
    }


def fair(days, title):
    start = utctoday() + timedelta(days=days)
    fields = {
        "timezone": "Asia/Ho_Chi_Minh",
        "start_date": start,
        "end_date": start + timedelta(days=1),
        "start_time": time(9),
        "end_time": time(17),
        "city": "Hà Nội",
        "location_country": "VN",
    }
    return publish("fair", "en", {"title": title}, fields)


def shown(page):
    """The ids of the entries a list page shows, in order."""
    return [
        int(found)
        for found in re.findall(
            r'class="(?:entry|card)-title"[^>]*><a href="/\w\w/\w+/(\d+)"', page
        )
    ]


def api_ids(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in response.get_json()["items"]]


@pytest.fixture
def products(app):
    """Products of Viet Nam and Thailand, some of them lotus tea ("trà sen"), in two languages
    for one of them: ``{name: id}``, made oldest first."""
    with app.test_request_context("/"):
        return {
            "food_valid_4": publish("product", "vi", {"title": "Trà sen Tây Hồ"}, rated("food", 4, True)),
            "other": publish("product", "vi", {"title": "Bánh đa Kế", "body": "Bánh đa nướng."}),
            "drinks_valid_3": publish(
                "product", "en", {"title": "Lotus tea", "body": "Leaves scented in lotus flowers."},
                rated("beverages", 3, True),
                translations=[("vi", {"title": "Trà ướp sen", "body": "Trà ướp hoa sen Hồ Tây."})],
            ),
            "thai": publish("product", "en", {"title": "Lotus tea of Thailand"}, country="th"),
            "food_expired_5": publish(
                "product", "vi", {"title": "Trà sen cũ", "summary": "Hộp sắt."}, rated("food", 5, False)
            ),
        }  # fmt: skip


PRODUCT_QUERIES = [
    ("q=tra+sen", ["food_expired_5", "drinks_valid_3", "food_valid_4"]),
    ("q=TR%C3%80+SEN", ["food_expired_5", "drinks_valid_3", "food_valid_4"]),
    ("q=sen+tra", ["food_expired_5", "drinks_valid_3", "food_valid_4"]),
    ("q=tra+sen&group=food", ["food_expired_5", "food_valid_4"]),
    ("q=tra+sen&stars=4", ["food_expired_5", "food_valid_4"]),
    ("q=tra+sen&valid=1", ["drinks_valid_3", "food_valid_4"]),
    ("q=tra+sen&group=food&stars=4&valid=1", ["food_valid_4"]),
    ("q=tra+sen&country=TH", []),
    ("q=lotus", ["thai", "drinks_valid_3"]),
    ("q=lotus&country=TH", ["thai"]),
    ("q=lotus&country=VN&group=beverages", ["drinks_valid_3"]),
    ("q=hoa+sen", ["drinks_valid_3"]),
    ("q=sen+cu", ["food_expired_5"]),  # a word the index looks up, and one it cannot
    ("q=tra+banh", []),
    ("q=%25", []),
    ("q=+++", ["food_expired_5", "thai", "drinks_valid_3", "other", "food_valid_4"]),
]


@pytest.mark.dates
@pytest.mark.parametrize(("query", "expected"), PRODUCT_QUERIES)
def test_products_narrowed_by_words_and_filters_newest_first(client, products, query, expected):
    ids = [products[name] for name in expected]
    assert api_ids(client, f"/api/v1/products?{query}") == ids
    page = client.get(f"/en/products?{query}")
    assert page.status_code == 200
    assert shown(page.get_data(as_text=True)) == ids


def test_policies_and_experiences_narrowed_by_words(app, client):
    with app.test_request_context("/"):
        tea = publish("policy", "vi", {"title": "Chính sách phát triển trà", "body": "Vùng chè."})
        silk = publish("policy", "en", {"title": "Silk villages", "summary": "Weaving and tea."})
        thai = publish("policy", "en", {"title": "Tea for export"}, country="th")
        story = publish(
            "experience", "en", {"title": "A village's tea", "lessons": "- Ask the growers first"}
        )
        publish("experience", "en", {"title": "A village's silk", "lessons": "- Start small"})
    assert api_ids(client, "/api/v1/policies?q=tea") == [thai, silk]
    assert api_ids(client, "/api/v1/policies?q=tea&country=VN") == [silk]
    assert api_ids(client, "/api/v1/policies?q=phat+trien") == [tea]
    assert api_ids(client, "/api/v1/experiences?q=growers") == [story]
    page = client.get("/vi/policies?q=tea&country=VN").get_data(as_text=True)
    assert shown(page) == [silk]
    assert '<input id="filter-q" name="q" type="search" value="tea" maxlength="100">' in page
    assert shown(client.get("/ja/experiences?q=GROWERS").get_data(as_text=True)) == [story]


@pytest.mark.dates
def test_fairs_narrowed_by_words_keep_their_order_by_date(app, client):
    with app.test_request_context("/"):
        later = fair(60, "Lotus and silk fair")
        soon = fair(10, "Lotus week")
        fair(20, "Silk week")
        past = fair(-90, "Lotus market")
        fair(-30, "Bamboo market")
    assert api_ids(client, "/api/v1/fairs?q=lotus") == [soon, later]
    assert api_ids(client, "/api/v1/fairs?q=lotus&when=past") == [past]
    assert api_ids(client, "/api/v1/fairs?q=lotus+silk") == [later]
    assert api_ids(client, "/api/v1/fairs?q=lotus&country=TH") == []
    assert shown(client.get("/en/fairs?q=lotus").get_data(as_text=True)) == [soon, later, past]
    assert shown(client.get("/en/fairs?q=lotus&when=upcoming").get_data(as_text=True)) == [
        soon,
        later,
    ]
    assert api_ids(client, "/api/v1/fairs?q=lotus&limit=1") == [soon]
    second = client.get("/api/v1/fairs?q=lotus&limit=1").get_json()["next_cursor"]
    assert api_ids(client, f"/api/v1/fairs?q=lotus&limit=1&cursor={second}") == [later]


def test_pages_of_a_list_narrowed_by_words_follow_each_other(app, client):
    """30 products, 25 of them lotus tea, some in two languages that both match (one entry
    all the same): pages of 10 in the API, of 20 on the page, then "More"."""
    with app.test_request_context("/"):
        made = []
        for n in range(30):
            if n % 6 == 5:
                publish("product", "en", {"title": f"Rice {n}"})
                continue
            more = [("vi", {"title": f"Trà sen (lotus tea) {n}"})] if n % 2 else []
            texts = {"title": f"Lotus tea {n}", "body": "Scented leaves."}
            made.append(publish("product", "en", texts, translations=more))
    newest_first = list(reversed(made))
    seen, url = [], "/api/v1/products?q=tea&limit=10"
    while url:
        body = client.get(url).get_json()
        assert len(body["items"]) <= 10 and body["short"] is False
        seen += [item["id"] for item in body["items"]]
        url = (
            body["next_cursor"] and f"/api/v1/products?q=tea&limit=10&cursor={body['next_cursor']}"
        )
    assert seen == newest_first
    first = client.get("/en/products?q=tea").get_data(as_text=True)
    assert shown(first) == newest_first[:20]
    more = re.search(r'<a href="([^"]+)" rel="next">', first).group(1).replace("&amp;", "&")
    assert "q=tea" in more
    assert shown(client.get(more).get_data(as_text=True)) == newest_first[20:]
    # The words of one translation, not spread over two: "tra" (vi) and "scented" (en).
    assert api_ids(client, "/api/v1/products?q=tra+scented") == []


def _jump_entry_ids(by):
    """The next entry's id ``by`` past the newest (a draft takes the id between)."""
    newest = db.session.scalar(select(func.max(Entry.id)))
    now = utcnow()
    db.session.execute(
        Entry.__table__.insert().values(
            id=newest + by, kind="policy", country_code="VN", status="draft",
            source_language="vi", origin="local", created_dt=now, updated_dt=now, change_seq=-1,
        )
    )  # fmt: skip
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text("SELECT setval(pg_get_serial_sequence('entry', 'id'), :v)"), {"v": newest + by}
        )
    db.session.commit()


def test_words_of_one_or_two_characters_are_looked_for_in_the_newest_entries(app, client):
    with app.test_request_context("/"):
        old = publish("product", "ja", {"title": "古い茶"})
        _jump_entry_ids(search_queries.SHORT_WINDOW + 10)
        tea = publish("product", "ja", {"title": "八女茶", "body": "福岡の茶。"})
        rice = publish("product", "ja", {"title": "米"})
    body = client.get("/api/v1/products?q=%E8%8C%B6").get_json()  # 茶
    assert [item["id"] for item in body["items"]] == [tea] and body["short"] is True
    assert client.get("/api/v1/products?q=%E5%85%AB%E5%A5%B3%E8%8C%B6").get_json()["short"] is False
    assert api_ids(client, "/api/v1/products?q=%E5%8F%A4%E3%81%84%E8%8C%B6") == [old]  # 古い茶
    assert api_ids(client, "/api/v1/products?q=%E7%B1%B3") == [rice]
    assert "short" not in client.get("/api/v1/products").get_json()
    page = client.get("/ja/products?q=茶").get_data(as_text=True)
    assert shown(page) == [tea]
    with app.test_request_context("/"), force_locale("ja"):
        note = gettext(
            "Words of one or two characters are looked for in the %(count)s newest entries only; "
            "add a longer word to search them all.",
            count="5,000",
        )
    assert note in page
    nothing = client.get("/ja/products?q=zz").get_data(as_text=True)
    assert shown(nothing) == [] and note in nothing and "「zz」" in nothing


def in_language(app, language, message, **values):
    with app.test_request_context("/"), force_locale(language):
        return gettext(message, **values)


BAD_WORDS = {
    "a" * 101: "The search text must be at most %(max)s characters, without control characters.",
    "tea\x00": "The search text must be at most %(max)s characters, without control characters.",
    "tea\x1b[0m": "The search text must be at most %(max)s characters, without control characters.",
    "tea\x7f": "The search text must be at most %(max)s characters, without control characters.",
    "tea\x85": "The search text must be at most %(max)s characters, without control characters.",
}
# Sent as bytes that are not UTF-8: a lone surrogate's (CESU-8), a stray byte.
NOT_UTF8 = ["%ED%A0%80", "tea%FF", "%C3"]
ENDPOINTS = [
    "/api/v1/policies",
    "/api/v1/experiences",
    "/api/v1/fairs",
    "/api/v1/products",
    "/api/v1/countries",
    "/api/v1/programmes",
    "/api/v1/search",
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_bad_words_are_refused_in_the_callers_language(app, client, endpoint):
    for words, message in BAD_WORDS.items():
        response = client.get(endpoint, query_string={"q": words, "lang": "ja"})
        assert response.status_code == 422, (endpoint, words)
        error = response.get_json()["error"]
        assert error["reason"] == "invalid_input"
        assert error["details"] == {"q": [in_language(app, "ja", message, max="100")]}
    for raw in NOT_UTF8:
        response = client.get(f"{endpoint}?lang=vi&q={raw}")
        assert response.status_code == 422, (endpoint, raw)
        assert response.get_json()["error"]["details"] == {
            "q": [
                in_language(app, "vi", "This text is not valid Unicode (it has a lone surrogate).")
            ]
        }
    assert client.get(endpoint, query_string={"q": "a" * 100}).status_code == 200
    assert client.get(endpoint, query_string={"q": "お茶　緑茶\u200b\u2028"}).status_code == 200


@pytest.mark.parametrize("collection", ["policies", "experiences", "fairs", "products"])
def test_a_list_page_says_why_it_refuses_words(app, client, collection):
    response = client.get(f"/vi/{collection}", query_string={"q": "x" * 101})
    assert response.status_code == 400
    message = in_language(
        app,
        "vi",
        "The search text must be at most %(max)s characters, without control characters.",
        max="100",
    )
    page = response.get_data(as_text=True)
    assert f'<p class="field-error" id="q-error">{message}</p>' in page
    assert 'aria-invalid="true" aria-describedby="q-error"' in page
    assert client.get(f"/vi/{collection}?q=%ED%A0%80").status_code == 400
    assert client.get(f"/vi/{collection}/export.csv?q=%00").status_code == 400


def test_an_export_holds_the_list_narrowed_by_words(client, products):
    csv = client.get("/en/products/export.csv?q=lotus").get_data(as_text=True)
    assert "Lotus tea of Thailand" in csv and "Trà sen Tây Hồ" not in csv


def test_a_list_narrowed_by_words_is_not_indexed(client, products):
    assert '<meta name="robots" content="noindex">' in client.get("/en/products?q=tea").get_data(
        as_text=True
    )
    assert 'content="noindex"' not in client.get("/en/products?group=food").get_data(as_text=True)


def test_countries_and_programmes_narrowed_by_words(client):
    def codes(query):
        return [c["code"] for c in client.get(f"/api/v1/countries?{query}").get_json()["items"]]

    assert codes("q=viet+nam") == ["VN"]
    assert codes("q=VIỆT") == ["VN"]
    assert codes("q=%E3%83%99%E3%83%88%E3%83%8A%E3%83%A0") == ["VN"]  # ベトナム
    assert codes("q=vn") == ["VN"]
    assert codes("q=thai") == ["TH"]
    assert codes("q=thai&status=member") == codes("q=thai")
    assert codes("q=viet&status=applicant") == []
    assert codes("q=zzzz") == []
    assert len(codes("q=+")) == len(codes(""))
    programmes = client.get("/api/v1/programmes?q=otop&country=TH").get_json()["items"]
    assert [p["acronym"] for p in programmes] == ["OTOP"]
    found = client.get("/api/v1/programmes?q=mot+xa+mot+san+pham").get_json()["items"]
    assert [p["country"] for p in found] == ["VN"]


def test_the_api_search_answers_what_the_search_page_finds(app, client, products):
    with app.test_request_context("/"):
        expected = [e.id for e in search_queries.search("tra sen", limit=50).entries]
    body = client.get("/api/v1/search?q=tra+sen&lang=ja").get_json()
    assert set(body) == {
        "countries", "programmes", "items", "next_cursor", "registry_first", "short"
    }  # fmt: skip
    assert [item["id"] for item in body["items"]] == expected
    assert body["next_cursor"] is None and body["short"] is False
    tea = next(item for item in body["items"] if item["id"] == products["drinks_valid_3"])
    assert (tea["collection"], tea["language"], tea["fallback"]) == ("products", "en", True)
    every = client.get("/api/v1/search?q=tra+sen&lang=all").get_json()["items"]
    assert next(i for i in every if i["id"] == tea["id"])["record"]["translations"]["vi"]
    country = client.get("/api/v1/search?q=viet+nam&lang=vi").get_json()
    assert country["registry_first"] is True
    assert country["countries"][0]["code"] == "VN" and country["countries"][0]["name"] == "Việt Nam"
    otop = client.get("/api/v1/search?q=otop").get_json()
    assert "OTOP" in [p["acronym"] for p in otop["programmes"]]
    assert client.get("/api/v1/search?q=%E8%8C%B6").get_json()["short"] is True
    empty = client.get("/api/v1/search?q=+").get_json()
    assert (empty["items"], empty["countries"], empty["next_cursor"]) == ([], [], None)


def test_the_api_search_pages_follow_each_other(app, client):
    with app.test_request_context("/"):
        made = [publish("product", "en", {"title": f"Silk scarf {n}"}) for n in range(7)]
        body_only = [
            publish("policy", "en", {"title": f"Craft villages {n}", "body": "Silk weaving."})
            for n in range(3)
        ]
        expected = [e.id for e in search_queries.search("silk", limit=50).entries]
    assert sorted(expected) == sorted(made + body_only)
    seen, url, pages = [], "/api/v1/search?q=silk&limit=4", []
    while url:
        body = client.get(url).get_json()
        pages.append(body)
        seen += [item["id"] for item in body["items"]]
        url = body["next_cursor"] and f"/api/v1/search?q=silk&limit=4&cursor={body['next_cursor']}"
    assert seen == expected and len(pages) == 3
    assert all(page["countries"] == [] and page["programmes"] == [] for page in pages[1:])
    assert {item["collection"] for item in pages[-1]["items"]} == {"policies"}


@pytest.mark.parametrize(
    "query",
    [
        "",
        "q=tea&limit=0",
        "q=tea&limit=101",
        "q=tea&lang=fr",
        "q=tea&cursor=%%%",
        "q=tea&cursor=eA",
    ],
)
def test_the_api_search_refuses_bad_parameters(client, query):
    response = client.get(f"/api/v1/search?{query}")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["reason"] == "invalid_input" and error["details"]


def test_the_api_search_is_cheap_to_poll(client, products):
    first = client.get("/api/v1/search?q=lotus")
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    again = client.get("/api/v1/search?q=lotus", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_the_reference_page_explains_q_and_search(client):
    page = client.get("/ja/api").get_data(as_text=True)
    assert "/api/v1/search" in page
    assert "国・地域、プログラム、公開済み項目を検索" in page
    assert "最新の5,000件の項目だけを探します" in page
