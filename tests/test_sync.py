"""Partner sync against real servers on loopback: each connector, unchanged re-runs, invalid
records, deletions at the partner, and feeds that must be refused without touching earlier data."""

import json
import re
import time

import pytest
from sqlalchemy import func, select, update

from hub.extensions import db
from hub.history.models import Revision
from hub.publishing.models import Entry
from hub.sync import pipeline, services, validate
from hub.sync.models import PartnerSource, RejectedRecord
from tests.support import query_plan

CSV = (
    "\ufeffMã,Tên sản phẩm,Mô tả,Nhóm,Sao,Ngày xếp hạng\n"
    "P1,Chè Tân Cương,Chè búp,beverages,4,2024-05-01\n"
    "P2,Mật ong bạc hà,Mật ong Hà Giang,food,5,2024-06-01\n"
    "P3,Bánh gai,,food,7,2024-06-01\n"
)
CSV_SETTINGS = {
    "language": "vi",
    "mapping": {
        "partner_id": "Mã",
        "title": "Tên sản phẩm",
        "body": "Mô tả",
        "product_group": "Nhóm",
        "stars": "Sao",
        "rated_on": "Ngày xếp hạng",
    },
    "defaults": {"rating_scheme": "ocop"},
}


pytestmark = pytest.mark.usefixtures("loopback_allowed")


def add(app, kind, url, settings, country="VN"):
    with app.test_request_context("/"):
        return services.add_source(country, kind, url, settings).id


def sync(app, source_id):
    with app.test_request_context("/"):
        run = pipeline.run_source(source_id)
        return {k: getattr(run, k) for k in ("status", "error", *run.COUNTS)}


def entries(app, source_id):
    with app.app_context():
        rows = db.session.scalars(
            select(Entry).where(Entry.source_id == source_id).order_by(Entry.partner_id)
        )
        return {
            e.partner_id: (
                e.kind,
                e.text_in(e.source_language).title,
                e.deleted_dt is None,
                e.change_seq,
            )
            for e in rows
        }


def test_csv_products_come_in_and_invalid_rows_are_quarantined(app, client, httpserver):
    httpserver.expect_request("/products.csv").respond_with_data(
        CSV.encode(), content_type="text/csv"
    )
    source = add(app, "csv", httpserver.url_for("/products.csv"), CSV_SETTINGS)
    result = sync(app, source)
    assert result == {"status": "partial", "error": None, "fetched": 3, "created": 2, "updated": 0,
                      "unchanged": 0, "deleted": 0, "rejected": 1, "held": 0}  # fmt: skip
    assert {k: v[:3] for k, v in entries(app, source).items()} == {
        "P1": ("product", "Chè Tân Cương", True),
        "P2": ("product", "Mật ong bạc hà", True),
    }
    with app.app_context():
        rejected = db.session.scalars(select(RejectedRecord)).all()
        assert [(r.partner_id, r.reasons) for r in rejected] == [
            (
                "P3",
                {
                    "en": {"stars": ["A rating has 1 to 5 stars."]},
                    "vi": {"stars": ["Kết quả phân hạng có từ 1 đến 5 sao."]},
                    "ja": {"stars": ["格付けは1〜5つ星です。"]},
                    "columns": CSV_SETTINGS["mapping"],
                },
            )
        ]
        p1 = db.session.scalar(select(Entry).where(Entry.partner_id == "P1"))
        assert (
            p1.origin,
            p1.country_code,
            p1.stars,
            p1.rating_scheme,
            p1.valid_until.isoformat(),
        ) == ("partner", "VN", 4, "ocop", "2027-05-01")
    page = client.get("/en/products").get_data(as_text=True)
    assert "Chè Tân Cương" in page and "from a partner source" in page


def test_csv_columns_latitude_and_longitude_place_the_producer(app, httpserver):
    httpserver.expect_request("/located.csv").respond_with_data(
        (
            # A column by the field's name, one by the export's header in Vietnamese.
            "partner_id,title,product_group,locality,latitude,Kinh độ\n"
            "L1,Chè Tân Cương,beverages,Thái Nguyên,21.5925,105.8442\n"
            "L2,Mật ong,food,Hà Giang,,\n"
            "L3,Bánh gai,food,,21.1,\n"
            "L4,Bánh cốm,food,,95,105\n"
        ).encode()
    )
    source = add(app, "csv", httpserver.url_for("/located.csv"), {"language": "vi"})
    result = sync(app, source)
    assert (result["created"], result["rejected"]) == (2, 2), result
    with app.app_context():
        located = {
            e.partner_id: (e.latitude, e.longitude)
            for e in db.session.scalars(select(Entry).where(Entry.source_id == source))
        }
        assert located == {"L1": (21.5925, 105.8442), "L2": (None, None)}
        reasons = {
            r.partner_id: r.reasons["en"] for r in db.session.scalars(select(RejectedRecord))
        }
        assert reasons == {
            "L3": {"longitude": ["Give the latitude and the longitude together, or leave both empty."]},
            "L4": {"latitude": ["Enter a number of degrees between -90 and 90."]},
        }  # fmt: skip


def test_an_unchanged_source_writes_nothing(app, httpserver):
    httpserver.expect_request("/products.csv").respond_with_data(CSV.encode())
    source = add(app, "csv", httpserver.url_for("/products.csv"), CSV_SETTINGS)
    sync(app, source)
    before = entries(app, source)
    result = sync(app, source)
    assert (result["created"], result["updated"], result["unchanged"], result["deleted"]) == (
        0,
        0,
        2,
        0,
    )
    assert entries(app, source) == before  # not even a new change sequence number


def test_the_same_content_in_another_form_is_unchanged(app, httpserver):
    """A record whose fingerprint differs from the stored one while the entry already holds
    what it says (here: the fingerprint was made by an older version of the hub) is unchanged:
    no change number, no revision; only its fingerprint is kept, for the next run to skip it.
    A dry run against the source says the same."""
    clean = "".join(CSV.splitlines(keepends=True)[:3])  # P1 and P2
    httpserver.expect_request("/p.csv").respond_with_data(clean.encode())
    source = add(app, "csv", httpserver.url_for("/p.csv"), CSV_SETTINGS)
    sync(app, source)
    before = entries(app, source)
    with app.app_context():
        revisions = db.session.scalar(select(func.count()).select_from(Revision))
        first = dict(db.session.execute(select(Entry.partner_id, Entry.content_fingerprint)).all())
        db.session.execute(
            update(Entry).where(Entry.partner_id == "P2").values(content_fingerprint="f" * 64)
        )
        db.session.commit()
    httpserver.clear()  # other bytes, the same records: read record by record
    httpserver.expect_request("/p.csv").respond_with_data(clean.replace("\n", "\r\n").encode())
    with app.test_request_context("/"):
        held = db.session.get(PartnerSource, source)
        settings = validate.check_settings("csv", held.settings)
        report = validate.dry_run("csv", settings, "VN", held)
    assert (report.counts["unchanged"], report.counts["updated"]) == (2, 0)
    result = sync(app, source)
    assert (result["status"], result["updated"], result["unchanged"]) == ("ok", 0, 2)
    assert entries(app, source) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Revision)) == revisions
        stored = dict(db.session.execute(select(Entry.partner_id, Entry.content_fingerprint)).all())
    assert stored == first  # P2's is this version's again: the next run skips it by that


def test_the_same_document_again_ends_the_run_at_once(app, httpserver):
    """A partner without ETag or Last-Modified: the same bytes as the last run that took every
    record mean nothing changed. Other bytes with the same records still go record by record,
    and so does every run after one that refused records (as in the test above)."""
    clean = "".join(CSV.splitlines(keepends=True)[:3])  # P1 and P2: nothing to refuse
    httpserver.expect_request("/p.csv").respond_with_data(clean.encode())
    source = add(app, "csv", httpserver.url_for("/p.csv"), CSV_SETTINGS)
    assert sync(app, source)["status"] == "ok"
    before = entries(app, source)
    again = sync(app, source)
    assert (again["status"], again["fetched"], again["unchanged"]) == ("not_modified", 0, 0)
    assert entries(app, source) == before
    httpserver.clear()
    reordered = clean.splitlines(keepends=True)
    httpserver.expect_request("/p.csv").respond_with_data(
        "".join([reordered[0], reordered[2], reordered[1]]).encode()
    )
    result = sync(app, source)
    assert (result["status"], result["fetched"], result["unchanged"]) == ("ok", 2, 2)
    assert entries(app, source) == before
    with app.test_request_context("/"):  # other settings: from scratch, record by record
        settings = {**CSV_SETTINGS, "defaults": {"rating_scheme": "ocop", "locality": "Hà Giang"}}
        services.update_source(source, httpserver.url_for("/p.csv"), settings, 60)
    result = sync(app, source)
    assert (result["status"], result["updated"]) == ("ok", 2)


def test_a_304_ends_the_run_at_once(app, httpserver):
    httpserver.expect_request("/p.csv").respond_with_data(CSV.encode(), headers={"ETag": '"v1"'})
    source = add(app, "csv", httpserver.url_for("/p.csv"), CSV_SETTINGS)
    sync(app, source)
    httpserver.clear()
    httpserver.expect_request("/p.csv", headers={"If-None-Match": '"v1"'}).respond_with_data(
        "", status=304
    )
    before = entries(app, source)
    assert sync(app, source)["status"] == "not_modified"
    assert entries(app, source) == before


def test_changes_and_deletions_at_the_partner_reach_the_hub(app, client, httpserver):
    httpserver.expect_request("/p.csv").respond_with_data(CSV.encode())
    source = add(app, "csv", httpserver.url_for("/p.csv"), CSV_SETTINGS)
    sync(app, source)
    before = entries(app, source)
    changed = CSV.replace("Chè Tân Cương", "Chè Tân Cương đặc biệt").replace(
        "P2,Mật ong bạc hà,Mật ong Hà Giang,food,5,2024-06-01\n", ""
    )
    httpserver.clear()
    httpserver.expect_request("/p.csv").respond_with_data(changed.encode())
    result = sync(app, source)
    assert (result["updated"], result["deleted"]) == (1, 1)
    after = entries(app, source)
    assert after["P1"][1] == "Chè Tân Cương đặc biệt" and after["P1"][3] > before["P1"][3]
    assert after["P2"][2] is False  # a tombstone
    assert "Mật ong bạc hà" not in client.get("/vi/products").get_data(as_text=True)


JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "OTOP news",
    "language": "en",
    "items": [
        {
            "id": "a1",
            "title": "Weaving villages of Isan",
            "content_html": "<p>Silk <b>weavers</b> &amp; dyers.</p>",
            "summary": "How villages organised.",
        },
        {"id": "a2", "title": "หมู่บ้านทอผ้า", "content_text": "ja text", "language": "ja"},
    ],
    "next_url": None,
}


def test_json_feed_items_become_experiences_across_pages(app, httpserver):
    page2 = {
        **JSON_FEED,
        "items": [
            {"id": "a3", "title": "Làng nghề", "content_text": "Nội dung", "language": "vi-VN"}
        ],
    }
    page1 = {**JSON_FEED, "next_url": httpserver.url_for("/feed2.json")}
    httpserver.expect_request("/feed.json").respond_with_json(page1)
    httpserver.expect_request("/feed2.json").respond_with_json(page2)
    source = add(app, "jsonfeed", httpserver.url_for("/feed.json"), {"collection": "experiences"})
    result = sync(app, source)
    assert (result["status"], result["created"]) == ("ok", 3)
    with app.app_context():
        rows = {
            e.partner_id: e
            for e in db.session.scalars(select(Entry).where(Entry.source_id == source))
        }
        assert {k: (e.kind, e.source_language) for k, e in rows.items()} == {
            "a1": ("experience", "en"),
            "a2": ("experience", "ja"),
            "a3": ("experience", "vi"),
        }
        assert rows["a1"].text_in("en").body == "Silk **weavers** & dyers."  # Markdown


ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Partner//Fairs//EN
BEGIN:VTIMEZONE
TZID:Asia/Tokyo
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0900
TZOFFSETTO:+0900
TZNAME:JST
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:oita-1@partner
DTSTAMP:20260101T000000Z
SUMMARY:Oita OVOP fair
DTSTART;TZID=Asia/Tokyo:20271103T100000
DTEND;TZID=Asia/Tokyo:20271103T170000
LOCATION:Oita city
END:VEVENT
BEGIN:VEVENT
UID:multi-2@partner
DTSTAMP:20260101T000000Z
SUMMARY:Three-day craft market
DTSTART;VALUE=DATE:20271201
DTEND;VALUE=DATE:20271204
END:VEVENT
BEGIN:VEVENT
UID:cancel-3@partner
DTSTAMP:20260101T000000Z
SUMMARY:Cancelled fair
STATUS:CANCELLED
DTSTART:20271010T020000Z
DTEND:20271010T080000Z
END:VEVENT
END:VCALENDAR
"""


def test_ical_fairs_keep_zones_all_day_spans_and_cancellations(app, httpserver):
    httpserver.expect_request("/fairs.ics").respond_with_data(
        ICS.replace("\n", "\r\n"), content_type="text/calendar"
    )
    source = add(
        app,
        "ical",
        httpserver.url_for("/fairs.ics"),
        {"language": "en", "timezone": "Asia/Ho_Chi_Minh"},
        country="JP",
    )
    result = sync(app, source)
    assert (result["status"], result["created"]) == ("ok", 3), result
    with app.app_context():
        fairs = {
            e.partner_id: e
            for e in db.session.scalars(select(Entry).where(Entry.source_id == source))
        }
        oita = fairs["oita-1@partner"]
        assert (
            oita.timezone,
            oita.starts_local.isoformat(),
            oita.ends_local.isoformat(),
            oita.all_day,
        ) == ("Asia/Tokyo", "2027-11-03T10:00:00", "2027-11-03T17:00:00", False)
        multi = fairs["multi-2@partner"]
        assert (
            multi.all_day,
            multi.starts_local.date().isoformat(),
            multi.ends_local.date().isoformat(),
        ) == (True, "2027-12-01", "2027-12-03")
        cancelled = fairs["cancel-3@partner"]
        assert cancelled.fair_status == "cancelled"
        assert (cancelled.timezone, cancelled.starts_local.isoformat()) == (
            "Asia/Ho_Chi_Minh",
            "2027-10-10T09:00:00",
        )


def test_ckan_datasets_are_read_page_by_page(app, httpserver):
    def package(n):
        return {
            "id": f"id-{n}",
            "name": f"ocop-{n}",
            "title": f"OCOP dataset {n}",
            "notes": "Data.",
            "organization": {"title": "Ministry"},
        }

    httpserver.expect_request(
        "/api/3/action/package_search", query_string="rows=2&start=0"
    ).respond_with_json(
        {"success": True, "result": {"count": 3, "results": [package(1), package(2)]}}
    )
    httpserver.expect_request(
        "/api/3/action/package_search", query_string="rows=2&start=2"
    ).respond_with_json({"success": True, "result": {"count": 3, "results": [package(3)]}})
    source = add(app, "ckan", httpserver.url_for("/"), {"rows": 2})
    result = sync(app, source)
    assert (result["status"], result["created"]) == ("ok", 3), result
    with app.app_context():
        policy = db.session.scalar(select(Entry).where(Entry.partner_id == "id-3"))
        assert (policy.kind, policy.issuing_body, policy.link) == (
            "policy",
            "Ministry",
            httpserver.url_for("/dataset/ocop-3"),
        )


def _too_slow(_request):
    from werkzeug import Response

    time.sleep(3)  # past the 2-second deadline the test sets
    return Response(CSV)


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        (lambda s: s.expect_request("/p.csv").respond_with_data("x" * 60_000_000), "larger than"),
        (
            lambda s: s.expect_request("/p.csv").respond_with_data(
                "", status=302, headers={"Location": "http://169.254.169.254/"}
            ),
            "not a public address",
        ),
        (
            lambda s: s.expect_request("/p.csv").respond_with_data("a,b\n1,2\n"),
            "the file has no column",
        ),
        (lambda s: s.expect_request("/p.csv").respond_with_data(b"\xff\xfe\x00bad"), "not UTF-8"),
        (
            lambda s: s.expect_request("/p.csv").respond_with_data("down", status=500),
            "the server answered 500",
        ),
        (
            lambda s: s.expect_request("/p.csv").respond_with_handler(_too_slow),
            "within 2 s",
        ),
    ],
)
def test_a_bad_feed_is_refused_without_touching_earlier_data(app, httpserver, setup, error):
    httpserver.expect_request("/p.csv").respond_with_data(CSV.encode())
    source = add(app, "csv", httpserver.url_for("/p.csv"), CSV_SETTINGS)
    sync(app, source)
    before = entries(app, source)
    httpserver.clear()
    setup(httpserver)
    app.config["FETCH_DEADLINE"] = 2  # reset after the test by the loopback_allowed fixture
    result = sync(app, source)
    assert result["status"] == "failed" and error in result["error"], result
    assert entries(app, source) == before
    with app.app_context():
        failing = db.session.get(PartnerSource, source)
        assert failing.consecutive_failures == 1 and error in failing.last_error


def test_a_source_failing_again_and_again_is_paused_with_its_reason(app, httpserver):
    httpserver.expect_request("/p.csv").respond_with_data("gone", status=404)
    source = add(app, "csv", httpserver.url_for("/p.csv"), CSV_SETTINGS)
    for _ in range(5):
        sync(app, source)
    with app.app_context():
        paused = db.session.get(PartnerSource, source)
        assert not paused.enabled
        assert "the server answered 404" in paused.paused_reason


def test_synced_entries_are_read_only_for_local_editors(app, client, httpserver):
    from tests.support import csrf_token, sign_in

    httpserver.expect_request("/p.csv").respond_with_data(CSV.encode())
    source = add(app, "csv", httpserver.url_for("/p.csv"), CSV_SETTINGS)
    sync(app, source)
    with app.app_context():
        synced = db.session.scalar(select(Entry.id).where(Entry.partner_id == "P1"))
    sign_in(client, "coordinator.vn@hub.test")
    assert client.get(f"/en/manage/entries/{synced}").status_code == 404
    before = entries(app, source)
    token = csrf_token(client, "/en/manage/")
    for url, data in ((f"/en/manage/entries/{synced}/status", {"status": "archived"}),
                      (f"/en/manage/entries/{synced}/delete", {}),
                      (f"/en/manage/entries/{synced}/text/vi", {"title": "Changed"})):  # fmt: skip
        assert client.post(url, data={"csrf_token": token, **data}).status_code == 404
    assert entries(app, source) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--country", "ZZ", "--kind", "csv", "--url", "https://x.example/p.csv"],
            "There is no country with the code “ZZ”",
        ),
        (
            ["--country", "VN", "--kind", "rss", "--url", "https://x.example/p"],
            "“rss” is not a kind of source; use one of: ckan, csv, hub, ical, or jsonfeed.",
        ),
        (
            ["--country", "VN", "--kind", "csv", "--url", "ftp://x.example/p.csv"],
            "Enter a web address starting with http:// or https://.",
        ),
        (
            [
                "--country",
                "VN",
                "--kind",
                "csv",
                "--url",
                "https://x.example/p.csv",
                "--settings",
                "{bad",
            ],
            "The settings are not valid JSON",
        ),
        (
            [
                "--country",
                "VN",
                "--kind",
                "csv",
                "--url",
                "https://x.example/p.csv",
                "--settings",
                '{"language": "vi", "mapping": ["title"]}',
            ],
            "The setting “mapping” must map",
        ),
        (
            [
                "--country",
                "VN",
                "--kind",
                "ical",
                "--url",
                "https://x.example/f.ics",
                "--every",
                "1",
            ],
            "Sync every 5 to 10080 minutes.",
        ),
    ],
)
def test_add_source_refuses_bad_sources(app, runner, args, message):
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(PartnerSource))
    result = runner.invoke(args=["hub", "add-source", *args], env={"LANG": "C"})
    assert result.exit_code == 1 and message in result.output, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PartnerSource)) == before


def test_sync_command_runs_and_summarises(app, runner, httpserver):
    httpserver.expect_request("/p.csv").respond_with_data(CSV.encode())
    result = runner.invoke(
        args=[
            "hub",
            "add-source",
            "--country",
            "VN",
            "--kind",
            "csv",
            "--url",
            httpserver.url_for("/p.csv"),
            "--settings",
            json.dumps(CSV_SETTINGS),
        ],
        env={"LANG": "C"},
    )
    assert result.exit_code == 0, result.output
    source_id = result.output.split()[1]
    result = runner.invoke(args=["hub", "sync", source_id], env={"LANG": "C"})
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-2].split() == [
        "Source",
        "Status",
        "Fetched",
        "Created",
        "Updated",
        "Unchanged",
        "Deleted",
        "Rejected",
        "Held",
    ]
    assert lines[-1].split() == [source_id, "partial", "3", "2", "0", "0", "0", "1", "0"]


def test_administrators_add_sync_and_pause_a_source_on_its_page(app, client, httpserver):
    from tests.support import csrf_token, sign_in

    httpserver.expect_request("/p.csv").respond_with_data(CSV.encode())
    sign_in(client, "admin@hub.test")
    token = csrf_token(client, "/en/admin/sources/")
    bad = {
        "csrf_token": token,
        "country": "VN",
        "kind": "csv",
        "url": httpserver.url_for("/p.csv"),
        "every": "60",
        "settings": '{"language": "vi", "delimiter": ";;"}',
    }
    response = client.post("/en/admin/sources/", data=bad)
    assert response.status_code == 422
    assert "The settings do not suit a csv source" in response.get_data(as_text=True)
    good = {**bad, "settings": json.dumps(CSV_SETTINGS)}
    response = client.post("/en/admin/sources/", data=good)
    assert response.status_code == 302
    page_url = response.headers["Location"]
    token = csrf_token(client, page_url)
    response = client.post(f"{page_url}/sync", data={"csrf_token": token})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Synced: 2 created, 0 updated, 0 unchanged, 0 deleted, 1 refused, 0 held." in page
    assert "A rating has 1 to 5 stars." in page  # the refused record and its reason
    assert re.search(r"<td>partial</td>(\s*<td class=\"num\">\d+</td>){6}", page)
    client.post(f"{page_url}/pause", data={"csrf_token": token})
    assert "Paused" in client.get(page_url).get_data(as_text=True)
    page = client.get("/vi/admin/sources/").get_data(as_text=True)
    assert "Nguồn đối tác" in page
    vi_page = client.get(page_url.replace("/en/", "/vi/")).get_data(as_text=True)
    assert "Kết quả phân hạng có từ 1 đến 5 sao." in vi_page


def test_coordinators_cannot_reach_the_source_pages(app, client):
    from tests.support import sign_in

    sign_in(client, "coordinator.vn@hub.test")
    assert client.get("/en/admin/sources/").status_code == 403


def test_removing_a_source_keeps_its_entries(app, client, httpserver):
    from tests.support import csrf_token, sign_in

    httpserver.expect_request("/p.csv").respond_with_data(CSV.encode())
    source = add(app, "csv", httpserver.url_for("/p.csv"), CSV_SETTINGS)
    sync(app, source)
    sign_in(client, "admin@hub.test")
    page_url = f"/en/admin/sources/{source}"
    response = client.post(f"{page_url}/remove", data={"csrf_token": csrf_token(client, page_url)})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(PartnerSource, source) is None
        assert db.session.scalar(select(func.count()).select_from(RejectedRecord)) == 0
        kept = db.session.scalars(select(Entry.partner_id).where(Entry.origin == "partner")).all()
        assert sorted(kept) == ["P1", "P2"]


def test_sync_now_works_on_a_paused_source(app, client, httpserver):
    from tests.support import csrf_token, sign_in

    httpserver.expect_request("/p.csv").respond_with_data(CSV.encode())
    source = add(app, "csv", httpserver.url_for("/p.csv"), CSV_SETTINGS)
    with app.test_request_context("/"):
        services.set_enabled(source, False)
    sign_in(client, "admin@hub.test")
    page_url = f"/en/admin/sources/{source}"
    response = client.post(f"{page_url}/sync", data={"csrf_token": csrf_token(client, page_url)})
    assert "Synced: 2 created" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_changing_a_source_starts_it_again_from_scratch(app, httpserver):
    httpserver.expect_request("/p.csv").respond_with_data(CSV.encode(), headers={"ETag": '"v1"'})
    source = add(app, "csv", httpserver.url_for("/p.csv"), CSV_SETTINGS)
    sync(app, source)
    with app.test_request_context("/"):
        changed = {**CSV_SETTINGS, "defaults": {"rating_scheme": "other"}}
        services.update_source(source, httpserver.url_for("/p.csv"), changed, 60)
        assert db.session.get(PartnerSource, source).etag is None
    result = sync(app, source)
    assert result["status"] != "not_modified" and result["updated"] == 2


def test_a_run_that_loses_its_lease_writes_nothing_more(app, httpserver):
    from hub.sync.pipeline import LeaseLost

    httpserver.expect_request("/p.csv").respond_with_data(CSV.encode())
    source = add(app, "csv", httpserver.url_for("/p.csv"), CSV_SETTINGS)

    def lost():
        raise LeaseLost(source)

    with app.test_request_context("/"):
        run = pipeline.run_source(source, keep_lease=lost)
        assert run.status == "failed"
    assert entries(app, source) == {}


def test_an_empty_snapshot_is_held(app, httpserver):
    httpserver.expect_request("/p.csv").respond_with_data(CSV.encode())
    source = add(app, "csv", httpserver.url_for("/p.csv"), CSV_SETTINGS)
    sync(app, source)
    before = entries(app, source)
    httpserver.clear()
    httpserver.expect_request("/p.csv").respond_with_data(
        CSV.splitlines()[0] + "\n"
    )  # the header only
    result = sync(app, source)
    assert (result["status"], result["deleted"], result["held"]) == ("held", 0, 2)
    assert entries(app, source) == before


def test_refusals_of_old_runs_are_pruned(app, httpserver):
    httpserver.expect_request("/p.csv").respond_with_data(CSV.encode())
    source = add(app, "csv", httpserver.url_for("/p.csv"), CSV_SETTINGS)
    for _ in range(12):
        sync(app, source)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RejectedRecord)) == 10


@pytest.mark.parametrize(
    ("kind", "settings", "message"),
    [
        ("ical", {"timezone": 5}, "“5” is not a time zone of the IANA database"),
        ("ical", {"timezone": "x" * 300}, "is not a time zone of the IANA database"),
        ("hub", {"country": "TH"}, 'A hub source follows its own country: set "country": "VN".'),
    ],
)
def test_odd_settings_get_a_message(app, kind, settings, message):
    with (
        app.test_request_context("/"),
        pytest.raises(services.SourceError, match=re.escape(message)),
    ):
        services.add_source("VN", kind, "https://partner.example/x", settings)


def test_a_product_list_larger_than_the_memory_spool_syncs_whole(app, httpserver):
    """Over 1 MiB the document is read from a temporary file, a line at a time."""
    rows = ["Mã,Tên sản phẩm,Mô tả,Nhóm,Sao,Ngày xếp hạng"]
    rows += [f"K{n},Sản phẩm {n},{'Mô tả dài. ' * 60},food,3,2024-01-01" for n in range(2000)]
    body = ("\ufeff" + "\n".join(rows) + "\n").encode()
    assert len(body) > 1024 * 1024
    httpserver.expect_request("/big.csv").respond_with_data(body)
    source = add(app, "csv", httpserver.url_for("/big.csv"), CSV_SETTINGS)
    result = sync(app, source)
    assert (result["status"], result["created"], result["rejected"]) == ("ok", 2000, 0)
    copy = entries(app, source)
    assert copy["K1999"][1] == "Sản phẩm 1999"


def test_the_last_of_two_records_with_one_id_wins(app, httpserver):
    """Within one batch the second record with an id is applied after the first, also when it
    repeats what the hub already holds."""
    head = "\ufeffMã,Tên sản phẩm,Mô tả,Nhóm,Sao,Ngày xếp hạng\n"
    a = "P1,Chè Tân Cương,,beverages,4,2024-05-01\n"
    b = "P1,Chè Thái Nguyên,,beverages,4,2024-05-01\n"
    source = None
    for rows, title in ((a, "Chè Tân Cương"), (b, "Chè Thái Nguyên"), (a + b, "Chè Thái Nguyên")):
        httpserver.clear()
        httpserver.expect_request("/p.csv").respond_with_data((head + rows).encode())
        source = source or add(app, "csv", httpserver.url_for("/p.csv"), CSV_SETTINGS)
        assert sync(app, source)["status"] == "ok"
        assert entries(app, source)["P1"][1] == title


def test_a_first_sync_finds_an_id_it_wrote_in_an_earlier_batch(app, httpserver):
    """A source's first run looks up only the ids its earlier batches had (it has no entry
    else): a record sent again a batch later updates the entry the run made, and a source
    whose entries are all deleted is not taken for a new one (its entries come back)."""
    head = "\ufeffMã,Tên sản phẩm,Mô tả,Nhóm,Sao,Ngày xếp hạng\n"
    rows = [f"K{n},Sản phẩm {n},,food,3,2024-01-01\n" for n in range(pipeline.BATCH_SIZE + 5)]
    again = "K1,Sản phẩm một,,food,4,2024-01-01\n"
    httpserver.expect_request("/p.csv").respond_with_data((head + "".join(rows) + again).encode())
    source = add(app, "csv", httpserver.url_for("/p.csv"), CSV_SETTINGS)
    result = sync(app, source)
    assert (result["status"], result["created"], result["updated"]) == (
        "ok", pipeline.BATCH_SIZE + 5, 1)  # fmt: skip
    copy = entries(app, source)
    assert len(copy) == pipeline.BATCH_SIZE + 5 and copy["K1"][1] == "Sản phẩm một"
    with app.app_context():
        db.session.execute(
            update(Entry).where(Entry.source_id == source).values(deleted_dt=func.now())
        )
        db.session.execute(
            update(PartnerSource).where(PartnerSource.id == source).values(content_digest=None)
        )
        db.session.commit()
    result = sync(app, source)  # K1 is updated twice again
    assert (result["status"], result["created"], result["updated"]) == (
        "ok", 0, pipeline.BATCH_SIZE + 6)  # fmt: skip
    with app.app_context():
        alive = select(func.count()).where(Entry.source_id == source, Entry.deleted_dt.is_(None))
        assert db.session.scalar(alive) == pipeline.BATCH_SIZE + 5


def test_rows_inserted_in_bulk_keep_each_values_own_type(app):
    """True and 1 are equal in Python but not in JSON: a fair's list of groups stays a list and
    each value is converted as its column's type would, however many alike share a batch."""
    from sqlalchemy import Column, Integer, MetaData, Table
    from sqlalchemy.types import JSON

    from hub.extensions import db as database
    from hub.sync.rows import insert_rows

    table = Table(
        "bulk_probe", MetaData(), Column("id", Integer, primary_key=True), Column("v", JSON)
    )
    with app.app_context():
        connection = database.session.connection()
        table.create(connection)
        values = [True, 1, 1.5, [1, True], None, "1"]
        insert_rows(table, [{"id": i, "v": v} for i, v in enumerate(values)])
        stored = [row.v for row in connection.execute(table.select().order_by(table.c.id))]
        assert [(type(v), v) for v in stored] == [
            (bool, True), (int, 1), (float, 1.5), (list, [1, True]), (type(None), None), (str, "1")
        ]  # fmt: skip
        database.session.rollback()


def test_a_batch_looks_its_ids_up_in_the_index_without_statistics(app, backend, time_machine):
    """A first sync fills a table the database has no statistics for yet (PostgreSQL analyzes it
    later, or never with autovacuum off): each batch's lookup by partner id must still go
    through the (source, partner id) index, not through all of the source's entries."""
    from hub.sync.lookups import by_partner_ids
    from hub.sync.models import PartnerSource
    from hub.sync.rows import insert_rows

    with app.test_request_context("/"):
        source_id = add(app, "csv", "http://127.0.0.1/products.csv", CSV_SETTINGS)
        source = db.session.get(PartnerSource, source_id)
        time_machine.move_to(pipeline.utcnow(), tick=False)  # one moment for every row
        now = pipeline.utcnow()
        base = {"kind": "product", "country_code": "VN", "status": "draft",
                "source_language": "vi", "origin": "partner", "source_id": source.id,
                "created_dt": now, "updated_dt": now, "product_group": "food"}  # fmt: skip
        first = db.session.scalar(select(func.coalesce(func.max(Entry.change_seq), 0)))
        insert_rows(
            Entry.__table__,
            [{**base, "partner_id": f"P-{k}", "change_seq": first + k + 1} for k in range(20_000)],
        )
        statement = by_partner_ids(backend, (Entry.partner_id, Entry.id))
        ids = [f"P-{k}" for k in range(5000, 5500)]
        found = db.session.execute(statement, {"source_id": source.id, "ids": ids}).all()
        assert sorted(partner_id for partner_id, _id in found) == sorted(ids)
        plan = query_plan(statement.params(source_id=source.id, ids=ids))
        db.session.rollback()
    assert "uq_entry_partner" in plan, plan
    assert "partner_id" in plan.split("uq_entry_partner", 1)[1], plan  # both columns, not one
    assert "Hash" not in plan and "SCAN" not in plan, plan


def test_a_lone_surrogate_is_refused_and_costs_no_other_record(app, httpserver):
    """JSON may carry "\\ud800", text no database can store: that record is refused with the
    reason in every language, and the rest of its batch is written (an emoji, a surrogate
    pair in JSON, is text like any other)."""
    feed = {**JSON_FEED, "items": [
        {"id": "ok", "title": "Trà sen \U0001f375", "content_text": "Sen Tây Hồ"},
        {"id": "bad-title", "title": "Lotus \ud800 tea", "content_text": "x"},
        {"id": "bad-\udc00-id", "title": "Lotus tea", "content_text": "x"},
        {"id": "also-ok", "title": "Silk", "content_text": "Isan"},
    ]}  # fmt: skip
    body = json.dumps(feed)  # ASCII, with the escapes as a partner would send them
    assert "\\ud800" in body and "\\ud83c\\udf75" in body
    httpserver.expect_request("/feed.json").respond_with_data(body, content_type="application/json")
    source = add(app, "jsonfeed", httpserver.url_for("/feed.json"), {"collection": "experiences"})
    result = sync(app, source)
    assert result == {"status": "partial", "error": None, "fetched": 4, "created": 2, "updated": 0,
                      "unchanged": 0, "deleted": 0, "rejected": 2, "held": 0}  # fmt: skip
    with app.app_context():
        titles = {
            e.partner_id: e.text_in("en").title
            for e in db.session.scalars(select(Entry).where(Entry.source_id == source))
        }
        assert titles == {"ok": "Trà sen \U0001f375", "also-ok": "Silk"}
        refused = {
            r.partner_id: r
            for r in db.session.scalars(
                select(RejectedRecord).where(RejectedRecord.source_id == source)
            )
        }
    assert set(refused) == {"bad-title", "bad-\ufffd-id"}
    title = refused["bad-title"]
    assert title.reasons["en"] == {
        "translations.en.title": ["This text is not valid Unicode (it has a lone surrogate)."]
    }
    assert title.record["translations"]["en"]["title"] == "Lotus \ufffd tea"
    messages = {
        lang: title.reasons[lang]["translations.en.title"][0] for lang in ("vi", "en", "ja")
    }
    assert len(set(messages.values())) == 3, messages
    assert refused["bad-\ufffd-id"].reasons["ja"]["id"] == [messages["ja"]]
