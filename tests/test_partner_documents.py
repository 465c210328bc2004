"""Real partner documents read as their authors meant them, served on loopback and synced through
the pipeline: JSON Feed 1 (with the ``http://`` version many publishers write) and 1.1, items
without a title, HTML that becomes Markdown, dates, authors, tags and a language the hub does not
publish in; CKAN datasets' files and licence; CSV exports whose values are the partner's own."""

import pytest
from sqlalchemy import select

from connectors.base import get_connector
from hub.extensions import db
from hub.publishing.models import Entry
from hub.sync import services
from hub.sync.models import RejectedRecord
from tests.test_sync import add, sync

pytestmark = pytest.mark.usefixtures("loopback_allowed")


def entries(app, source_id):
    """``{partner id: (id, kind, source language, title, body, partner_metadata)}``."""
    with app.app_context():
        rows = db.session.scalars(select(Entry).where(Entry.source_id == source_id))
        return {
            e.partner_id: (
                e.id,
                e.kind,
                e.source_language,
                e.text_in(e.source_language).title,
                e.text_in(e.source_language).body,
                e.partner_metadata,
            )
            for e in rows
        }


def refusals(app, source_id):
    with app.app_context():
        rows = db.session.scalars(
            select(RejectedRecord).where(RejectedRecord.source_id == source_id)
        )
        return {r.partner_id: r.reasons for r in rows}


HTML = (
    "<p>Die <strong>Regionalmarke</strong> ist <em>frisch</em> gestartet: siehe das "
    '<a href="https://allgaeu.example/portal">Allgäu-Portal</a>.</p>'
    "<ul><li>Käse</li><li>Honig <em>vom Hof</em></li></ul>"
    "<ol><li>Anmelden</li><li>Prüfen lassen</li></ol>"
    '<script>alert("x")</script>'
)

FEED_1 = {
    "version": "http://jsonfeed.org/version/1",  # as many publishers write it
    "title": "Landratsamt Oberallgäu",
    "language": "de-DE",
    "author": {"name": "Landratsamt Oberallgäu", "url": "https://lra.example/"},
    "items": [
        {
            "id": "n1",
            "title": "Regionalmarke gestartet",
            "content_html": HTML,
            "date_published": "2026-11-20T09:00:00+01:00",
            "date_modified": "2026-11-21T10:30:00Z",
            "tags": ["Regionalmarke", "Handwerk", "Regionalmarke"],
        },
        {
            "id": "n2",  # no title: JSON Feed allows it
            "content_text": "Neue Hofläden im Allgäu eröffnet.\nMehr dazu im Heft.",
            "author": {"name": "Anna Berger"},
        },
        {"id": "n3", "title": "Làng nghề", "content_text": "Nội dung", "language": "vi-VN"},
    ],
}


def test_a_json_feed_1_in_german_keeps_its_language_links_and_metadata(app, client, httpserver):
    httpserver.expect_request("/feed.json").respond_with_json(FEED_1)
    source = add(app, "jsonfeed", httpserver.url_for("/feed.json"), {"collection": "experiences"})
    result = sync(app, source)
    assert (result["status"], result["created"], result["rejected"]) == ("ok", 3, 0), result
    found = entries(app, source)
    n1_id, kind, language, title, body, metadata = found["n1"]
    # The texts sit in the setting's slot ("en"), labelled with their true language.
    assert (kind, language, title) == ("experience", "en", "Regionalmarke gestartet")
    assert body == (
        "Die **Regionalmarke** ist *frisch* gestartet: siehe das "
        "[Allgäu-Portal](https://allgaeu.example/portal).\n\n"
        "- Käse\n- Honig *vom Hof*\n\n1. Anmelden\n2. Prüfen lassen"
    )
    assert metadata == {
        "language": "de-DE",
        "published": "2026-11-20T09:00:00+01:00",
        "modified": "2026-11-21T10:30:00+00:00",
        "authors": [{"name": "Landratsamt Oberallgäu", "url": "https://lra.example/"}],
        "tags": ["Regionalmarke", "Handwerk"],
    }
    n2_id, _kind, _language, title, body, metadata = found["n2"]
    assert title == "Neue Hofläden im Allgäu eröffnet."
    assert body == "Neue Hofläden im Allgäu eröffnet.\nMehr dazu im Heft."
    assert metadata == {
        "language": "de-DE",
        "title_from_text": True,
        "authors": [{"name": "Anna Berger"}],  # the item's own, not the feed's
    }
    # A regional tag of one of the hub's languages: that language, the tag kept as written.
    assert found["n3"][2] == "vi" and found["n3"][5]["language"] == "vi-VN"

    page = client.get(f"/en/experiences/{n1_id}").get_data(as_text=True)
    assert '<article class="entry" lang="de-DE">' in page
    assert "Shown in German (Germany): there is no version in this language yet." in page
    assert "Shown in English" not in page
    assert "<code>de-DE</code>" in page
    assert (
        '<a href="https://allgaeu.example/portal" rel="nofollow noopener noreferrer">'
        "Allgäu-Portal</a>" in page
    )
    assert "<li>Käse</li>" in page and "<em>frisch</em>" in page
    assert "<li>Anmelden</li>" in page and "<script>" not in page.split("<main")[-1]
    assert "Landratsamt Oberallgäu</a>" in page
    assert "November 20, 2026" in page and "November 21, 2026" in page
    assert "<li>Handwerk</li>" in page
    vi_page = client.get(f"/vi/experiences/{n1_id}").get_data(as_text=True)
    assert "Hiển thị bằng tiếng Đức (Đức)" in vi_page
    ja_page = client.get(f"/ja/experiences/{n1_id}").get_data(as_text=True)
    assert "ドイツ語 (ドイツ)で表示しています。" in ja_page
    untitled = client.get(f"/en/experiences/{n2_id}").get_data(as_text=True)
    assert "The partner gave this text no title: the title is the start of the text." in untitled
    listing = client.get("/en/experiences").get_data(as_text=True)
    assert '<article class="entry-card" lang="de-DE">' in listing
    country = client.get("/en/countries/VN").get_data(as_text=True)
    assert 'lang="de-DE">Regionalmarke gestartet</a>' in country
    assert "in German (Germany)</span>" in country and "in English</span>" not in country
    with app.app_context():  # the changes feed and the API carry it with the record
        item = db.session.get(Entry, n1_id).change_json
        assert '"partner_metadata":{"authors":[{"name":"Landratsamt Oberallgäu"' in item


@pytest.mark.parametrize(
    "version",
    [
        "https://jsonfeed.org/version/1",
        "http://jsonfeed.org/version/1",
        "https://jsonfeed.org/version/1.1",
        "http://jsonfeed.org/version/1.1",
    ],
)
def test_json_feed_versions_1_and_1_1_are_read(app, httpserver, version):
    feed = {"version": version, "title": "t", "items": [{"id": "x", "content_text": "Hello."}]}
    httpserver.expect_request("/feed.json").respond_with_json(feed)
    source = add(app, "jsonfeed", httpserver.url_for("/feed.json"), {"collection": "policies"})
    assert sync(app, source)["created"] == 1
    assert entries(app, source)["x"][3] == "Hello."


def test_not_a_json_feed_is_refused_whole(app, httpserver):
    feed = {"version": "https://example.org/version/1", "items": []}
    httpserver.expect_request("/feed.json").respond_with_json(feed)
    source = add(app, "jsonfeed", httpserver.url_for("/feed.json"), {})
    result = sync(app, source)
    assert result["status"] == "failed" and "not a JSON Feed" in result["error"]


def test_an_item_with_a_bad_date_is_refused_with_its_reason_and_the_others_come_in(app, httpserver):
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {"id": "ok", "title": "Fine", "date_published": "2026-11-20T09:00:00Z"},
            {"id": "bad", "title": "Bad date", "date_published": "yesterday"},
        ],
    }
    httpserver.expect_request("/feed.json").respond_with_json(feed)
    source = add(app, "jsonfeed", httpserver.url_for("/feed.json"), {})
    result = sync(app, source)
    assert (result["status"], result["created"], result["rejected"]) == ("partial", 1, 1)
    assert refusals(app, source) == {
        "bad": {
            "en": {
                "partner_metadata.published": [
                    "Enter a date and time such as 2026-12-04T15:00:00Z."
                ]
            },
            "vi": {
                "partner_metadata.published": ["Hãy nhập ngày giờ theo dạng 2026-12-04T15:00:00Z."]
            },
            "ja": {
                "partner_metadata.published": [
                    "2026-12-04T15:00:00Zのような形式で日時を入力してください。"
                ]
            },
        }
    }


def test_ckan_datasets_bring_their_files_and_licence(app, client, httpserver):
    package = {
        "id": "ds-1",
        "name": "ocop-2024",
        "title": "Sản phẩm OCOP 2024",
        "notes": "Danh sách sản phẩm OCOP được công nhận năm 2024.",
        "organization": {"title": "Sở Nông nghiệp"},
        "license_id": "cc-by",
        "license_title": "Creative Commons Attribution",
        "license_url": "http://www.opendefinition.org/licenses/cc-by",
        "resources": [
            {
                "name": "Danh sách (CSV)",
                "url": "https://data.example/ocop-2024.csv",
                "format": "CSV",
            },
            {"name": "", "url": "https://data.example/api/ocop", "format": "API"},
            {"name": "No address", "url": ""},  # nothing to link to: left out
        ],
    }
    httpserver.expect_request("/api/3/action/package_search").respond_with_json(
        {"success": True, "result": {"count": 1, "results": [package]}}
    )
    source = add(app, "ckan", httpserver.url_for("/"), {"language": "vi"})
    result = sync(app, source)
    assert (result["status"], result["created"]) == ("ok", 1), result
    entry_id, kind, _language, title, _body, metadata = entries(app, source)["ds-1"]
    assert (kind, title) == ("policy", "Sản phẩm OCOP 2024")
    assert metadata == {
        "resources": [
            {
                "name": "Danh sách (CSV)",
                "url": "https://data.example/ocop-2024.csv",
                "format": "CSV",
            },
            {"url": "https://data.example/api/ocop", "format": "API"},
        ],
        "licence": {
            "title": "Creative Commons Attribution",
            "url": "http://www.opendefinition.org/licenses/cc-by",
            "id": "cc-by",
        },
    }
    page = client.get(f"/en/policies/{entry_id}").get_data(as_text=True)
    assert "Files and links" in page
    assert '<a href="https://data.example/ocop-2024.csv" rel="external noopener nofollow">' in page
    assert "(CSV)" in page and ">https://data.example/api/ocop</a>" in page
    assert (
        '<a href="http://www.opendefinition.org/licenses/cc-by" rel="external noopener nofollow">'
        "Creative Commons Attribution</a>" in page
    )
    vi_page = client.get(f"/vi/policies/{entry_id}").get_data(as_text=True)
    assert "Tệp và liên kết" in vi_page and "Giấy phép" in vi_page


PROVINCE_CSV = (
    "Mã,Tên sản phẩm,Nhóm,Hạng sao,Ngày đánh giá\n"
    "P1,Chè Thái Nguyên,Đồ uống,3 sao,2024-05-01\n"
    "P2,Mật ong bạc hà,Thực phẩm, 4 SAO ,2024-06-01\n"
    "P3,Bánh gai,Thực phẩm,4 sao,\n"
)
PROVINCE_SETTINGS = {
    "language": "vi",
    "mapping": {
        "partner_id": "Mã",
        "title": "Tên sản phẩm",
        "product_group": "Nhóm",
        "stars": "Hạng sao",
        "rated_on": "Ngày đánh giá",
    },
    "values": {
        "stars": {"3 sao": "3", "4 sao": "4", "5 sao": "5"},
        "product_group": {"Đồ uống": "beverages", "Thực phẩm": "food"},
    },
    "defaults": {"rating_scheme": "ocop"},
}


def test_a_provincial_csv_with_its_own_values_and_a_rating_without_a_date(app, httpserver):
    httpserver.expect_request("/p.csv").respond_with_data(PROVINCE_CSV.encode())
    source = add(app, "csv", httpserver.url_for("/p.csv"), PROVINCE_SETTINGS)
    result = sync(app, source)
    assert (result["status"], result["created"], result["rejected"]) == ("partial", 2, 1)
    with app.app_context():
        products = {
            e.partner_id: (e.stars, e.product_group, e.rated_on.isoformat())
            for e in db.session.scalars(select(Entry).where(Entry.source_id == source))
        }
    assert products == {
        "P1": (3, "beverages", "2024-05-01"),
        "P2": (4, "food", "2024-06-01"),  # matched ignoring case and spaces around
    }
    assert refusals(app, source) == {
        "P3": {
            "en": {
                "rated_on": [
                    "Column «Hạng sao» gives a rating, but column «Ngày đánh giá» has no date "
                    "for it: give the date of the rating."
                ]
            },
            "vi": {
                "rated_on": [
                    "Cột «Hạng sao» có phân hạng nhưng cột «Ngày đánh giá» không có ngày phân "
                    "hạng: hãy nhập ngày phân hạng."
                ]
            },
            "ja": {
                "rated_on": [
                    "列「Hạng sao」に格付けがありますが、列「Ngày đánh giá」にその日付がありま"
                    "せん。格付けの日付を入力してください。"
                ]
            },
            "columns": PROVINCE_SETTINGS["mapping"],
        }
    }


def test_a_csv_with_ratings_but_no_date_column_names_the_stars_column(app, httpserver):
    csv_text = "Mã,Tên sản phẩm,Hạng sao\nP1,Nước mắm,5 sao\n"
    settings = {
        "language": "vi",
        "mapping": {"partner_id": "Mã", "title": "Tên sản phẩm", "stars": "Hạng sao"},
        "values": {"stars": {"5 sao": "5"}},
        "defaults": {"rating_scheme": "ocop", "product_group": "food"},
    }
    httpserver.expect_request("/p.csv").respond_with_data(csv_text.encode())
    source = add(app, "csv", httpserver.url_for("/p.csv"), settings)
    assert sync(app, source)["rejected"] == 1
    reasons = refusals(app, source)["P1"]
    assert reasons["en"]["rated_on"] == [
        "Column «Hạng sao» gives a rating, but no column gives its date: map a column to rated_on."
    ]
    assert "«Hạng sao»" in reasons["vi"]["rated_on"][0]
    assert "「Hạng sao」" in reasons["ja"]["rated_on"][0]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ("3 sao", "values must map fields"),
        ({"locality": {"a": "b"}}, "without a column: locality"),
        ({"title": {"a": "b"}}, "cannot change title"),
        ({"stars": {"3 sao": 3}}, "must map texts to texts"),
        ({"stars": ["3 sao"]}, "must map texts to texts"),
    ],
)
def test_csv_value_mappings_are_checked(app, values, message):
    with pytest.raises(ValueError, match=message):
        get_connector("csv").validate_settings({**PROVINCE_SETTINGS, "values": values})
    with app.test_request_context("/"), pytest.raises(services.SourceError):
        services.add_source(
            "VN", "csv", "https://partner.example/p.csv", {**PROVINCE_SETTINGS, "values": values}
        )


def test_html_that_is_only_an_address_or_has_images_becomes_plain_markdown(app, httpserver):
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {"id": "u", "title": "Only an address", "content_html": "https://partner.example/a"},
            {
                "id": "i",
                "title": "A picture",
                "content_html": '<p><img src="https://partner.example/p.jpg" alt="Hội chợ"></p>'
                "<h1>Heading</h1><table><tr><th>a</th></tr><tr><td>1</td></tr></table>",
            },
        ],
    }
    httpserver.expect_request("/feed.json").respond_with_json(feed)
    source = add(app, "jsonfeed", httpserver.url_for("/feed.json"), {})
    assert sync(app, source)["created"] == 2
    found = entries(app, source)
    assert found["u"][4] == "https://partner.example/a"
    body = found["i"][4]
    assert body.startswith("[Hội chợ](https://partner.example/p.jpg)\n\n# Heading\n\n")
    assert "| a |" in body and "| 1 |" in body
