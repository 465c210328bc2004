"""Each published entry's item in the changes feed, stored when it is written: by every kind of
write, never served once it is out of date, and filled in for entries written before it existed."""

import json

from sqlalchemy import select, update

from hub.accounts.models import User
from hub.db import upgrade
from hub.extensions import db
from hub.publishing import services
from hub.publishing.exchange import dump_record
from hub.publishing.models import Entry, EntryTranslation
from hub.registry.seeding import seed_registry
from tests.support import fresh_database, make_test_app, sample_entries


def stored(entry_id):
    return db.session.execute(
        select(Entry.change_json, Entry.change_json_seq, Entry.change_seq).where(
            Entry.id == entry_id
        )
    ).one()


def current_record(entry_id):
    db.session.expire_all()
    return dump_record(db.session.get(Entry, entry_id))


def feed(client):
    items, since = {}, 0
    for _ in range(100):  # bounded: a few pages at most
        body = client.get(f"/api/v1/changes?since={since}&limit=2").get_json()
        items.update({item["id"]: item for item in body["items"]})
        since = body["next_since"]
        if not body["more"]:
            return items
    raise AssertionError("the feed did not end")


def coordinator():
    return db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))


def test_writes_through_the_services_store_the_current_record(app):
    with app.test_request_context("/"):
        entries = sample_entries()
        for entry in entries.values():
            text, seq, change = stored(entry.id)
            assert seq == change and json.loads(text)["record"] == current_record(entry.id)
        product = entries["product"].id
        services.save_text(coordinator(), product, "ja", {"title": "タイグエン茶"})
        text, seq, change = stored(product)
        assert (
            seq == change
            and json.loads(text)["record"]["translations"]["ja"]["title"] == "タイグエン茶"
        )
        services.set_status(coordinator(), product, "archived")
        text, seq, change = stored(product)
        assert seq != change  # not published: nothing to serve, and the old one is not used


def test_the_feed_serves_the_stored_record_and_never_an_outdated_one(app, client):
    with app.test_request_context("/"):
        entries = sample_entries()
        policy = entries["policy"].id
        item = json.loads(stored(policy)[0])
        assert "id" not in item  # put back by the feed
        item["record"] = {"marker": True}
        db.session.execute(
            update(Entry).where(Entry.id == policy).values(change_json=json.dumps(item))
        )
        db.session.commit()
    served = feed(client)[policy]
    assert served["record"] == {"marker": True} and served["id"] == policy  # served as stored
    with app.test_request_context("/"):
        # A write that does not store the record (straight SQL): it takes a new number, so
        # the stored text is not used any more.
        db.session.execute(
            update(EntryTranslation)
            .where(EntryTranslation.entry_id == policy, EntryTranslation.language == "vi")
            .values(title="Đã sửa")
        )
        db.session.execute(
            update(Entry).where(Entry.id == policy).values(change_seq=services.next_change_seq())
        )
        db.session.commit()
        expected = current_record(policy)
    record = feed(client)[policy]["record"]
    assert record.pop("media") == []  # the entry's photos, added as the page is served
    assert record == expected and record["translations"]["vi"]["title"] == "Đã sửa"


def test_entries_a_partner_pushes_carry_their_record(app, client):
    from hub.api.auth import issue_token

    with app.test_request_context("/"):
        token = issue_token("Tools", "VN")[1]
    record = {
        "source_language": "vi",
        "status": "published",
        "translations": {"vi": {"title": "Chè Shan tuyết"}, "en": {"title": "Shan tuyet tea"}},
        "product_group": "beverages",
        "rating_scheme": "ocop",
        "stars": 4,
        "rated_on": "2025-03-01",
    }
    answer = client.post(
        "/api/v1/ingest",
        json={"records": [{"id": "tea-1", "collection": "products", "record": record}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.get_json()
    with app.test_request_context("/"):
        entry_id = db.session.scalar(select(Entry.id).where(Entry.partner_id == "tea-1"))
        text, seq, change = stored(entry_id)
        assert seq == change and json.loads(text)["record"] == current_record(entry_id)
    assert feed(client)[entry_id]["record"]["translations"]["en"]["title"] == "Shan tuyet tea"


def test_migrate_stores_the_records_older_hubs_did_not(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        app = make_test_app(url)
        try:
            with app.test_request_context("/"):
                upgrade(db.engine)
                seed_registry()
                from hub.accounts.services import create_user

                create_user(
                    "coordinator.vn@hub.test", "correct horse battery staple", "coordinator", "VN"
                )
                ids = [entry.id for entry in sample_entries().values()]
                db.session.execute(update(Entry).values(change_json=None, change_json_seq=None))
                db.session.commit()
            result = app.test_cli_runner().invoke(args=["hub", "migrate"])
            assert result.exit_code == 0, result.output
            assert "Prepared the changes feed for 4 published entries." in result.output
            with app.app_context():
                for entry_id in ids:
                    text, seq, change = stored(entry_id)
                    assert seq == change and json.loads(text)["record"] == current_record(entry_id)
            again = app.test_cli_runner().invoke(args=["hub", "migrate"])
            assert "Prepared the changes feed" not in again.output  # nothing left to do
        finally:
            db.binding(app).engine.dispose()
