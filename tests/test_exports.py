"""Every public list as CSV and XLSX, with the filters of its page: the same entries as the page
in the same order, headers in the page's language, formulas neutralised, bad filters refused as
the page refuses them."""

import csv
import io
import re
from datetime import date, timedelta
from urllib.parse import unquote

import openpyxl
import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import event, select

from hub.accounts.models import User
from hub.db import utcnow, utctoday
from hub.extensions import db
from hub.publishing import exports, services
from hub.publishing.vocabulary import KIND_NAMES
from tests.support import sample_entries

# The exports hold dates (updated, file names, upcoming fairs, valid ratings) compared with today.
pytestmark = pytest.mark.dates

COLLECTIONS = ("policies", "experiences", "fairs", "products")
EVIL = ('=HYPERLINK("http://evil")', "+1", "-2", "@SUM(A1)")
HEADERS = {
    "vi": ("ID", "Địa chỉ trên cổng", "Mã quốc gia", "Quốc gia"),
    "en": ("ID", "Address on the hub", "Country code", "Country"),
    "ja": ("ID", "ハブ上のアドレス", "国・地域コード", "国・地域"),
}


def user(email):
    return db.session.scalar(select(User).where(User.email == email))


def publish(actor, kind, language, text, fields):
    entry = services.create_entry(actor, kind, language, text, fields)
    services.set_status(actor, entry.id, "published")
    return entry.id


def get(client, url):
    """The whole answer, its body read and the answer closed (as a WSGI server closes it: the
    XLSX's temporary file is then deleted)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def read_csv(response):
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def read_xlsx(response):
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    sheet = book.active
    return [list(row) for row in sheet.iter_rows(values_only=True)], sheet


def read(response, fmt):
    return read_csv(response) if fmt == "csv" else read_xlsx(response)[0]


def page_ids(client, url):
    """The ids of every entry the list page shows, following its "More" links."""
    ids = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        # Entry rows, and the fairs' cards (hub/templates/publishing/_entry.html).
        title = r'<h\d class="(?:entry|card)-title"(?: id="fair-\d+")?><a href="/\w+/\w+/(\d+)"'
        ids += [int(i) for i in re.findall(title, html)]
        more = re.search(r'<a href="([^"]+)" rel="next"', html)
        url = more.group(1).replace("&amp;", "&") if more else None
    return ids


@pytest.fixture(autouse=True)
def clock(time_machine):
    """One moment for the whole test: today does not change between writing and reading."""
    time_machine.move_to(utcnow(), tick=False)


@pytest.fixture
def entries(app):
    with app.test_request_context("/"):
        return {kind: entry.id for kind, entry in sample_entries().items()}


@pytest.fixture
def many(app):
    """Products and fairs of two countries, groups and ratings: more than a page of the list."""
    today = utctoday()
    with app.test_request_context("/"):
        vn, th = user("coordinator.vn@hub.test"), user("coordinator.th@hub.test")
        for n in range(24):
            actor = vn if n % 2 else th
            publish(
                actor, "product", "en", {"title": f"Product {n}", "body": ""},
                {"product_group": ("food", "beverages", "herbal")[n % 3], "rating_scheme": "ocop",
                 "stars": 1 + n % 5, "rated_on": today - timedelta(days=10 + n)},
            )  # fmt: skip
        for n in range(7):
            day = today + timedelta(days=3 + n // 2)  # two fairs start on most days
            publish(
                vn if n % 2 else th, "fair", "en", {"title": f"Fair {n}", "body": ""},
                {"timezone": "Asia/Bangkok", "start_date": day, "end_date": day, "all_day": True},
            )  # fmt: skip


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("collection", COLLECTIONS)
def test_each_collection_exports_in_both_formats(client, entries, collection, fmt):
    response = get(client, f"/en/{collection}/export.{fmt}")
    assert response.status_code == 200
    assert response.headers["X-Export-Limit"] == "100000"
    assert response.headers["Cache-Control"] == "no-store"
    if fmt == "csv":
        assert response.mimetype == "text/csv"
        with client.get(f"/en/{collection}/export.csv") as streamed:
            assert streamed.is_streamed  # a generator, not a body made beforehand
            assert streamed.get_data() == response.get_data()
    else:
        assert response.mimetype.endswith("spreadsheetml.sheet")
    rows = read(response, fmt)
    header, (row,) = rows[0], rows[1:]
    kind = {"policies": "policy", "experiences": "experience", "fairs": "fair"}.get(
        collection, "product"
    )
    assert str(row[0]) == str(entries[kind])
    assert row[1] == f"http://localhost/en/{collection}/{entries[kind]}"
    assert row[2:4] == ["VN", "Vietnam"]
    assert header[-1] == "Last updated"
    updated = row[-1] if fmt == "csv" else row[-1].date().isoformat()
    assert updated == utctoday().isoformat()


def test_the_kinds_fields_are_columns_with_dates_as_dates(client, entries):
    rows, sheet = read_xlsx(get(client, "/en/policies/export.xlsx"))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["Title"] == "Chương trình Mỗi xã một sản phẩm"
    assert record["Language shown"] == "vi"  # no English text: the source language's
    assert record["Summary"] == "Phê duyệt Chương trình OCOP."
    assert record["Kind of instrument"] == "Decision"
    assert record["Reference number"] == "490/QĐ-TTg"
    assert record["Issued on"].date() == date(2018, 5, 7)
    issued = next(sheet.iter_rows(min_row=2, max_row=2))[rows[0].index("Issued on")]
    assert issued.is_date and issued.number_format == "yyyy-mm-dd"

    rows = read_csv(get(client, "/ja/policies/export.csv"))
    assert "一村一品プログラム" in rows[1]  # the Japanese text, there is one
    assert "ja" in rows[1]

    rows = read_csv(get(client, "/en/fairs/export.csv"))
    fair = dict(zip(rows[0], rows[1], strict=True))
    soon = utctoday() + timedelta(days=30)
    assert fair["First day"] == soon.isoformat()
    assert fair["Last day"] == (soon + timedelta(days=2)).isoformat()
    assert (fair["Opens at"], fair["Closes at"]) == ("08:00", "21:00")
    assert fair["Product groups"] == "Food; Beverages"
    assert fair["Country of the venue"] == "Vietnam"
    assert fair["All-day event"] == "false"

    rows = read_csv(get(client, "/en/experiences/export.csv"))
    assert dict(zip(rows[0], rows[1], strict=True))["Outcomes"] == (
        "Producers taking part: 300 producers"
    )
    rows = read_csv(get(client, "/en/products/export.csv"))
    product = dict(zip(rows[0], rows[1], strict=True))
    assert product["Product name"] == "Chè Thái Nguyên"
    assert product["Stars"] == "4"
    assert product["Product group"] == "Beverages"


@pytest.mark.parametrize("lang", ["vi", "en", "ja"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_header_is_in_the_pages_language(app, client, entries, lang, fmt):
    header = read(get(client, f"/{lang}/products/export.{fmt}"), fmt)[0]
    assert tuple(header[:4]) == HEADERS[lang]
    with app.test_request_context(f"/{lang}/"), force_locale(lang):
        assert header == exports.columns("product")  # every label in the page's language
        assert header[9] == str(_("Product group"))
        name = str(KIND_NAMES["product"][1])
    if lang == "vi":
        assert header[9] == "Nhóm sản phẩm"
    if fmt == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(get(client, f"/{lang}/products/export.xlsx").data))
        assert book.sheetnames == [name]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "country=VN",
        "country=th",
        "group=food",
        "stars=3",
        "group=herbal&stars=2&country=VN",
        "valid=1",
        "after=999999",  # the page's place in the list is not a filter: the whole list
    ],
)
def test_filters_give_the_list_pages_items(client, many, query, monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 4)  # several batches, read by key
    expected = page_ids(client, "/en/products?" + query.replace("after=999999", ""))
    assert len(expected) > 0
    for fmt in ("csv", "xlsx"):
        rows = read(get(client, f"/en/products/export.{fmt}?{query}"), fmt)
        assert [int(r[0]) for r in rows[1:]] == expected


@pytest.mark.parametrize("query", ["", "when=past"])
def test_fairs_come_in_the_pages_order(client, many, query, monkeypatch):
    monkeypatch.setattr(exports, "BATCH", 2)  # batches cut between fairs of the same day
    expected = page_ids(client, "/en/fairs?" + query)
    rows = read_csv(get(client, f"/en/fairs/export.csv?{query}"))
    assert [int(r[0]) for r in rows[1:]] == expected
    assert len(expected) == (7 if not query else 0)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize(
    "query", ["country=XX", "country=EU", "group=cars", "stars=6", "stars=x&group=food"]
)
def test_a_bad_filter_is_answered_as_the_page_answers_it(client, entries, query, fmt):
    page = client.get(f"/vi/products?{query}")
    response = get(client, f"/vi/products/export.{fmt}?{query}")
    assert page.status_code == response.status_code == 400
    assert response.mimetype == "text/html"
    errors = re.findall(r'<p class="field-error"[^>]*>.*?</p>', page.get_data(as_text=True))
    assert errors  # the page says why, and so does the export's answer
    assert (
        re.findall(r'<p class="field-error"[^>]*>.*?</p>', response.get_data(as_text=True))
        == errors
    )


def test_formulas_are_neutralised(app, client):
    with app.test_request_context("/"):
        vn = user("coordinator.vn@hub.test")
        ids = [
            publish(
                vn, "policy", "en", {"title": title, "summary": title, "body": ""},
                {"instrument": "law", "reference_number": title, "issuing_body": "=1+1"},
            )
            for title in EVIL
        ]  # fmt: skip
    rows = read_csv(get(client, "/en/policies/export.csv"))
    header = rows[0]
    by_id = {int(r[0]): dict(zip(header, r, strict=True)) for r in rows[1:]}
    for entry_id, title in zip(ids, EVIL, strict=True):
        row = by_id[entry_id]
        assert row["Title"] == row["Summary"] == row["Reference number"] == "'" + title
        assert row["Issuing body"] == "'=1+1"
        assert row["Kind of instrument"] == "Law"

    rows, sheet = read_xlsx(get(client, "/en/policies/export.xlsx"))
    titles = rows[0].index("Title")
    cells = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    for entry_id, title in zip(ids, EVIL, strict=True):
        cell = cells[entry_id][titles]
        assert cell.data_type == "s"  # a string, not a formula
        assert cell.value == title
    raw = get(client, "/en/policies/export.xlsx").data
    with openpyxl.reader.excel.ZipFile(io.BytesIO(raw)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml


def test_cells_are_neutralised_by_their_first_character():
    """Texts are stripped before they are stored, so a tab or carriage return cannot begin a
    title; the rule still covers them (OWASP)."""
    from hub.tabular import csv_value

    assert csv_value("\tTAB") == "'\tTAB"
    assert csv_value("\rCR") == "'\rCR"
    assert csv_value("=1") == "'=1"
    assert csv_value(-2) == "-2"
    assert csv_value("-2") == "'-2"
    assert csv_value("2-3") == "2-3"
    assert csv_value(None) == ""


@pytest.mark.parametrize("lang", ["vi", "en", "ja"])
def test_the_file_name_is_in_the_pages_language(app, client, entries, lang):
    with app.test_request_context(f"/{lang}/"), force_locale(lang):
        name = str(KIND_NAMES["product"][1])  # "Sản phẩm", "Products", the Japanese term
    today = utctoday().isoformat()
    response = get(client, f"/{lang}/products/export.xlsx?country=VN")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    if lang == "en":
        assert disposition == f'attachment; filename="Products-VN-{today}.xlsx"'
        return
    plain, star = re.fullmatch(
        r'attachment; filename="([^"]+)"; filename\*=(.+)', disposition
    ).groups()
    assert plain == f"products-VN-{today}.xlsx" and plain.isascii()
    assert star.startswith("UTF-8''")
    decoded = unquote(star.removeprefix("UTF-8''"))
    assert decoded.endswith(f"-VN-{today}.xlsx")
    assert decoded == f"{name}-VN-{today}.xlsx"
    assert not name.isascii()


def test_the_list_pages_link_to_their_exports_with_their_filters(client, entries):
    html = client.get("/en/products?country=VN&group=food&after=5").get_data(as_text=True)
    assert 'href="/en/products/export.csv?country=VN&amp;group=food"' in html
    assert 'href="/en/products/export.xlsx?country=VN&amp;group=food"' in html
    html = client.get("/vi/countries?status=member").get_data(as_text=True)
    assert 'href="/vi/countries/export.csv?status=member"' in html
    assert 'href="/vi/countries/export.xlsx?status=member"' in html


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_countries_list_exports_with_its_filters(client, fmt):
    page = client.get("/en/countries?region=142").get_data(as_text=True)
    expected = re.findall(r'<th scope="row"><a href="/en/countries/([A-Z]{2})"', page)
    assert "VN" in expected
    rows = read(get(client, f"/en/countries/export.{fmt}?region=142"), fmt)
    assert rows[0][:3] == ["Country code", "Country", "Address on the hub"]
    assert [r[0] for r in rows[1:]] == expected
    viet_nam = next(r for r in rows[1:] if r[0] == "VN")
    assert viet_nam[1] == "Vietnam"
    assert viet_nam[2] == "http://localhost/en/countries/VN"
    assert viet_nam[3] == "Southeast Asia"
    assert "OCOP" in viet_nam[6]

    response = get(client, f"/ja/countries/export.{fmt}?status=nonsense")
    assert response.status_code == 400
    page = client.get("/ja/countries?status=nonsense").get_data(as_text=True)
    error = re.search(r'<p class="field-error"[^>]*>.*?</p>', page).group(0)
    assert error in response.get_data(as_text=True)
    header = read(get(client, f"/ja/countries/export.{fmt}"), fmt)[0]
    assert header[1] == "国・地域"


def test_an_export_stops_at_the_limit(app, client, many):
    app.config["EXPORT_MAX_ROWS"] = 5
    try:
        for fmt in ("csv", "xlsx"):
            response = get(client, f"/en/products/export.{fmt}")
            assert response.headers["X-Export-Limit"] == "5"
            assert len(read(response, fmt)) == 1 + 5
    finally:
        app.config["EXPORT_MAX_ROWS"] = 100000


def test_the_queries_do_not_grow_with_the_rows(app, client, many, monkeypatch):
    """Texts come a batch at a time with their entries: no query per row."""
    monkeypatch.setattr(exports, "BATCH", 100)
    engine = db.binding(app).engine
    statements = []

    def count(_conn, _cursor, statement, *_args):
        if "SAVEPOINT" not in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        rows = read_csv(get(client, "/en/products/export.csv"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(rows) == 1 + 24
    assert len(statements) <= 4  # the entries, their texts (and the session's own)
