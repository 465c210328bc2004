"""A sync never deletes a partner's entries unless the partner really said so: refused records
and records without ids list nothing, incomplete runs delete nothing, a sharp shrink is held for
an administrator's review, and one document is all or nothing. Real partners on loopback."""

import json

import pytest
from sqlalchemy import func, select
from werkzeug import Response

from hub.extensions import db
from hub.sync import pipeline, services, snapshots
from hub.sync.models import HeldDeletion, SyncRun
from tests.support import csrf_token, sign_in
from tests.test_sync import add, entries, sync

CSV_SETTINGS = {
    "language": "vi",
    "mapping": {"partner_id": "Mã", "title": "Tên", "product_group": "Nhóm"},
}


pytestmark = pytest.mark.usefixtures("loopback_allowed")


def csv_of(ids, header="Mã,Tên,Nhóm"):
    return (header + "\n" + "".join(f"{i},Sản phẩm {i},food\n" for i in ids)).encode()


def feed_of(ids, id_key="id", **more):
    items = [{id_key: f"e{i}", "title": f"Story {i}", "content_text": "Text"} for i in ids]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "F",
                       "items": items, **more})  # fmt: skip


def alive(app, source):
    return sorted(k for k, v in entries(app, source).items() if v[2])


def serve(httpserver, path, body):
    httpserver.clear()
    httpserver.expect_request(path).respond_with_data(body)
    return httpserver.url_for(path)


def test_a_feed_whose_ids_were_renamed_deletes_nothing(app, httpserver):
    url = serve(httpserver, "/f.json", feed_of(range(50)))
    source = add(app, "jsonfeed", url, {"collection": "experiences"})
    assert sync(app, source)["created"] == 50
    serve(httpserver, "/f.json", feed_of(range(50), id_key="guid"))
    result = sync(app, source)
    assert (result["status"], result["rejected"], result["deleted"], result["held"]) == (
        "held", 50, 0, 50)  # fmt: skip
    assert len(alive(app, source)) == 50


def test_a_csv_with_empty_ids_deletes_nothing(app, httpserver):
    url = serve(httpserver, "/p.csv", csv_of(range(50)))
    source = add(app, "csv", url, CSV_SETTINGS)
    assert sync(app, source)["created"] == 50
    serve(httpserver, "/p.csv", csv_of([""] * 50))
    result = sync(app, source)
    assert (result["status"], result["rejected"], result["deleted"]) == ("held", 50, 0)
    assert len(alive(app, source)) == 50


def test_a_csv_with_an_unbalanced_quote_is_held(app, httpserver):
    url = serve(httpserver, "/p.csv", csv_of(range(50)))
    source = add(app, "csv", url, CSV_SETTINGS)
    sync(app, source)
    broken = csv_of(range(50)).decode().replace("Sản phẩm 1,", 'Sản phẩm "1,', 1)
    broken = broken.replace(',Sản phẩm "1,', ',"Sản phẩm 1,', 1)  # a quote that never closes
    serve(httpserver, "/p.csv", broken.encode())
    result = sync(app, source)
    assert result["status"] == "held" and result["deleted"] == 0
    assert result["held"] >= 25
    assert len(alive(app, source)) == 50


def test_a_refused_record_keeps_its_entry(app, httpserver):
    url = serve(httpserver, "/p.csv", csv_of(range(4)))
    source = add(app, "csv", url, CSV_SETTINGS)
    sync(app, source)
    bad = csv_of(range(4)).decode().replace("2,Sản phẩm 2,food", "2,Sản phẩm 2,no-such-group")
    serve(httpserver, "/p.csv", bad.encode())
    result = sync(app, source)
    assert (result["status"], result["rejected"], result["deleted"]) == ("partial", 1, 0)
    assert alive(app, source) == ["0", "1", "2", "3"]


def ckan_page(ids, count):
    results = [{"id": f"d{i}", "name": f"d{i}", "title": f"Dataset {i}"} for i in ids]
    return json.dumps({"success": True, "result": {"count": count, "results": results}})


def test_a_portal_listing_fewer_than_its_count_deletes_nothing(app, httpserver):
    httpserver.expect_request("/api/3/action/package_search", query_string="rows=10&start=0")\
        .respond_with_data(ckan_page(range(10), 10))  # fmt: skip
    source = add(app, "ckan", httpserver.url_for("/"), {"rows": 10})
    assert sync(app, source)["created"] == 10
    httpserver.clear()
    httpserver.expect_request("/api/3/action/package_search", query_string="rows=10&start=0")\
        .respond_with_data(ckan_page(range(4), 10))  # fmt: skip
    httpserver.expect_request("/api/3/action/package_search", query_string="rows=10&start=4")\
        .respond_with_data(ckan_page([], 10))  # fmt: skip
    result = sync(app, source)
    assert (result["status"], result["deleted"]) == ("incomplete", 0)
    assert len(alive(app, source)) == 10
    with app.test_request_context("/", headers={"Accept-Language": "vi"}):
        run = db.session.get(SyncRun, result_id(app, source))
        assert run.detail == {"reason": "short", "expected": 10, "read": 4}
        assert "10" in services.run_detail(run) and "4" in services.run_detail(run)


def result_id(app, source):
    with app.app_context():
        return db.session.scalar(select(func.max(SyncRun.id)).where(SyncRun.source_id == source))


def test_a_feed_cut_at_its_page_limit_deletes_nothing_and_says_so(app, httpserver):
    url = serve(httpserver, "/f.json", feed_of(range(3)))
    source = add(app, "jsonfeed", url, {"collection": "experiences", "max_pages": 1})
    sync(app, source)
    httpserver.clear()
    httpserver.expect_request("/f.json").respond_with_data(
        feed_of([0], next_url=httpserver.url_for("/f2.json"))
    )
    result = sync(app, source)
    assert (result["status"], result["deleted"]) == ("incomplete", 0)
    assert len(alive(app, source)) == 3


def test_a_page_that_fails_writes_nothing(app, httpserver):
    url = serve(httpserver, "/f.json", feed_of(range(3)))
    source = add(app, "jsonfeed", url, {"collection": "experiences"})
    sync(app, source)
    httpserver.clear()
    httpserver.expect_request("/f.json").respond_with_data(
        feed_of([0, 1, 7], next_url=httpserver.url_for("/f2.json"))
    )
    httpserver.expect_request("/f2.json").respond_with_data("nope", status=404)
    before = entries(app, source)
    result = sync(app, source)
    assert result["status"] == "failed" and "404" in result["error"]
    assert entries(app, source) == before  # e7 not created: the document is all or nothing


def test_a_csv_that_stops_being_utf8_applies_no_row(app, httpserver):
    body = csv_of(range(3000)) + "9999,Caf\xe9,food\n".encode("latin-1")
    url = serve(httpserver, "/p.csv", body)
    source = add(app, "csv", url, CSV_SETTINGS)
    result = sync(app, source)
    assert result["status"] == "failed" and "UTF-8" in result["error"]
    assert entries(app, source) == {}


def test_a_changes_feed_that_stops_advancing_fails_at_once(app, httpserver):
    page = {"items": [], "next_since": 5, "more": True}
    httpserver.expect_request("/api/v1/changes").respond_with_json(page)
    source = add(app, "hub", httpserver.url_for("/"), {"country": "VN"})
    with app.app_context():
        db.session.get(pipeline.PartnerSource, source).state = {"since": 5}
        db.session.commit()
    result = sync(app, source)
    assert result["status"] == "failed" and "stays at 5" in result["error"]
    assert len(httpserver.log) == 1


def test_a_changes_feed_cut_at_max_pages_keeps_its_progress(app, httpserver):
    def page(request):
        since = int(request.args["since"])
        return json.dumps({"items": [], "next_since": since + 1, "more": True})

    httpserver.expect_request("/api/v1/changes").respond_with_handler(
        lambda request: Response(page(request), content_type="application/json")
    )
    source = add(app, "hub", httpserver.url_for("/"), {"country": "VN", "max_pages": 3})
    result = sync(app, source)
    assert result["status"] == "incomplete"
    with app.app_context():
        assert db.session.get(pipeline.PartnerSource, source).state == {"since": 3}


def test_a_sharp_shrink_is_held_until_an_administrator_decides(app, client, httpserver):
    url = serve(httpserver, "/p.csv", csv_of(range(10)))
    source = add(app, "csv", url, CSV_SETTINGS)
    sync(app, source)
    serve(httpserver, "/p.csv", csv_of(range(4)))
    result = sync(app, source)
    assert (result["status"], result["deleted"], result["held"]) == ("held", 0, 6)
    assert len(alive(app, source)) == 10
    # The same document again: nothing changes, the decision still waits.
    assert sync(app, source)["status"] == "not_modified"

    # A coordinator cannot decide.
    sign_in(client, "coordinator.vn@hub.test")
    run_id = result_id(app, source) - 1
    token = csrf_token(client, "/en/account")
    answer = client.post(
        f"/en/admin/sources/{source}/runs/{run_id}/confirm", data={"csrf_token": token}
    )
    assert answer.status_code == 403 and len(alive(app, source)) == 10
    client.post("/en/logout", data={"csrf_token": token})

    sign_in(client, "admin@hub.test", lang="vi")
    page = client.get(f"/vi/admin/sources/{source}").get_data(as_text=True)
    assert "cần xem xét" in page.lower() or "xem xét" in page
    token = csrf_token(client, f"/vi/admin/sources/{source}")
    answer = client.post(
        f"/vi/admin/sources/{source}/runs/{run_id}/confirm", data={"csrf_token": token}
    )
    assert answer.status_code == 302
    assert alive(app, source) == ["0", "1", "2", "3"]
    with app.app_context():
        run = db.session.get(SyncRun, run_id)
        assert (run.review, run.deleted) == ("confirmed", 6)
        assert db.session.scalar(select(func.count()).select_from(HeldDeletion)) == 0
    # Decided once: a second decision is refused, nothing changes.
    client.post(f"/vi/admin/sources/{source}/runs/{run_id}/keep", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(SyncRun, run_id).review == "confirmed"


def test_kept_entries_stay_and_a_later_run_supersedes_the_question(app, httpserver):
    url = serve(httpserver, "/p.csv", csv_of(range(10)))
    source = add(app, "csv", url, CSV_SETTINGS)
    sync(app, source)
    serve(httpserver, "/p.csv", csv_of(range(2)))
    sync(app, source)
    first = result_id(app, source)
    with app.test_request_context("/"):
        assert services.decide_held(source, first, confirm=False) == 0
    assert len(alive(app, source)) == 10
    serve(httpserver, "/p.csv", csv_of(range(3)))
    sync(app, source)
    serve(httpserver, "/p.csv", csv_of(range(9)))
    result = sync(app, source)  # lists 9 of 10: a deletion within the limit goes through
    assert (result["status"], result["deleted"]) == ("ok", 1)
    with app.app_context():
        reviews = db.session.scalars(
            select(SyncRun.review).where(SyncRun.source_id == source).order_by(SyncRun.id)
        ).all()
        assert reviews == [None, "kept", "superseded", None]


def test_the_shrink_limit_is_set_on_the_source_page(app, client, httpserver):
    url = serve(httpserver, "/p.csv", csv_of(range(10)))
    source = add(app, "csv", url, CSV_SETTINGS)
    sync(app, source)
    sign_in(client, "admin@hub.test")
    token = csrf_token(client, f"/en/admin/sources/{source}")
    form = {"csrf_token": token, "url": url, "every": "60",
            "settings": json.dumps(CSV_SETTINGS), "shrink_limit": "80"}  # fmt: skip
    assert client.post(f"/en/admin/sources/{source}", data=form).status_code == 302
    for wrong in ("101", "-1", "x", "9" * 5000):
        answer = client.post(f"/en/admin/sources/{source}", data={**form, "shrink_limit": wrong})
        assert answer.status_code == 422
    serve(httpserver, "/p.csv", csv_of(range(3)))
    result = sync(app, source)
    assert (result["status"], result["deleted"]) == ("ok", 7)


def test_the_command_line_says_why_a_run_was_held(app, runner, httpserver):
    url = serve(httpserver, "/p.csv", csv_of(range(10)))
    source = add(app, "csv", url, CSV_SETTINGS)
    sync(app, source)
    serve(httpserver, "/p.csv", csv_of(range(1)))
    result = runner.invoke(args=["hub", "sync", str(source)], env={"LANG": "C"})
    assert result.exit_code == 0, result.output
    assert "needs review" in result.output
    assert "would delete 9 of the source's 10 entries" in result.output


def test_a_snapshot_is_read_whole_with_its_first_batches_taken_ahead():
    """``snapshots.read_whole`` gives its first batches to ``ahead`` (to be prepared while the rest is
    read) until it declines one; the others come out of the spool afterwards, in order, and
    nothing comes out before the reader has ended."""
    from types import SimpleNamespace

    from connectors.base import Record

    events = []

    def reader():
        for i in range(2 * pipeline.BATCH_SIZE + 3 * pipeline.BATCH_SIZE + 7):
            events.append("read")
            yield Record(str(i), "products", {"n": i})
        return {"cursor": 1}

    taken = []

    def ahead(batch):
        if len(taken) == 2:
            return False
        taken.append([r.partner_id for r in batch])
        return True

    spooled = snapshots.read_whole(reader(), SimpleNamespace(stop_at=None), None, ahead)
    rest = []
    while True:
        try:
            rest.append(next(spooled).partner_id)
        except StopIteration as stop:
            state = stop.value
            break
        events.append("out")
    size = pipeline.BATCH_SIZE
    assert taken == [[str(i) for i in range(size)], [str(i) for i in range(size, 2 * size)]]
    assert rest == [str(i) for i in range(2 * size, 5 * size + 7)]
    assert state == {"cursor": 1}
    assert events.index("out") == events.count("read")  # read to its end first
