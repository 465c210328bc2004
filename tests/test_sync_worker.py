"""A long sync run prepares its batches in a worker process (``hub.sync.prepare``): what it
writes is what the run writes alone, and a worker that dies costs no record.

The partner is another hub on loopback, three pages of a thousand changes: products, policies
and experiences in three languages, an outdated translation, records the hub refuses, a record
sent twice and a deletion. The second page is served only once the worker has said it is ready,
so that the worker certainly prepares batches; the failure test kills it at that moment.
"""

import json
import logging
import os
import signal
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from werkzeug import Response

from connectors.base import Record
from hub.extensions import db
from hub.publishing import records
from hub.publishing.models import Entry
from hub.sync import batches, pipeline, prepare, services
from hub.sync.models import PartnerSource, RejectedRecord, SyncRun

PAGE = 1000


def _record(k):
    """The partner's k-th change: mostly products, some policies and experiences; every 97th
    is refused by the hub's rules (6 stars) and every 89th by the schema (no texts)."""
    if k % 89 == 0:
        return "products", {"source_language": "vi", "translations": {}, "product_group": "food"}
    texts = {
        "vi": {"title": f"Sản phẩm số {k}", "body": f"Mô tả {k}: làm thủ công ở Hà Giang."},
        "en": {"title": f"Product no. {k}", "body": f"Made by hand, {k}."},
    }
    if k % 3 == 0:
        texts["ja"] = {"title": f"製品{k}", "body": "手作り。", "outdated": k % 2 == 0}
    record = {"source_language": "vi", "translations": texts}
    if k % 10 == 7:
        outcomes = [{"metric": "income", "value": k / 7, "unit": "%"}]
        return "experiences", {**record, "outcomes": outcomes}
    if k % 10 == 3:
        return "policies", {**record, "instrument": "law", "issued_on": "2023-04-01"}
    rated_on = date(2022, 1, 1) + timedelta(days=k % 700)
    return "products", {
        **record,
        "status": "draft" if k % 50 == 0 else "published",
        "producer_name": f"HTX {k % 40}",
        "producer_type": "cooperative",
        "locality": "Hà Giang",
        "product_group": "food" if k % 2 else "beverages",
        "rating_scheme": "ocop",
        "stars": 6 if k % 97 == 0 else 1 + k % 5,
        "rated_on": rated_on.isoformat(),
    }


def _changes():
    items = []
    for k in range(1, 3 * PAGE - 1):
        collection, record = _record(k)
        items.append({"id": f"X-{k}", "collection": collection, "deleted": False, "record": record})
    # The same record again with a new name, and a deletion, both in the last page.
    again = json.loads(json.dumps(items[10]))
    again["record"]["translations"]["vi"]["title"] = "Tên mới"
    items.append(again)
    items.append({"id": "X-12", "collection": items[11]["collection"], "deleted": True})
    return items


CHANGES = _changes()


class WorkerWatch(logging.Handler):
    """Sets ``ready`` when the run's worker says it is ready; keeps the sync's log lines."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.ready = threading.Event()
        self.lines = []

    def emit(self, record):
        message = record.getMessage()
        self.lines.append(message)
        if message == "sync: the worker is ready":
            self.ready.set()


@pytest.fixture
def watch():
    logger = logging.getLogger("hub.sync.prepare")
    handler, level = WorkerWatch(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def serve_changes(httpserver, watch, on_ready=None):
    """The partner hub: page 2 waits until the worker is ready (then ``on_ready()`` runs)."""

    def changes(request):
        since = int(request.args["since"])
        if since == PAGE:
            assert watch.ready.wait(60), "the worker did not start"
            if on_ready is not None:
                on_ready()
        page = CHANGES[since : since + PAGE]
        body = {"items": page, "next_since": since + len(page), "more": since + PAGE < len(CHANGES)}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/v1/changes").respond_with_handler(changes)
    # The same hub under a second address: a second source following the first address would
    # leave aside what the first one holds already (the same origins, docs/sync.md).
    httpserver.expect_request("/again/api/v1/changes").respond_with_handler(changes)
    return httpserver.url_for("/").rstrip("/")


def run(app, url, after, source=None):
    """A sync of a new source following ``url`` (or of ``source`` again, from the start)."""
    app.config["SYNC_WORKER_AFTER"] = after
    with app.test_request_context("/"):
        if source is None:
            source = services.add_source("VN", "hub", url, {"country": "VN", "limit": PAGE}).id
        else:
            db.session.get(PartnerSource, source).state = {}
            db.session.commit()
        outcome = pipeline.run_source(source)
        counts = {k: getattr(outcome, k) for k in ("status", "error", *outcome.COUNTS)}
    return source, counts


def stored(app, source_id):
    """What the run wrote, with what differs between two runs of the same data (ids, change
    numbers and moments) left out; each stored feed item checked against the one built from
    the entry."""
    with app.app_context():
        result = {}
        for entry in db.session.scalars(select(Entry).where(Entry.source_id == source_id)):
            if entry.change_json_seq == entry.change_seq:
                assert entry.change_json == records.change_json(entry)
            item = json.loads(entry.change_json) if entry.change_json else None
            if item is not None:
                del item["seq"], item["updated_dt"]
                item.get("record", {}).pop("origin", None)  # the address the source follows
            left_out = ("id", "source_id", "change_seq", "change_json", "change_json_seq",
                        "origin_hub", "content_fingerprint")  # fmt: skip
            columns = {
                c.key: getattr(entry, c.key, None)
                for c in Entry.__table__.columns
                if c.key not in left_out and not c.key.endswith("_dt")
            }
            texts = {
                t.language: (t.title, t.body, t.fingerprint, t.source_fingerprint, t.search_text)
                for t in entry.translations
            }
            result[entry.partner_id] = (columns, texts, item, entry.deleted_dt is None)
        refused = {
            r.partner_id: r.reasons
            for r in db.session.scalars(
                select(RejectedRecord).where(RejectedRecord.source_id == source_id)
            )
        }
        return result, refused


@pytest.fixture
def config(app, monkeypatch):
    monkeypatch.setitem(app.config, "FETCH_ALLOW", ["127.0.0.1"])
    monkeypatch.setitem(app.config, "FETCH_DEADLINE", 60)
    monkeypatch.setitem(app.config, "SYNC_WORKER_AFTER", None)


def test_a_long_run_writes_through_its_worker_what_it_writes_alone(app, config, httpserver, watch):
    # The worker takes the newest batches, this process prepares the oldest it has not taken.
    url = serve_changes(httpserver, watch)
    with_worker, counts = run(app, url, after=0)
    sent = [line for line in watch.lines if "batches were sent to the worker" in line]
    assert watch.ready.is_set() and sent and not sent[0].startswith("sync: 0 of"), watch.lines
    alone, alone_counts = run(app, url + "/again", after=None)

    assert counts == alone_counts
    products = {k for k in range(1, 3 * PAGE - 1) if k % 10 not in (3, 7)}
    refused = sum(
        1 for k in range(1, 3 * PAGE - 1) if k % 89 == 0 or (k % 97 == 0 and k in products)
    )
    assert counts == {"status": "partial", "error": None, "fetched": len(CHANGES),
                      "created": len(CHANGES) - 2 - refused, "updated": 1, "unchanged": 0,
                      "deleted": 1, "rejected": refused, "held": 0}  # fmt: skip
    written, refusals = stored(app, with_worker)
    assert (written, refusals) == stored(app, alone)
    assert written["X-11"][1]["vi"][0] == "Tên mới" and not written["X-12"][3]
    # An outdated Japanese translation stays outdated; refusals read in every language.
    assert written["X-6"][2]["record"]["translations"]["ja"]["outdated"] is True
    assert written["X-3"][2]["record"]["translations"]["ja"]["outdated"] is False
    reasons = refusals["X-194"]
    assert set(reasons) == {"vi", "en", "ja"}
    assert reasons["en"]["stars"] == ["A rating has 1 to 5 stars."]
    assert reasons["vi"]["stars"] != reasons["en"]["stars"] != reasons["ja"]["stars"]

    # The same changes again: the worker leaves what the hub holds unchecked, and the pipeline
    # writes only what differs (the record sent twice, the deleted one sent before its deletion).
    watch.ready.clear()
    _source, again = run(app, url, after=0, source=with_worker)
    _source, again_alone = run(app, url, after=None, source=alone)
    assert again == again_alone
    assert (again["created"], again["unchanged"]) == (0, len(CHANGES) - 4 - refused)
    assert (again["updated"], again["deleted"], again["rejected"]) == (3, 1, refused)
    assert stored(app, with_worker) == stored(app, alone)


def test_a_record_left_unchecked_is_checked_when_it_has_changed_after_all(app, config):
    """The worker skips a record whose fingerprint the hub holds; if the entry changed in the
    meantime (the record was sent twice in the run), the pipeline checks it when it writes."""

    def product(title, stars):
        texts = {"en": {"title": title}}
        return Record("P-1", "products", {"source_language": "en", "translations": texts,
                      "product_group": "food", "stars": stars, "rating_scheme": "ocop",
                      "rated_on": "2024-01-02"})  # fmt: skip

    settings = {"language": "en", "mapping": {"partner_id": "id", "title": "name"},
                "defaults": {"product_group": "food"}}  # fmt: skip
    with app.test_request_context("/"):
        source_id = services.add_source("VN", "csv", "http://127.0.0.1/p.csv", settings).id
        source = db.session.get(PartnerSource, source_id)
        sync_run = SyncRun(source_id=source.id, status="running")
        db.session.add(sync_run)
        db.session.commit()
        batches.ingest(source, [product("Lotus tea", 4)], sync_run)
        changed, refused = product("Lotus tea, scented", 5), product("Lotus tea", 9)
        for record in (changed, refused):
            digest = prepare.fingerprint({"collection": "products", **record.data})
            unchecked = prepare.Prepared(digest, "product", checked=False)
            batches.ingest(source, [record], sync_run, prepared=[unchecked])
        entry = db.session.scalar(select(Entry).where(Entry.source_id == source.id))
        assert (entry.text_in("en").title, entry.stars) == ("Lotus tea, scented", 5)
        assert entry.change_json == records.change_json(entry)
        assert (sync_run.created, sync_run.updated, sync_run.rejected) == (1, 1, 1)
        refusal = db.session.scalar(
            select(RejectedRecord).where(RejectedRecord.source_id == source.id)
        )
        assert refusal.reasons["en"] == {"stars": ["A rating has 1 to 5 stars."]}


def _worker_pids():
    """The running ``hub.sync.worker`` processes started by this process."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{name}/cmdline", "rb") as f:
                command = f.read().split(b"\0")
        except OSError:
            continue
        if parent == os.getpid() and b"hub.sync.worker" in command:
            pids.append(int(name))
    return pids


def test_a_worker_that_dies_costs_no_record(app, config, httpserver, watch):
    killed = []

    def kill_worker():
        for pid in _worker_pids():
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    url = serve_changes(httpserver, watch, on_ready=kill_worker)
    source, counts = run(app, url, after=0)
    assert killed, "no worker to kill"
    assert any("the worker stopped" in line for line in watch.lines), watch.lines
    assert counts["status"] == "partial", counts
    assert counts["created"] + counts["rejected"] == len(CHANGES) - 2
    assert (counts["updated"], counts["deleted"]) == (1, 1)
    written, _refusals = stored(app, source)
    assert len(written) == counts["created"]
    assert _worker_pids() == []


def test_a_worker_that_cannot_start_costs_no_record(app, config, httpserver, watch, monkeypatch):
    rows = "".join(f"P{k},Product {k},food\n" for k in range(1, 1201))
    httpserver.expect_request("/p.csv").respond_with_data("id,name,group\n" + rows)
    settings = {"language": "en", "mapping": {"partner_id": "id", "title": "name",
                "product_group": "group"}}  # fmt: skip
    with app.test_request_context("/"):
        source = services.add_source("VN", "csv", httpserver.url_for("/p.csv"), settings).id
    monkeypatch.setattr("sys.executable", "/nonexistent/python3")
    app.config["SYNC_WORKER_AFTER"] = 0
    with app.test_request_context("/"):
        outcome = pipeline.run_source(source)
    assert (outcome.status, outcome.created, outcome.rejected) == ("ok", 1200, 0), outcome.error
    assert any("the worker could not start" in line for line in watch.lines), watch.lines
