"""Federation and push: hub B follows hub A's changes feed over loopback; partners push batches
with a token. After creates, edits, translations, withdrawals and deletions on A, B's copy
matches A's."""

import json
import threading
from datetime import date

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from hub.accounts.models import User
from hub.accounts.services import create_user
from hub.api.auth import issue_token, revoke_token
from hub.db import upgrade
from hub.extensions import db
from hub.ops.epoch import feed_epoch
from hub.publishing import services as publishing
from hub.publishing.models import Entry
from hub.registry.seeding import seed_registry
from hub.sync import pipeline, services
from hub.sync.models import PartnerSource
from tests.support import PASSWORD, fresh_database, make_test_app


@pytest.fixture
def hub_a(tmp_path):
    """A second hub, served by a real HTTP server on loopback."""
    with fresh_database("sqlite", tmp_path) as url:
        app = make_test_app(url)
        with app.app_context():
            upgrade(db.engine)
            seed_registry()
            create_user("coord.vn@a.test", PASSWORD, "coordinator", "VN")
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield app, f"http://127.0.0.1:{server.server_port}"
        server.shutdown()
        thread.join(timeout=5)
        db.binding(app).engine.dispose()


def published_copy(app, source_id=None):
    """``{partner id or id: {language: title}}`` of the published entries (of one source)."""
    with app.app_context():
        stmt = select(Entry).where(Entry.deleted_dt.is_(None), Entry.status == "published")
        if source_id is not None:
            stmt = stmt.where(Entry.source_id == source_id)
        result = {}
        for entry in db.session.scalars(stmt):
            key = entry.partner_id if source_id is not None else str(entry.id)
            result[key] = {t.language: t.title for t in entry.translations}
        return result


def test_hub_b_keeps_an_exact_copy_of_hub_a(app, hub_a, monkeypatch):
    a, a_url = hub_a
    monkeypatch.setitem(app.config, "FETCH_ALLOW", ["127.0.0.1"])
    with a.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == "coord.vn@a.test"))
        policy = publishing.create_entry(
            vn, "policy", "vi", {"title": "Chính sách A"}, {"instrument": "law"}
        )
        product = publishing.create_entry(
            vn,
            "product",
            "en",
            {"title": "Lotus tea"},
            {
                "product_group": "beverages",
                "latitude": 21.0285,
                "longitude": 105.8542,
                "where_to_buy": [{"name": {"en": "Online shop", "vi": "Cửa hàng trực tuyến"}}],
                "certificates": [{"name": "VietGAP"}],
            },
        )
        draft = publishing.create_entry(vn, "policy", "en", {"title": "Never published"}, {})
        for entry in (policy, product):
            publishing.set_status(vn, entry.id, "published")
        ids = {"policy": policy.id, "product": product.id, "draft": draft.id}
    with app.test_request_context("/"):
        source = services.add_source("VN", "hub", a_url, {"country": "VN", "limit": 1}).id
        first = pipeline.run_source(source)
        assert (first.status, first.created) == ("ok", 2), first.error
    assert published_copy(app, source) == published_copy(a)
    # The producer's location and the names per language travel as they are.
    with app.app_context():
        copy = db.session.scalar(select(Entry).where(Entry.partner_id == str(ids["product"])))
        assert (copy.latitude, copy.longitude) == (21.0285, 105.8542)
        assert copy.where_to_buy == [{"name": {"vi": "Cửa hàng trực tuyến", "en": "Online shop"}}]
        assert copy.certificates == [{"name": "VietGAP"}]

    # Edits, a translation, a withdrawal and a deletion on A.
    with a.test_request_context("/"):
        vn = db.session.scalar(select(User).where(User.email == "coord.vn@a.test"))
        publishing.save_text(vn, ids["policy"], "ja", {"title": "政策A"})
        publishing.save_text(vn, ids["product"], "en", {"title": "Lotus tea, hand-scented"})
        # The location taken away: its record then says nothing of it.
        publishing.update_fields(vn, ids["product"], {"product_group": "beverages"})
        publishing.set_status(vn, ids["draft"], "published")
        publishing.set_status(vn, ids["draft"], "archived")
        publishing.delete_entry(vn, ids["policy"])
        newer = publishing.create_entry(
            vn,
            "fair",
            "en",
            {"title": "Fair"},
            {
                "timezone": "Asia/Ho_Chi_Minh",
                "start_date": date(2030, 1, 1),
                "all_day": True,
            },
        )
        publishing.set_status(vn, newer.id, "published")
    with app.test_request_context("/"):
        second = pipeline.run_source(source)
        assert second.status == "ok", second.error
    assert published_copy(app, source) == published_copy(a)
    assert published_copy(app, source)[str(ids["product"])] == {"en": "Lotus tea, hand-scented"}
    with app.app_context():
        copy = db.session.scalar(select(Entry).where(Entry.partner_id == str(ids["product"])))
        assert (copy.latitude, copy.longitude, copy.where_to_buy) == (None, None, None)
    with app.test_request_context("/"):
        third = pipeline.run_source(source)
        assert (third.fetched, third.created, third.updated, third.deleted) == (0, 0, 0, 0)


def test_a_partner_pushes_a_batch_with_its_token(app, client):
    with app.test_request_context("/"):
        token, secret = issue_token("Thai OTOP office", "TH")
    headers = {"Authorization": f"Bearer {secret}"}
    batch = {
        "records": [
            {
                "id": "otop-1",
                "collection": "products",
                "record": {
                    "source_language": "en",
                    "translations": {"en": {"title": "Silk scarf"}},
                    "product_group": "textiles",
                    "rating_scheme": "otop",
                    "stars": 5,
                    "rated_on": "2025-01-10",
                },
            },
            {
                "id": "otop-2",
                "collection": "products",
                "record": {
                    "source_language": "en",
                    "translations": {"en": {"title": "Bad stars"}},
                    "product_group": "textiles",
                    "stars": 9,
                },
            },
        ]
    }
    response = client.post("/api/v1/ingest", json=batch, headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "partial"
    assert body["counts"] == {
        "fetched": 2,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "deleted": 0,
        "rejected": 1,
        "held": 0,
    }
    assert body["rejected"][0]["id"] == "otop-2" and "stars" in body["rejected"][0]["reasons"]
    with app.app_context():
        scarf = db.session.scalar(select(Entry).where(Entry.partner_id == "otop-1"))
        assert (scarf.country_code, scarf.origin, scarf.stars) == ("TH", "partner", 5)
    response = client.post(
        "/api/v1/ingest",
        json={"records": [{"id": "otop-1", "collection": "products", "deleted": True}]},
        headers=headers,
    )
    assert response.get_json()["counts"]["deleted"] == 1
    with app.test_request_context("/"):
        revoke_token(token.id)
    response = client.post("/api/v1/ingest", json=batch, headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {
        "error": {
            "code": 401,
            "reason": "unauthorized",
            "message": "This needs a valid token or a signed-in account.",
            "details": {},
        }
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"records": "x"}, "records"),
        ({"records": [{"id": 5, "collection": "products"}]}, "0"),
        ({"records": [{"id": "a", "collection": "cars"}]}, "0"),
    ],
)
def test_a_malformed_push_is_refused_whole(app, client, body, field):
    with app.test_request_context("/"):
        _token, secret = issue_token("Partner", "TH")
    response = client.post(
        "/api/v1/ingest",
        json=body,
        headers={"Authorization": f"Bearer {secret}", "Accept-Language": "vi"},
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["reason"] == "invalid_input" and field in error["details"]
    assert error["message"] == "Yêu cầu không hợp lệ."


@pytest.mark.parametrize(
    "query", ["since=-1", "since=abc", "limit=0", "limit=5000", "country=Viet Nam"]
)
def test_the_changes_feed_refuses_bad_parameters_with_the_json_error_shape(client, query):
    response = client.get(f"/api/v1/changes?{query}")
    assert response.status_code == 422
    assert set(response.get_json()["error"]) == {"code", "reason", "message", "details"}


def test_unknown_api_paths_answer_json(client):
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.get_json()["error"]["reason"] == "not_found"


def test_a_new_token_goes_on_updating_what_the_old_one_pushed(app, client):
    with app.test_request_context("/"):
        old, old_secret = issue_token("Partner, 2026", "TH")
        _new, new_secret = issue_token("Partner, 2027", "TH")
    record = {
        "id": "otop-9",
        "collection": "products",
        "record": {
            "source_language": "en",
            "translations": {"en": {"title": "Old name"}},
            "product_group": "food",
        },
    }
    client.post(
        "/api/v1/ingest",
        json={"records": [record]},
        headers={"Authorization": f"Bearer {old_secret}"},
    )
    with app.test_request_context("/"):
        revoke_token(old.id)
    record["record"]["translations"]["en"]["title"] = "New name"
    body = client.post(
        "/api/v1/ingest",
        json={"records": [record]},
        headers={"Authorization": f"Bearer {new_secret}"},
    ).get_json()
    assert body["counts"]["updated"] == 1 and body["counts"]["created"] == 0
    with app.app_context():
        live = db.session.scalars(
            select(Entry).where(Entry.partner_id == "otop-9", Entry.deleted_dt.is_(None))
        ).all()
        assert [e.text_in("en").title for e in live] == ["New name"]


def test_pushes_stop_while_an_administrator_pauses_them(app, client):
    from hub.sync.models import PartnerSource

    with app.test_request_context("/"):
        _token, secret = issue_token("Partner", "TH")
    headers = {"Authorization": f"Bearer {secret}"}
    client.post("/api/v1/ingest", json={"records": []}, headers=headers)
    with app.test_request_context("/"):
        source = db.session.scalar(select(PartnerSource).where(PartnerSource.kind == "push"))
        services.set_enabled(source.id, False)
    response = client.post("/api/v1/ingest", json={"records": []}, headers=headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["reason"] == "pushes_paused"
    assert (
        response.get_json()["error"]["message"]
        == "Pushes for this country are paused by an administrator."
    )


def test_a_pushed_record_with_a_lone_surrogate_is_refused_alone(app, client):
    with app.test_request_context("/"):
        _token, secret = issue_token("Thai OTOP office", "TH")
    record = {"source_language": "en", "product_group": "textiles"}
    body = json.dumps({"records": [  # as a partner's JSON encoder writes them: escaped
        {"id": "s-1", "collection": "products",
         "record": {**record, "translations": {"en": {"title": "Silk \ud800"}}}},
        {"id": "s-\ud800", "collection": "products",
         "record": {**record, "translations": {"en": {"title": "Silk"}}}},
        {"id": "s-3", "collection": "products",
         "record": {**record, "translations": {"en": {"title": "Silk scarf"}}}},
    ]})  # fmt: skip
    response = client.post(
        "/api/v1/ingest?lang=vi",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200, response.data
    answer = response.get_json()
    assert (answer["status"], answer["counts"]["created"], answer["counts"]["rejected"]) == (
        "partial", 1, 2)  # fmt: skip
    assert [r["id"] for r in answer["rejected"]] == ["s-1", "s-\ufffd"]
    assert "Unicode" in answer["rejected"][0]["reasons"]["translations.en.title"][0]


class Switch:
    """A WSGI app that is one app, then another: a hub restored in place, at the same address."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


def test_a_follower_reads_a_restored_hub_again_and_keeps_what_is_not_its(
    app, tmp_path, monkeypatch
):
    """Hub A is backed up, goes on (a new entry, a deletion), and is restored from the backup at
    the same address: its feed starts a new epoch. B, following it, is answered 410, reads the
    whole feed again, and ends with A's entries as restored; its own entries stay."""
    monkeypatch.setitem(app.config, "FETCH_ALLOW", ["127.0.0.1"])
    with fresh_database("sqlite", tmp_path) as url_a, fresh_database("sqlite", tmp_path) as url_r:
        a = make_test_app(url_a, MEDIA_URL=str(tmp_path / "a-media"))
        restored = make_test_app(url_r, MEDIA_URL=str(tmp_path / "restored-media"))
        switch = Switch(a)
        server = make_server("127.0.0.1", 0, switch, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with a.test_request_context("/"):
                upgrade(db.engine)
                seed_registry()
                vn = create_user("coord.vn@a.test", PASSWORD, "coordinator", "VN")
                ids = []
                for title in ("One", "Two", "Three"):
                    entry = publishing.create_entry(vn, "policy", "en", {"title": title}, {})
                    publishing.set_status(vn, entry.id, "published")
                    ids.append(entry.id)
            with app.test_request_context("/"):
                mine = publishing.create_entry(
                    db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test")),
                    "policy", "en", {"title": "B's own"}, {},
                ).id  # fmt: skip
                source = services.add_source(
                    "VN", "hub", f"http://127.0.0.1:{server.server_port}", {"country": "VN"}
                ).id
                assert pipeline.run_source(source).created == 3
            backup = a.test_cli_runner().invoke(args=["hub", "backup", "--to", str(tmp_path / "b")])
            assert backup.exit_code == 0, backup.output
            with a.test_request_context("/"):
                vn = db.session.scalar(select(User).where(User.email == "coord.vn@a.test"))
                later = publishing.create_entry(vn, "policy", "en", {"title": "Later"}, {})
                publishing.set_status(vn, later.id, "published")
                publishing.delete_entry(vn, ids[0])
            with app.test_request_context("/"):
                run = pipeline.run_source(source)
                assert (run.created, run.deleted) == (1, 1)
            assert sorted(published_copy(app, source)) == sorted(map(str, [*ids[1:], later.id]))

            done = restored.test_cli_runner().invoke(
                args=["hub", "restore", "--from", str(tmp_path / "b")]
            )
            assert done.exit_code == 0, done.output
            switch.app = restored
            with app.test_request_context("/"):
                resync = pipeline.run_source(source)
                assert resync.status == "ok", resync.error
                # One again (it is there in the restored hub), "Later" deleted (it is not).
                assert (resync.updated, resync.deleted) == (1, 1)
                state = db.session.get(PartnerSource, source).state
            assert published_copy(app, source) == published_copy(restored)
            with restored.app_context():
                assert set(state) == {"since", "epoch"} and state["epoch"] == feed_epoch()
            with app.app_context():
                assert db.session.get(Entry, mine).deleted_dt is None
            with app.test_request_context("/"):
                again = pipeline.run_source(source)
                assert (again.status, again.fetched, again.deleted) == ("ok", 0, 0)
        finally:
            server.shutdown()
            for hub in (a, restored):
                db.binding(hub).engine.dispose()
