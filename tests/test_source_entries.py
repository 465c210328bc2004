"""The entries a partner source brought, listed on its administrators' page: counts, filters,
pages by key, titles in the reader's language, links, and bad filters refused with a 400."""

import itertools
import re

import pytest
from sqlalchemy import func, select
from werkzeug import Response

from hub.extensions import db
from hub.publishing.models import Entry, EntryTranslation
from hub.sync import pipeline
from hub.sync.rows import insert_rows
from tests.support import query_plan, sign_in
from tests.test_pages import parse, text_of
from tests.test_sync import CSV_SETTINGS, add, sync

pytestmark = pytest.mark.usefixtures("loopback_allowed")

HEADER = "\ufeffMã,Tên sản phẩm,Mô tả,Nhóm,Sao,Ngày xếp hạng\n"


def csv_of(numbers):
    rows = [f"P{n:03d},Sản phẩm số {n},Mô tả,food,4,2024-05-01\n" for n in numbers]
    return (HEADER + "".join(rows)).encode()


@pytest.fixture
def source(app, httpserver):
    """A CSV source that brought 120 products (P001…P120), then lost P120 at the partner, and
    two policies of its own (as a source of several kinds would bring)."""
    document = {"body": csv_of(range(1, 121))}
    httpserver.expect_request("/p.csv").respond_with_handler(
        lambda _request: Response(document["body"], content_type="text/csv")
    )
    source_id = add(app, "csv", httpserver.url_for("/p.csv"), CSV_SETTINGS)
    assert sync(app, source_id)["created"] == 120
    document["body"] = csv_of(range(1, 120))
    assert sync(app, source_id)["deleted"] == 1
    with app.test_request_context("/"):
        first = db.session.scalar(select(func.max(Entry.change_seq)))
        now = pipeline.utcnow()
        insert_rows(Entry.__table__, [
            {"kind": "policy", "country_code": "VN", "status": "draft", "source_language": "vi",
             "origin": "partner", "source_id": source_id, "partner_id": f"POL-{k}",
             "created_dt": now, "updated_dt": now, "change_seq": first + k}
            for k in (1, 2)
        ])  # fmt: skip
        # One product has an English title beside its Vietnamese one.
        p001 = db.session.scalar(select(Entry).where(Entry.partner_id == "P001"))
        original = p001.text_in("vi")
        db.session.add(EntryTranslation(entry_id=p001.id, language="en", title="Product one",
                                        fingerprint=original.fingerprint,
                                        source_fingerprint=original.fingerprint))  # fmt: skip
        db.session.commit()
    return source_id


def rows_of(tree):
    table = tree.find(".//table[@class='source-entries']")
    if table is None:
        return []
    return [[text_of(cell) for cell in row] for row in table.find("tbody")]


def next_link(tree):
    link = tree.find(".//section[@aria-labelledby='entries']//a[@rel='next']")
    return None if link is None else link.get("href")


def entries_page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[-2000:]
    return parse(response.get_data(as_text=True))


def test_the_page_lists_the_entries_with_counts_and_links(app, client, source):
    sign_in(client, "admin@hub.test")
    tree = entries_page(client, f"/en/admin/sources/{source}")
    counts = tree.find(".//table[@class='entry-counts']")
    assert [[text_of(c) for c in row] for row in counts.find("tbody")] == [
        ["Policies", "2", "0"],
        ["Products", "119", "1"],
    ]
    assert [text_of(c) for c in counts.find("tfoot/tr")] == ["Total", "121", "1"]
    rows = rows_of(tree)
    assert len(rows) == 50  # newest first: the policies, then the products from P120 down
    assert [r[0] for r in rows[:4]] == ["POL-2", "POL-1", "P120", "P119"]
    assert rows[0][1:4] == ["—", "Policy", "Draft"]
    assert rows[2][1:4] == ["Sản phẩm số 120", "Product", "Deleted"]
    assert rows[3][1:4] == ["Sản phẩm số 119", "Product", "Published"]
    body = tree.find(".//table[@class='source-entries']/tbody")
    deleted, published = body[2], body[3]
    assert deleted.find(".//a") is None  # a deleted entry has no public page
    title = published[1]
    assert title.get("lang") == "vi"  # not the reader's language: marked
    link = published.find(".//a")
    assert text_of(link) == "Public page"
    assert client.get(link.get("href")).status_code == 200
    assert re.fullmatch(r"/en/products/\d+", link.get("href"))
    # A synced entry belongs to its partner: the manage pages do not serve it, so no link to them.
    assert [text_of(a) for a in body.iter("a")] == ["Public page"] * 47
    entry_id = link.get("href").rsplit("/", 1)[1]
    assert client.get(f"/en/manage/entries/{entry_id}").status_code == 404
    # The time of the last change, as CLDR writes it in the reader's language.
    assert published.find(".//time").get("datetime")[:4].isdigit()


def test_pages_follow_by_key_and_keep_the_filters(app, client, source):
    sign_in(client, "admin@hub.test")
    seen, url = [], f"/en/admin/sources/{source}?kind=products&status=all"
    while url:
        tree = entries_page(client, url)
        seen += [r[0] for r in rows_of(tree)]
        url = next_link(tree)
        if url:
            assert "kind=products" in url and "status=all" in url and "entries_before=" in url
    assert seen == [f"P{n:03d}" for n in range(120, 0, -1)]


def test_a_title_in_the_readers_language_is_shown_unmarked(app, client, source):
    sign_in(client, "admin@hub.test")
    tree = entries_page(client, f"/en/admin/sources/{source}?q=P001")
    (row,) = tree.find(".//table[@class='source-entries']/tbody")
    assert text_of(row[1]) == "Product one" and row[1].get("lang") is None
    tree = entries_page(client, f"/ja/admin/sources/{source}?q=P001")
    (row,) = tree.find(".//table[@class='source-entries']/tbody")
    assert text_of(row[1]) == "Sản phẩm số 1" and row[1].get("lang") == "vi"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=policies", ["POL-2", "POL-1"]),
        ("status=deleted", ["P120"]),
        ("status=live&q=P11", [f"P11{n}" for n in range(9, -1, -1)]),
        ("q=p00", [f"P00{n}" for n in range(9, 0, -1)]),  # a partner id's start, in any case
        ("q=so+7", [f"P07{n}" for n in range(9, -1, -1)] + ["P007"]),  # folded: "số 7"
        ("q=SỐ+11", [f"P11{n}" for n in range(9, -1, -1)] + ["P011"]),
        ("kind=policies&status=deleted", []),
        ("q=100%25", []),  # a LIKE wildcard is a character like any other
    ],
)
def test_the_filters(app, client, source, query, expected):
    sign_in(client, "admin@hub.test")
    tree = entries_page(client, f"/en/admin/sources/{source}?{query}")
    assert [r[0] for r in rows_of(tree)] == expected
    if not expected:
        assert "No entry of this source matches these filters." in text_of(tree)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("kind=widgets", "“widgets” is not one of the options."),
        ("status=gone", "“gone” is not one of the options."),
        ("q=" + "x" * 201, "The search text must be at most 200 characters"),
        ("q=a%00b", "without control characters"),
        ("entries_before=-3", "“-3” is not a page of this list."),
        ("entries_before=99999999999999", "is not a page of this list."),
    ],
)
def test_bad_filters_are_refused_with_a_400(app, client, source, query, message):
    sign_in(client, "admin@hub.test")
    response = client.get(f"/en/admin/sources/{source}?{query}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    parse(page)


def test_a_coordinator_cannot_see_a_sources_entries(app, client, source):
    sign_in(client, "coordinator.vn@hub.test")
    assert client.get(f"/en/admin/sources/{source}?kind=products").status_code == 403


@pytest.mark.parametrize(
    ("lang", "labels"),
    [
        ("vi", ["Các mục nguồn này đã mang về", "Chưa xoá", "Đã xoá", "Mã của đối tác",
                "Trang công khai", "Các mục tiếp theo"]),
        ("ja", ["このソースから取り込んだ掲載項目", "未削除", "削除", "パートナーのID",
                "公開ページ", "次の掲載項目"]),
    ],
)  # fmt: skip
def test_the_labels_are_translated(app, client, source, lang, labels):
    sign_in(client, "admin@hub.test", lang=lang)
    page = client.get(f"/{lang}/admin/sources/{source}").get_data(as_text=True)
    for label in labels:
        assert label in page
    response = client.get(f"/{lang}/admin/sources/{source}?status=gone")
    assert response.status_code == 400
    assert {"vi": "“gone” không nằm trong", "ja": "「gone」"}[lang] in response.get_data(
        as_text=True
    )


def test_a_source_with_no_entry_says_so(app, client, httpserver):
    httpserver.expect_request("/p.csv").respond_with_data(HEADER.encode())
    source = add(app, "csv", httpserver.url_for("/p.csv"), CSV_SETTINGS)
    sign_in(client, "admin@hub.test")
    page = client.get(f"/en/admin/sources/{source}").get_data(as_text=True)
    assert "This source has brought no entry yet." in page


def test_a_page_of_a_large_source_is_read_off_an_index_in_order(app, backend, time_machine):
    """A source of 400 entries, its first ones, beside one of 39 600: each page of either, filtered or not, is
    read in id order from the cursor down and stops at the page's end, never sorting all the
    source's entries; the smaller source's pages walk ``ix_entry_source`` (source_id, id) rather
    than the whole table."""
    from hub.sync.queries import source_entries_statement

    with app.test_request_context("/"):
        sources = [add(app, "csv", f"http://127.0.0.1/{n}.csv", CSV_SETTINGS) for n in (1, 2)]
        time_machine.move_to(pipeline.utcnow(), tick=False)
        now = pipeline.utcnow()
        first = db.session.scalar(select(func.coalesce(func.max(Entry.change_seq), 0)))
        insert_rows(Entry.__table__, [
            {"kind": "product", "country_code": "VN", "status": "published",
             "source_language": "vi", "origin": "partner", "source_id": sources[k >= 400],
             "partner_id": f"P-{k}", "created_dt": now, "updated_dt": now,
             "product_group": "food", "change_seq": first + k + 1}
            for k in range(40_000)
        ])  # fmt: skip
        if backend == "postgresql":
            db.session.connection().exec_driver_sql("ANALYZE entry")
        top = db.session.scalar(select(func.max(Entry.id)))
        plans = []
        for source, (kind, live, text, before) in itertools.product(
            sources,
            [
                (None, None, "", None),
                ("product", True, "", top - 5000),
                (None, False, "", None),
                (None, None, "P-1", top - 100),
            ],
        ):
            statement = source_entries_statement(source, kind, live, text, before, 51)
            plans.append((source, live, query_plan(statement)))
        db.session.rollback()
    for source, live, plan in plans:
        if live is False and backend == "postgresql":
            # Knowing tombstones are few, PostgreSQL may fetch them (off ix_entry_source or the
            # trash's partial indexes) and sort them.
            continue
        if source == sources[0] or backend == "sqlite":
            assert "ix_entry_source" in plan, plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_a_page_of_entries_costs_the_same_queries_as_a_page_of_one(app, client, source):
    """No query per listed entry: the titles of a page come in one query."""
    from tests.test_figures import counting_queries

    sign_in(client, "admin@hub.test")
    counted = {}
    for query in ("", "q=P001"):
        with counting_queries(app) as statements:
            rows = rows_of(entries_page(client, f"/en/admin/sources/{source}?{query}"))
        counted[len(rows)] = len(statements)
        assert sum("entry_translation.entry_id IN" in s for s in statements) == 1
    assert counted[50] == counted[1], counted
