"""Origins: hubs that follow each other hold each entry once, however many hubs it passed
through. Three hubs, each on a database of its own and served on loopback, follow each other
in a ring (A → B → C → A); the changes feed leaves out a follower's own entries
(``exclude_origin``); a hub source files entries under their own country when it may carry it.
"""

import itertools
import json
import threading
from contextlib import ExitStack, contextmanager
from datetime import date

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from hub.accounts.models import User
from hub.accounts.services import create_user
from hub.db import upgrade
from hub.extensions import db
from hub.publishing import services as publishing
from hub.publishing.models import Entry
from hub.registry.seeding import seed_registry
from hub.sync import pipeline, services
from hub.sync.models import RejectedRecord
from tests.support import PASSWORD, fresh_database, make_test_app, query_plan

COORDINATOR = "coord.vn@hub.test"


@contextmanager
def served_hub(backend, directory, **config):
    """A hub on a database of its own, served by a real HTTP server on loopback, its
    HUB_BASE_URL the address it is served at; ``config``: settings of its own."""
    with fresh_database(backend, directory) as url:
        app = make_test_app(url, FETCH_ALLOW=["127.0.0.1"], **config)
        with app.app_context():
            upgrade(db.engine)
            seed_registry()
            create_user(COORDINATOR, PASSWORD, "coordinator", "VN")
        server = make_server("127.0.0.1", 0, app, threaded=True)
        app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield app
        finally:
            server.shutdown()
            thread.join(timeout=5)
            db.binding(app).engine.dispose()


@pytest.fixture
def ring(backend, tmp_path):
    """Hubs A, B and C; B follows A, C follows B and A follows C (hub sources of VN)."""
    with ExitStack() as stack:
        hubs = {}
        for name in "ABC":
            directory = tmp_path / name
            directory.mkdir()
            hubs[name] = stack.enter_context(served_hub(backend, directory))
        sources = {}
        for follower, followed in (("B", "A"), ("C", "B"), ("A", "C")):
            with hubs[follower].app_context():
                url = hubs[followed].config["BASE_URL"]
                settings = {"country": "VN", "limit": 2}
                sources[follower] = services.add_source("VN", "hub", url, settings).id
        yield hubs, sources


def coordinator():
    return db.session.scalar(select(User).where(User.email == COORDINATOR))


def publish(app, titles):
    """Entries published at ``app`` by its coordinator; their ids by title."""
    ids = {}
    with app.test_request_context("/"):
        vn = coordinator()
        for title in titles:
            entry = publishing.create_entry(
                vn, "product", "en", {"title": title}, {"product_group": "food"}
            )
            publishing.set_status(vn, entry.id, "published")
            ids[title] = entry.id
        # A draft never travels.
        publishing.create_entry(vn, "policy", "en", {"title": f"Draft at {titles[0]}"}, {})
    return ids


def sync_round(hubs, sources):
    """Each hub of the ring syncs its source once; the runs' counts by hub."""
    counts = {}
    for name in "BCA":
        with hubs[name].app_context():
            run = pipeline.run_source(sources[name])
            assert run.status == "ok", (name, run.error)
            counts[name] = (run.created, run.updated, run.deleted, run.rejected)
    return counts


def holdings(app):
    """``[(origin hub, origin id, English title)]`` of the hub's live published entries,
    an entry first published there given as (its base URL, its id)."""
    here = app.config["BASE_URL"]
    with app.app_context():
        entries = db.session.scalars(
            select(Entry).where(Entry.deleted_dt.is_(None), Entry.status == "published")
        )
        return sorted(
            (e.origin_hub or here, e.origin_id or str(e.id), e.text_in("en").title) for e in entries
        )


def test_hubs_in_a_ring_hold_each_original_once_and_pass_on_edits_and_deletions(ring):
    hubs, sources = ring
    ids = {
        "A": publish(hubs["A"], ["Lotus tea", "Silk scarf"]),
        "B": publish(hubs["B"], ["Fish sauce", "Bamboo basket"]),
        "C": publish(hubs["C"], ["Coffee"]),
    }
    originals = sorted(
        (hubs[name].config["BASE_URL"], str(entry_id), title)
        for name, by_title in ids.items()
        for title, entry_id in by_title.items()
    )
    for _round in range(4):
        sync_round(hubs, sources)
    for name in "ABC":
        assert holdings(hubs[name]) == originals, name
    # Converged: a further round changes nothing anywhere.
    assert sync_round(hubs, sources) == {name: (0, 0, 0, 0) for name in "ABC"}

    # The feed says where each entry comes from, and each hub's copy keeps it.
    with hubs["C"].app_context():
        copy = db.session.scalar(
            select(Entry).where(Entry.origin_hub == hubs["A"].config["BASE_URL"])
            .where(Entry.origin_id == str(ids["A"]["Lotus tea"]))
        )  # fmt: skip
        assert copy.text_in("en").title == "Lotus tea"
        assert copy.source_id == sources["C"]  # through B, which kept A as its origin
    page = hubs["A"].test_client().get("/api/v1/changes?limit=1000").get_json()
    origins = {item["record"]["origin"]["hub"] for item in page["items"] if not item["deleted"]}
    assert origins == {hubs[name].config["BASE_URL"] for name in "ABC"}

    # An edit at A and a deletion at B go round the ring.
    with hubs["A"].test_request_context("/"):
        publishing.save_text(
            coordinator(), ids["A"]["Lotus tea"], "en", {"title": "Lotus tea, 2027"}
        )
    with hubs["B"].test_request_context("/"):
        publishing.delete_entry(coordinator(), ids["B"]["Fish sauce"])
    for _round in range(3):
        sync_round(hubs, sources)
    expected = sorted(
        (hub, entry_id, "Lotus tea, 2027" if title == "Lotus tea" else title)
        for hub, entry_id, title in originals
        if title != "Fish sauce"
    )
    for name in "ABC":
        assert holdings(hubs[name]) == expected, name
    assert sync_round(hubs, sources) == {name: (0, 0, 0, 0) for name in "ABC"}


def test_the_feed_leaves_out_what_a_follower_sent_it(ring):
    hubs, sources = ring
    a_url, b_url = hubs["A"].config["BASE_URL"], hubs["B"].config["BASE_URL"]
    publish(hubs["A"], ["Lotus tea", "Silk scarf", "Rice wine"])
    publish(hubs["B"], ["Fish sauce"])
    with hubs["B"].app_context():
        assert pipeline.run_source(sources["B"]).created == 3
    client = hubs["B"].test_client()

    def page(query):
        return client.get(f"/api/v1/changes?{query}").get_json()

    def origins(body):
        return [item["record"]["origin"]["hub"] for item in body["items"]]

    everything = page("limit=1000")
    assert sorted(origins(everything)) == sorted([a_url] * 3 + [b_url])
    # What A sent is left out for A; the last page still ends at the newest change, so that
    # A does not read the same left-out changes again on its next call.
    without_a = page(f"limit=1000&exclude_origin={a_url}/")
    assert origins(without_a) == [b_url]
    assert without_a["next_since"] == everything["next_since"] and without_a["more"] is False
    only_a = page(f"since={without_a['items'][0]['seq']}&exclude_origin={a_url}")
    assert only_a["items"] == [] and only_a["next_since"] == everything["next_since"]
    # B's own entries left out: only what it took from others.
    assert origins(page(f"limit=1000&exclude_origin={b_url}")) == [a_url] * 3
    # Pages in between go on from their last item, as without the filter.
    first = page(f"limit=1&exclude_origin={b_url}")
    assert first["more"] is True and first["next_since"] == first["items"][0]["seq"]
    for bad in ("hub.example", "ftp://hub.example", "http://" + "x" * 600, "http://a%00b"):
        response = client.get(f"/api/v1/changes?exclude_origin={bad}")
        assert response.status_code == 422
        assert "exclude_origin" in response.get_json()["error"]["details"]


def test_the_hub_connector_asks_to_leave_out_its_own_entries(app, httpserver, monkeypatch):
    monkeypatch.setitem(app.config, "FETCH_ALLOW", ["127.0.0.1"])
    monkeypatch.setitem(app.config, "BASE_URL", "https://hub-b.example")
    httpserver.expect_request("/api/v1/changes").respond_with_json(
        {"items": [], "more": False, "next_since": 0}
    )
    with app.app_context():
        source = services.add_source("VN", "hub", httpserver.url_for("/"), {"country": "VN"})
        assert pipeline.run_source(source.id).status == "ok"
    (request, _response), *_ = httpserver.log
    assert request.args["exclude_origin"] == "https://hub-b.example"
    assert request.args["country"] == "VN"


def feed_item(entry_id, country, title, origin=None, seq=None):
    record = {
        "source_language": "en",
        "translations": {"en": {"title": title}},
        "product_group": "food",
    }
    if origin is not None:
        record["origin"] = origin
    return {
        "id": entry_id,
        "collection": "products",
        "country": country,
        "deleted": False,
        "seq": seq or entry_id,
        "updated_dt": "2026-01-01T00:00:00+00:00",
        "record": record,
    }


_SEQS = itertools.count(1000)


def serve_feed(httpserver, items, root=""):
    """A changes feed of ``items`` under ``root`` (its next_since always ahead of the last
    one served)."""
    httpserver.clear()
    httpserver.expect_request(f"{root}/api/v1/changes").respond_with_data(
        json.dumps({"items": items, "more": False, "next_since": next(_SEQS)}),
        content_type="application/json",
    )


def test_a_hub_source_files_entries_under_their_country_if_it_may_carry_it(
    app, httpserver, monkeypatch
):
    monkeypatch.setitem(app.config, "FETCH_ALLOW", ["127.0.0.1"])
    items = [
        feed_item(1, "VN", "Lotus tea"),
        feed_item(2, "JP", "Yuzu"),
        feed_item(3, "TH", "Silk"),
    ]
    serve_feed(httpserver, items)
    with app.test_request_context("/"):
        source = services.add_source("VN", "hub", httpserver.url_for("/"), {"country": "VN"}).id
        run = pipeline.run_source(source)
        assert (run.status, run.created, run.rejected) == ("partial", 1, 2)
        refused = {
            r.partner_id: r.reasons
            for r in db.session.scalars(
                select(RejectedRecord).where(RejectedRecord.source_id == source)
            )
        }
        assert refused["2"]["en"] == {"country": ["This source may not carry entries of Japan."]}
        assert refused["2"]["vi"] == {
            "country": ["Nguồn này không được mang các mục của Nhật Bản."]
        }
        assert refused["2"]["ja"] == {"country": ["このソースは日本の項目を扱えません。"]}
        assert refused["3"]["en"] == {"country": ["This source may not carry entries of Thailand."]}

        # Allowed to carry Japan: the Japanese entry is filed under Japan; Thailand is still
        # refused. The feed is asked for both countries.
        services.update_source(
            source, httpserver.url_for("/"), {"country": "VN", "countries": ["jp"]}, 60
        )
        serve_feed(httpserver, items)
        run = pipeline.run_source(source)
        assert (run.created, run.rejected) == (1, 1)
        (request, _response), *_ = httpserver.log
        assert request.args["country"] == "VN,JP"
        countries = dict(
            db.session.execute(
                select(Entry.partner_id, Entry.country_code).where(Entry.source_id == source)
            ).all()
        )
        assert countries == {"1": "VN", "2": "JP"}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"country": "VN", "countries": "JP"}, "“countries” must be a list"),
        ({"country": "VN", "countries": ["Japan"]}, "“countries” must be a list"),
        ({"country": "VN", "countries": ["XX"]}, "There is no country with the code “XX”"),
    ],
)
def test_a_hub_source_lists_countries_the_registry_knows(ctx, settings, message):
    with pytest.raises(services.SourceError, match=message):
        services.add_source("VN", "hub", "https://hub.example", settings)


def test_a_record_first_published_here_or_held_already_is_not_taken_again(
    app, httpserver, monkeypatch
):
    """A record that says it was first published here is left aside (not refused, even if
    this hub would refuse it); one whose origin another source brought already is left aside
    too, while that entry lives."""
    monkeypatch.setitem(app.config, "FETCH_ALLOW", ["127.0.0.1"])
    monkeypatch.setitem(app.config, "BASE_URL", "https://hub-a.example")
    other = {"hub": "https://hub-c.example", "id": "77"}
    mine = feed_item(1, "VN", "Lotus tea", {"hub": "https://hub-a.example/", "id": "5"})
    mine["record"]["stars"] = 9  # would be refused
    serve_feed(httpserver, [mine, feed_item(2, "VN", "Coffee", other)], "/b")
    with app.test_request_context("/"):
        first = services.add_source("VN", "hub", httpserver.url_for("/b"), {"country": "VN"}).id
        run = pipeline.run_source(first)
        assert (run.status, run.created, run.unchanged, run.rejected) == ("ok", 1, 1, 0)
        second = services.add_source("VN", "hub", httpserver.url_for("/d"), {"country": "VN"}).id
        serve_feed(httpserver, [feed_item(9, "VN", "Coffee (from D)", other)], "/d")
        run = pipeline.run_source(second)
        assert (run.created, run.unchanged) == (0, 1)
        held = db.session.scalars(
            select(Entry).where(Entry.origin_hub == other["hub"], Entry.origin_id == "77")
        ).all()
        assert [(e.source_id, e.text_in("en").title) for e in held] == [(first, "Coffee")]
        # Once the first source's entry is deleted, another source may bring it again.
        tombstone = {"id": 2, "collection": "products", "deleted": True, "seq": 2}
        serve_feed(httpserver, [tombstone], "/b")
        assert pipeline.run_source(first).deleted == 1
        serve_feed(httpserver, [feed_item(9, "VN", "Coffee (from D)", other)], "/d")
        assert pipeline.run_source(second).created == 1


def test_records_without_an_origin_take_the_hub_they_came_from(app, httpserver, monkeypatch):
    """An older hub's feed gives no origin: the entry was first published there."""
    monkeypatch.setitem(app.config, "FETCH_ALLOW", ["127.0.0.1"])
    serve_feed(httpserver, [feed_item(4, "VN", "Lotus tea")])
    root = httpserver.url_for("/")
    with app.test_request_context("/"):
        source = services.add_source("VN", "hub", root, {"country": "VN"}).id
        assert pipeline.run_source(source).created == 1
        entry = db.session.scalar(select(Entry).where(Entry.source_id == source))
        assert (entry.origin_hub, entry.origin_id) == (root.rstrip("/"), "4")


def test_leaving_origins_out_keeps_the_feed_on_its_index(app, backend, time_machine):
    """``exclude_origin`` is a condition on the rows read in change order: the feed still
    walks the change_seq index, with no sort, however many entries there are."""
    from hub.api.changes import _changes_statement
    from hub.sync.rows import insert_rows

    with app.test_request_context("/"):
        time_machine.move_to(pipeline.utcnow(), tick=False)
        now = pipeline.utcnow()
        base = {"kind": "product", "country_code": "VN", "status": "published",
                "source_language": "en", "origin": "partner", "created_dt": now,
                "updated_dt": now, "published_dt": now, "product_group": "food",
                "origin_id": "1"}  # fmt: skip
        first = db.session.scalar(select(func.coalesce(func.max(Entry.change_seq), 0)))
        insert_rows(
            Entry.__table__,
            [
                {**base, "change_seq": first + k + 1, "origin_hub": f"https://hub-{k % 3}.example"}
                for k in range(20_000)
            ],
        )
        if backend == "postgresql":
            # With no statistics (a table just filled) PostgreSQL sorts a bitmap scan for the
            # feed with or without the filter; with them, as autovacuum keeps them, it walks
            # the index and stops at the page's end.
            db.session.connection().exec_driver_sql("ANALYZE entry")
        plans = []
        for mode in ("other", "here", None):
            statement = _changes_statement(backend, None, mode).params(
                since=first + 100,
                limit=101,
                exclude_origin="https://hub-1.example",
            )
            plans.append(query_plan(statement))
            found = db.session.execute(statement).all()
            assert len(found) == 101
        db.session.rollback()
    for plan in plans:
        if backend == "sqlite":
            assert "USING INDEX" in plan and "(change_seq>?)" in plan, plan
        else:
            assert "Index Scan using uq_entry_change_seq" in plan, plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_the_exchange_format_carries_the_origin(ctx, app, monkeypatch):
    from hub.publishing.exchange import RECORD_SCHEMAS, dump_record

    vn = coordinator_of(app)
    entry = publishing.create_entry(vn, "fair", "en", {"title": "Fair"}, {
        "timezone": "Asia/Ho_Chi_Minh", "start_date": date(2030, 1, 1), "all_day": True})  # fmt: skip
    record = dump_record(entry)
    assert "origin" not in record  # HUB_BASE_URL unset: no address to give as its origin
    monkeypatch.setitem(app.config, "BASE_URL", "https://hub.example")
    record = dump_record(entry)
    assert record["origin"] == {"hub": "https://hub.example", "id": str(entry.id)}
    assert RECORD_SCHEMAS["fair"].load(record)["origin"] == record["origin"]
    with pytest.raises(Exception, match="id"):
        RECORD_SCHEMAS["fair"].load({**record, "origin": {"hub": "https://hub.example"}})


def coordinator_of(_app):
    return db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))


def test_an_entry_written_with_a_token_stays_in_the_tokens_country(app, client):
    from hub.api.auth import issue_token

    with app.test_request_context("/"):
        _token, secret = issue_token("Partner", "VN")
    headers = {"Authorization": f"Bearer {secret}"}
    record = {"source_language": "en", "translations": {"en": {"title": "Tea"}},
              "product_group": "food", "origin": {"hub": "https://x.example", "id": "1"}}  # fmt: skip
    refused = client.post("/api/v1/products", json={**record, "country": "JP"}, headers=headers)
    assert refused.status_code == 422 and "country" in refused.get_json()["error"]["details"]
    made = client.post("/api/v1/products", json={**record, "country": "VN"}, headers=headers)
    assert made.status_code == 201, made.get_json()
    entry_id = made.get_json()["id"]
    with app.app_context():
        entry = db.session.get(Entry, entry_id)
        assert (entry.country_code, entry.origin_hub, entry.origin_id) == ("VN", None, None)
    moved = client.patch(f"/api/v1/products/{entry_id}", json={"country": "TH"}, headers=headers)
    assert moved.status_code == 422 and "country" in moved.get_json()["error"]["details"]


def test_a_batch_looks_its_origins_up_in_the_index_without_statistics(app, backend, time_machine):
    """As a batch's partner ids (tests/test_sync.py): the origins of a batch are looked up in
    ``ix_entry_origin`` by both its columns, even in a table the database has no statistics
    for yet."""
    from hub.sync.origins import by_origins
    from hub.sync.rows import insert_rows

    with app.test_request_context("/"):
        time_machine.move_to(pipeline.utcnow(), tick=False)
        now = pipeline.utcnow()
        base = {"kind": "product", "country_code": "VN", "status": "published",
                "source_language": "en", "origin": "partner", "created_dt": now,
                "updated_dt": now, "product_group": "food",
                "origin_hub": "https://hub-a.example"}  # fmt: skip
        first = db.session.scalar(select(func.coalesce(func.max(Entry.change_seq), 0)))
        insert_rows(
            Entry.__table__,
            [{**base, "origin_id": str(k), "change_seq": first + k + 1} for k in range(20_000)],
        )
        statement = by_origins(backend)
        ids = [str(k) for k in range(5000, 5500)]
        found = db.session.execute(statement, {"hub": "https://hub-a.example", "ids": ids}).all()
        assert sorted(row.origin_id for row in found) == sorted(ids)
        plan = query_plan(statement.params(hub="https://hub-a.example", ids=ids))
        db.session.rollback()
    assert "ix_entry_origin" in plan, plan
    assert "origin_id" in plan.split("ix_entry_origin", 1)[1], plan  # both columns, not one
    assert "Hash" not in plan and "SCAN entry" not in plan and "Seq Scan" not in plan, plan


def test_one_origin_under_two_ids_of_a_source_is_held_once(app, httpserver, monkeypatch):
    """A hub that holds one entry twice (as hubs did before origins) sends it under two ids:
    the follower keeps the first it meets."""
    monkeypatch.setitem(app.config, "FETCH_ALLOW", ["127.0.0.1"])
    origin = {"hub": "https://hub-c.example", "id": "3"}
    items = [feed_item(1, "VN", "Coffee", origin), feed_item(2, "VN", "Coffee", origin)]
    serve_feed(httpserver, items)
    with app.test_request_context("/"):
        source = services.add_source("VN", "hub", httpserver.url_for("/"), {"country": "VN"}).id
        run = pipeline.run_source(source)
        assert (run.created, run.unchanged) == (1, 1)
        serve_feed(httpserver, [feed_item(5, "VN", "Coffee", origin)])
        again = pipeline.run_source(source)
        assert (again.created, again.unchanged) == (0, 1)
        held = db.session.scalars(select(Entry.partner_id).where(Entry.origin_id == "3")).all()
        assert held == ["1"]
