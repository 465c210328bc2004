"""The pictures: the network's world map, the charts, and the tables that say the same in every
language, with or without JavaScript."""

import json
import math
import re
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

from hub.db import utcnow
from hub.extensions import db
from hub.registry.regions import sort_key
from hub.registry.services import change_membership
from hub.registry.worldmap import equal_earth, world_map
from tests.support import sign_in
from tests.test_pages import get, parse, text_of

SVG = "{http://www.w3.org/2000/svg}"  # html5lib puts inline SVG in its own namespace


def figure(tree, figure_id):
    """The figure's table as ``[[cell, …], …]`` (header row first) and its JSON figures."""
    found = tree.find(f".//figure[@id='{figure_id}']")
    assert found is not None, figure_id
    table = [
        [text_of(cell) for cell in row]
        for row in found.iterfind(".//details[@class='chart-table']//table//tr")
    ]
    figures = json.loads(found.find(".//script[@type='application/json']").text)
    return table, figures


def chart_matches_table(table, figures):
    """The chart draws exactly the figures of its table: same rows, same formatted values."""
    header, rows = table[0], table[1:]
    assert header[1:] == [s["name"] for s in figures["series"]]
    assert [row[0] for row in rows] == figures["categories"]
    for column, series in enumerate(figures["series"], start=1):
        assert [row[column] for row in rows] == series["labels"]


def map_countries(tree):
    """``{href: (classes, title)}`` of the countries drawn on the map."""
    svg = tree.find(f".//{SVG}svg[@class='world-map']")
    return {
        a.get("href"): (set(a.get("class").split()), text_of(a.find(f"{SVG}title")))
        for a in svg.iter(f"{SVG}a")
    }


# The map


def test_the_map_shows_members_applicants_and_prospective_countries_apart(app, client):
    with app.test_request_context("/"):
        change_membership("MW", "applicant", "2025-01-10")
        change_membership("KE", "suspended", "2025-02-01", "Dues unpaid")
    tree = parse(get(client, "/en/"))
    drawn = map_countries(tree)
    assert drawn["/en/countries/VN"] == (
        {"map-country", "map-member", "fill-member"},
        "Vietnam: Member",
    )
    assert drawn["/en/countries/MW"] == (
        {"map-country", "map-applicant", "fill-applicant"},
        "Malawi: Applicant",
    )
    assert drawn["/en/countries/BD"] == (
        {"map-country", "map-prospective", "fill-prospective"},
        "Bangladesh: Prospective member",
    )
    assert drawn["/en/countries/KE"][0] == {"map-country", "map-suspended", "fill-suspended"}
    assert len(drawn) == 43  # every registry country, and only those, links to its page
    # Colour is not the only cue: every status but "member" fills with a pattern of its own.
    patterns = {p.get("id") for p in tree.iterfind(f".//{SVG}svg[@class='patterns']//{SVG}pattern")}
    assert {"pattern-applicant", "pattern-prospective", "pattern-suspended"} <= patterns
    with client.get("/static/hub.css") as response:
        css = response.get_data(as_text=True)
    for status in ("applicant", "prospective", "suspended", "withdrawn"):
        assert f".fill-{status} {{ fill: url(#pattern-{status}); }}" in css
    # The legend explains each style with its number of countries.
    legend = [text_of(li) for li in tree.iterfind(".//figure[@class='network-map']//li")]
    assert legend == [
        "Member 11",
        "Applicant 1",
        "Prospective member 30",
        "Suspended 1",
        "Not in the registry",
    ]
    swatches = [
        r.get("class")
        for r in tree.iterfind(f".//figure[@class='network-map']//{SVG}svg/{SVG}rect")
    ]
    assert swatches == [
        "fill-member",
        "fill-applicant",
        "fill-prospective",
        "fill-suspended",
        "fill-other",
    ]


def test_the_map_leaves_out_statuses_nobody_has(client):
    tree = parse(get(client, "/en/"))
    legend = [text_of(li) for li in tree.iterfind(".//figure[@class='network-map']//li")]
    assert legend == ["Member 12", "Applicant 0", "Prospective member 31", "Not in the registry"]


@pytest.mark.parametrize(
    ("lang", "title", "first_members"),
    [
        ("en", "Vietnam: Member", ["Afghanistan", "Cambodia"]),
        ("vi", "Việt Nam: Thành viên", ["Afghanistan", "Ấn Độ"]),  # "Ấ" sorts as "A"
        ("ja", "ベトナム：加盟国", None),
    ],
)
def test_the_map_and_its_table_name_countries_in_the_page_language(
    client, lang, title, first_members
):
    tree = parse(get(client, f"/{lang}/"))
    assert map_countries(tree)[f"/{lang}/countries/VN"][1] == title
    table = tree.find(".//details[@class='map-table']//table")
    rows = {
        row.find("th/span").get("class"): (
            text_of(row.findall("td")[0]),
            [text_of(a) for a in row.findall("td")[1].iter("a")],
        )
        for row in table.iterfind("tbody/tr")
    }
    count, members = rows["status status-member"]
    assert count == "12" and len(members) == 12
    count, prospective = rows["status status-prospective"]
    assert count == "31" and len(prospective) == 31
    for names in (members, prospective):  # sorted by the reader's alphabet
        assert names == sorted(names, key=sort_key)
    if first_members:
        assert members[:2] == first_members
    # The table links each country to its page, as the map does.
    hrefs = {a.get("href") for a in table.iter("a")}
    assert hrefs == set(map_countries(tree))


def test_the_map_is_drawn_on_the_server_from_the_shipped_boundaries():
    # Equal Earth's extent, as its authors (and d3-geo) give it.
    assert equal_earth(0, 0) == (0, 0)
    assert math.isclose(equal_earth(180, 0)[0], 2.70663, rel_tol=1e-5)
    assert math.isclose(equal_earth(-30, 90)[1], 1.3173627, rel_tol=1e-6)
    assert math.isclose(equal_earth(0, -90)[1], -1.3173627, rel_tol=1e-6)
    world = world_map()
    assert world is world_map()  # projected once per process
    assert world.width == 1000 and 400 < world.height < 500
    assert "AQ" not in world.shapes  # Antarctica is left out
    # Every shape is well-formed path data, inside the view box.
    for path in world.shapes.values():
        assert re.fullmatch(r"(M\d+(\.\d+)? \d+(\.\d+)?l[-\d ]+z)+", path), path[:80]
    # The shapes of the whole world stay a few dozen kilobytes of markup.
    assert sum(len(p) for p in world.shapes.values()) + len(world.unnamed) < 60_000
    # Too small to point at: they get a marker.
    assert {"BN", "SV", "RW"} <= set(world.small)


def test_every_registry_country_is_on_the_map(app):
    from hub.registry.models import Country

    with app.app_context():
        codes = set(db.session.scalars(select(Country.code)))
    assert codes - set(world_map().shapes) == set()


# Members over time


@pytest.mark.dates
def test_home_charts_the_members_over_time_with_the_same_figures_as_its_table(app, client, instant):
    with app.test_request_context("/"):
        change_membership("MW", "applicant", "2025-01-10")
        change_membership("MW", "member", "2025-06-01")
        change_membership("PH", "member", "2025-06-01")
        change_membership("KE", "suspended", "2025-09-15")
        change_membership("KE", "withdrawn", "2025-10-01")
    table, figures = figure(parse(get(client, "/en/")), "members-over-time")
    assert table == [
        ["Date", "Members"],
        ["April 17, 2019", "12"],
        ["June 1, 2025", "14"],
        ["September 15, 2025", "13"],
    ]
    chart_matches_table(table, figures)
    assert figures["kind"] == "steps"
    days = [(d - date(1970, 1, 1)).days for d in (date(2019, 4, 17), date(2025, 6, 1))]
    assert figures["x"][:2] == days
    assert figures["x_range"][1] == (instant.date() - date(1970, 1, 1)).days  # to today, in UTC
    assert [label for _value, label in figures["x_ticks"]][:2] == ["2020", "2021"]
    assert figures["y_ticks"] == [[0, "0"], [5, "5"], [10, "10"], [15, "15"]]


@pytest.mark.parametrize(
    ("lang", "first_row", "first_year"),
    [
        ("vi", ["17 tháng 4, 2019", "12"], "2020"),
        ("ja", ["2019年4月17日", "12"], "2020年"),
    ],
)
def test_dates_and_numbers_of_a_chart_follow_the_page_language(client, lang, first_row, first_year):
    table, figures = figure(parse(get(client, f"/{lang}/")), "members-over-time")
    assert table[1] == first_row
    assert figures["x_ticks"][0][1] == first_year
    chart_matches_table(table, figures)


def test_a_history_shorter_than_two_years_is_labelled_by_its_first_and_last_day(app):
    from flask_babel import force_locale

    from hub.charts import Chart, Series

    chart = Chart(
        "steps",
        "Date",
        ["a", "b"],
        [Series("Members", [3, 4])],
        dates=[date(2026, 3, 2), date(2026, 5, 1)],
        end_on=date(2026, 6, 1),
    )
    with app.test_request_context("/"), force_locale("vi"):
        figures = chart.figures()
    day = (date(2026, 3, 2) - date(1970, 1, 1)).days
    assert figures["x_range"] == [day, day + 91]
    assert figures["x_ticks"] == [[day, "2 thg 3, 2026"], [day + 91, "1 thg 6, 2026"]]
    assert figures["y_ticks"] == [[0, "0"], [1, "1"], [2, "2"], [3, "3"], [4, "4"]]


# A country's products


@contextmanager
def counting_queries(app):
    statements = []

    def count(_conn, _cursor, statement, *_args):
        if "SAVEPOINT" not in statement:  # the tests' own (see conftest), not the app's
            statements.append(statement)

    engine = db.binding(app).engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def add_products(specs, country="VN", publish=True):
    """Products of ``country`` from ``[(group, stars)]``, written by an administrator."""
    from hub.accounts.models import User
    from hub.publishing import services

    admin = db.session.scalar(select(User).where(User.email == "admin@hub.test"))
    for index, (group, stars) in enumerate(specs):
        fields = {"product_group": group}
        if stars:
            fields |= {"rating_scheme": "ocop", "stars": stars, "rated_on": date(2026, 1, 5)}
        entry = services.create_entry(
            admin, "product", "en", {"title": f"Product {index}"}, fields, country_code=country
        )
        if publish:
            services.set_status(admin, entry.id, "published")


def test_a_country_page_charts_its_products_by_stars_and_by_group(app, client):
    with app.test_request_context("/"):
        add_products(
            [("food", 4), ("food", 4), ("food", 5), ("herbal", 3), ("tourism", None)]
            + [("beverages", 1)] * 1000
        )
        add_products([("food", 2)], publish=False)  # a draft is not counted
        add_products([("textiles", 5)], country="TH")  # nor another country's product
    tree = parse(get(client, "/en/countries/VN"))
    stars, by_stars = figure(tree, "products-by-stars")
    assert stars == [
        ["Stars", "Products"],
        ["1 star", "1,000"],
        ["3 stars", "1"],
        ["4 stars", "2"],
        ["5 stars", "1"],
        ["Not rated", "1"],
    ]
    chart_matches_table(stars, by_stars)
    assert by_stars["series"][0]["values"] == [1000, 1, 2, 1, 1]
    groups, by_group = figure(tree, "products-by-group")
    assert groups == [
        ["Product group", "Products"],
        ["Food", "3"],
        ["Beverages", "1,000"],
        ["Herbal products", "1"],
        ["Rural tourism services", "1"],
    ]
    chart_matches_table(groups, by_group)
    vietnamese = parse(get(client, "/vi/countries/VN"))
    stars, _figures = figure(vietnamese, "products-by-stars")
    assert stars[1] == ["1 sao", "1.000"]
    groups, _figures = figure(vietnamese, "products-by-group")
    assert groups[1] == ["Thực phẩm", "3"]
    japanese = parse(get(client, "/ja/countries/VN"))
    assert figure(japanese, "products-by-stars")[0][1] == ["1つ星", "1,000"]


def test_counting_a_countrys_products_takes_the_same_queries_however_many(app, client):
    with app.test_request_context("/"):
        add_products([("food", 3)])
    with counting_queries(app) as few:
        get(client, "/en/countries/VN")
    with app.test_request_context("/"):
        add_products([("food", 4), ("herbal", 5), ("tourism", None)] * 10)
    with counting_queries(app) as many:
        get(client, "/en/countries/VN")
    assert len(many) == len(few)


def test_a_country_without_products_has_no_chart_and_no_script(client):
    tree = parse(get(client, "/en/countries/KE"))
    assert tree.find(".//figure") is None
    # Only data for search engines (JSON-LD), which no browser runs.
    assert {s.get("type") for s in tree.iter("script")} == {"application/ld+json"}


# The sync health page


@pytest.mark.dates  # runs of the last 30 days
def test_the_health_page_charts_runs_and_refused_records_per_source(app, client, time_machine):
    time_machine.move_to(utcnow(), tick=False)  # the 30 days do not move during the test
    from hub.sync.models import SyncRun
    from hub.sync.services import add_source

    now = utcnow()
    with app.test_request_context("/"):
        vn = add_source("VN", "jsonfeed", "https://partner.example/vn.json", {"language": "vi"})
        th = add_source("TH", "jsonfeed", "https://partner.example/th.json", {"language": "en"})
        add_source("JP", "jsonfeed", "https://partner.example/jp.json", {"language": "ja"})
        runs = [
            SyncRun(
                source_id=vn.id,
                started_dt=now - timedelta(hours=h),
                status="partial",
                fetched=500,
                rejected=250,
            )
            for h in range(6)
        ]
        runs += [
            SyncRun(source_id=th.id, started_dt=now - timedelta(days=d), status="ok", fetched=10)
            for d in (1, 2, 40)
        ]  # the one of 40 days ago is left out
        db.session.add_all(runs)
        db.session.commit()
    assert sign_in(client, "admin@hub.test", lang="vi").status_code == 302
    tree = parse(get(client, "/vi/admin/sources/"))
    table, figures = figure(tree, "activity-by-source")
    assert table == [
        ["Nguồn", "Các lần chạy", "Bản ghi bị từ chối"],
        [f"Nguồn {vn.id} (Việt Nam)", "6", "1.500"],
        [f"Nguồn {th.id} (Thái Lan)", "2", "0"],
        [f"Nguồn {th.id + 1} (Nhật Bản)", "0", "0"],
    ]
    chart_matches_table(table, figures)
    # Told apart by a pattern, not by colour alone, and named in a legend.
    assert [s["look"] for s in figures["series"]] == ["solid", "hatched"]
    legend = tree.find(".//figure[@id='activity-by-source']/ul[@class='legend']")
    assert [text_of(li) for li in legend] == ["Các lần chạy", "Bản ghi bị từ chối"]
    assert [r.get("class") for r in legend.iter(f"{SVG}rect")] == ["fill-solid", "fill-hatched"]


def test_the_health_chart_takes_the_same_queries_however_many_runs(app, client):
    from hub.sync.models import SyncRun
    from hub.sync.services import add_source

    with app.test_request_context("/"):
        sources = [
            add_source(code, "jsonfeed", f"https://partner.example/{code}.json", {"language": "en"})
            for code in ("VN", "TH", "JP")
        ]
    assert sign_in(client, "admin@hub.test").status_code == 302
    with counting_queries(app) as few:
        get(client, "/en/admin/sources/")
    with app.test_request_context("/"):
        db.session.add_all(
            SyncRun(source_id=s.id, started_dt=utcnow(), rejected=3) for s in sources * 20
        )
        db.session.commit()
    with counting_queries(app) as many:
        get(client, "/en/admin/sources/")
    assert len(many) == len(few)


# Scripts and the charts' degradation (the budget of scripts and styles: tests/test_pages.py)


def test_scripts_only_where_there_are_charts_and_only_from_the_app(client):
    tree = parse(get(client, "/en/"))
    sources = [e.get("src") for e in tree.iter("script") if e.get("src")]
    assert sources == ["/static/vendor/chartist/chartist.umd.js", "/static/charts.js"]
    assert all(e.get("defer") is not None for e in tree.iter("script") if e.get("src"))
    # Everything else is data, which no browser runs (and the Content-Security-Policy allows no
    # inline script anyway).
    for data in (e for e in tree.iter("script") if not e.get("src")):
        assert data.get("type") in ("application/json", "application/ld+json")
        json.loads(data.text)
    tree = parse(get(client, "/en/countries"))
    assert tree.find(".//script") is None


def test_without_javascript_every_chart_is_a_table_in_view(client):
    """The tables are open until the script has drawn their charts (it folds them then); the
    charts' place stays hidden until they are drawn."""
    tree = parse(get(client, "/en/"))
    for chart in tree.iterfind(".//figure[@class='chart chart-steps']"):
        assert chart.find(".//details[@class='chart-table']").get("open") is not None
        assert chart.find(".//div[@class='chart-canvas']").get("hidden") is not None
    # The map needs no script at all: it is in the page.
    assert tree.find(f".//{SVG}svg[@class='world-map']//{SVG}path") is not None


def test_the_vendored_chart_library_is_the_one_documented(client):
    readme = Path("hub/static/vendor/README.md").read_text(encoding="utf-8")
    makefile = Path("Makefile").read_text(encoding="utf-8")
    version = re.search(r"CHARTIST_VERSION := (\S+)", makefile).group(1)
    assert f"| {version} |" in readme
    with client.get("/static/vendor/chartist/chartist.umd.js") as response:
        assert b"Chartist" in response.data and b"sourceMappingURL" not in response.data
