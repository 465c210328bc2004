"""The trash: deleting asks first and says what goes; deleted entries stay restorable for
HUB_TRASH_DAYS days (the page and the API), followers of the changes feed see the deletion and
the restoration, and the scheduler's purge then keeps only a minimal tombstone."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from babel.dates import format_date
from babel.lists import format_list
from sqlalchemy import event, func, select

from hub.accounts.models import AuditEvent, User
from hub.extensions import db
from hub.i18n import language_name
from hub.media.models import Media
from hub.publishing import queries, services, trash
from hub.publishing.models import Entry, EntryTranslation
from tests.support import csrf_token, query_plan, sample_entries, sign_in
from tests.test_federation import hub_a, published_copy  # noqa: F401  (the fixture)
from tests.test_publishing_pages import state

VN = "coordinator.vn@hub.test"
TH = "coordinator.th@hub.test"
ADMIN = "admin@hub.test"
MOMENT = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)


def user(email):
    return db.session.scalar(select(User).where(User.email == email))


@pytest.fixture
def entries(app):
    with app.test_request_context("/"):
        return {kind: entry.id for kind, entry in sample_entries().items()}


def feed_items(client, since=0):
    page = client.get(f"/api/v1/changes?since={since}&limit=1000").get_json()
    return page["items"]


@pytest.mark.dates
@pytest.mark.parametrize(
    ("lang", "title", "published", "date_words"),
    [
        ("en", "Chương trình Mỗi xã một sản phẩm", "It is published", "restored until"),
        ("vi", "Chương trình Mỗi xã một sản phẩm", "đã được đăng", "khôi phục"),
        ("ja", "一村一品プログラム", "公開中", "復元"),
    ],
)
def test_the_confirm_page_says_what_will_go(
    app, client, entries, time_machine, lang, title, published, date_words
):
    time_machine.move_to(MOMENT, tick=False)
    sign_in(client, VN, lang=lang)
    policy = entries["policy"]
    entry_page = client.get(f"/{lang}/manage/entries/{policy}").get_data(as_text=True)
    assert f'href="/{lang}/manage/entries/{policy}/delete"' in entry_page
    response = client.get(f"/{lang}/manage/entries/{policy}/delete")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert title in page
    languages = format_list(
        [language_name(code, lang) for code in ("ja", "vi")], locale=lang
    )  # the policy has texts in Japanese and Vietnamese
    assert languages in page
    assert published in page
    assert date_words in page
    assert format_date(MOMENT + timedelta(days=30), "long", locale=lang) in page
    assert 'name="csrf_token"' in page and f'href="/{lang}/manage/entries/{policy}"' in page
    if lang == "en":
        assert "Vietnamese and Japanese" not in page  # CLDR's order is the texts' order
        assert "Japanese and Vietnamese" in page and "March 31, 2027" in page
    with app.app_context():
        assert db.session.get(Entry, policy).deleted_dt is None  # asking deletes nothing


def test_delete_through_the_confirm_page(app, client, entries):
    sign_in(client, VN)
    product = entries["product"]
    assert client.get(f"/en/products/{product}").status_code == 200
    before = state(app)
    assert client.post(f"/en/manage/entries/{product}/delete").status_code == 400  # no CSRF
    assert state(app) == before
    token = csrf_token(client, f"/en/manage/entries/{product}/delete")
    response = client.post(
        f"/en/manage/entries/{product}/delete", data={"csrf_token": token}, follow_redirects=True
    )
    assert "The entry is in the trash. You can restore it until" in response.get_data(as_text=True)
    assert client.get(f"/en/products/{product}").status_code == 404
    assert client.get(f"/en/manage/entries/{product}/delete").status_code == 404
    trash_page = client.get("/en/manage/trash").get_data(as_text=True)
    assert "Chè Thái Nguyên" in trash_page and f"by {VN}" in trash_page
    assert 'href="/en/manage/trash" aria-current="page"' in trash_page


def test_another_countrys_coordinator_sees_nothing_and_restores_nothing(
    app, client, entries, tokens
):
    with app.test_request_context("/"):
        services.delete_entry(user(VN), entries["policy"])
    sign_in(client, TH)
    assert "The trash is empty." in client.get("/en/manage/trash").get_data(as_text=True)
    before = state(app)
    token = csrf_token(client, "/en/manage/trash")
    url = f"/en/manage/entries/{entries['policy']}/restore"
    assert client.post(url, data={"csrf_token": token}).status_code == 404
    response = client.post(f"/api/v1/policies/{entries['policy']}/restore", headers=tokens["TH"])
    assert response.status_code == 404
    assert response.get_json()["error"]["reason"] == "not_in_trash"
    assert state(app) == before
    # The administrator sees every country's trash.
    admin = app.test_client()
    sign_in(admin, ADMIN)
    assert "Chương trình Mỗi xã một sản phẩm" in admin.get("/en/manage/trash").get_data(
        as_text=True
    )


def test_restore_through_the_page(app, client, entries):
    policy = entries["policy"]
    with app.test_request_context("/"):
        deleted = services.delete_entry(user(VN), policy).change_seq
    sign_in(client, VN)
    token = csrf_token(client, "/en/manage/trash")
    before = state(app)
    assert client.post(f"/en/manage/entries/{policy}/restore").status_code == 400  # no CSRF
    assert state(app) == before
    response = client.post(f"/en/manage/entries/{policy}/restore", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/en/manage/entries/{policy}")
    assert "The entry is restored." in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert client.get(f"/en/policies/{policy}").status_code == 200
    with app.app_context():
        entry = db.session.get(Entry, policy)
        assert entry.deleted_dt is None and entry.change_seq > deleted
        actions = db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_id == str(policy))
            .order_by(AuditEvent.id)
        ).all()
        assert actions[-2:] == ["policy.delete", "policy.restore"]
    assert "The trash is empty." in client.get("/en/manage/trash").get_data(as_text=True)
    # Not in the trash any more: nothing to restore.
    assert (
        client.post(f"/en/manage/entries/{policy}/restore", data={"csrf_token": token}).status_code
        == 404
    )


def test_restore_through_the_api(app, client, entries, tokens):
    product = entries["product"]
    assert client.delete(f"/api/v1/products/{product}", headers=tokens["VN"]).status_code == 204
    assert client.post(f"/api/v1/products/{product}/restore").status_code == 401
    wrong_kind = client.post(f"/api/v1/policies/{product}/restore", headers=tokens["VN"])
    assert wrong_kind.status_code == 404
    response = client.post(f"/api/v1/products/{product}/restore?lang=vi", headers=tokens["VN"])
    assert response.status_code == 200
    assert response.get_json() == client.get(f"/api/v1/products/{product}?lang=vi").get_json()
    again = client.post(f"/api/v1/products/{product}/restore", headers=tokens["VN"])
    assert again.status_code == 404
    assert again.get_json()["error"]["reason"] == "not_in_trash"


def test_an_entry_a_partner_brought_is_not_restored_here(app, client, tokens):
    push = {"records": [{"id": "p-1", "collection": "products", "record": {
        "source_language": "en", "translations": {"en": {"title": "Silk"}},
        "product_group": "textiles"}}]}  # fmt: skip
    assert client.post("/api/v1/ingest", json=push, headers=tokens["VN"]).status_code == 200
    gone = {"records": [{"id": "p-1", "collection": "products", "deleted": True}]}
    assert client.post("/api/v1/ingest", json=gone, headers=tokens["VN"]).status_code == 200
    with app.app_context():
        entry_id = db.session.scalar(select(Entry.id).where(Entry.partner_id == "p-1"))
    response = client.post(f"/api/v1/products/{entry_id}/restore", headers=tokens["VN"])
    assert response.status_code == 403
    assert response.get_json()["error"]["reason"] == "from_partner"
    assert (
        client.post(f"/api/v1/products/{entry_id}/restore", headers=tokens["TH"]).status_code == 404
    )


def test_the_changes_feed_reports_the_deletion_then_the_restoration(app, client, entries, tokens):
    policy = entries["policy"]
    since = client.get("/api/v1/changes?limit=1000").get_json()["next_since"]
    client.delete(f"/api/v1/policies/{policy}", headers=tokens["VN"])
    [deletion] = feed_items(client, since)
    assert (deletion["id"], deletion["deleted"], "record" in deletion) == (policy, True, False)
    client.post(f"/api/v1/policies/{policy}/restore", headers=tokens["VN"])
    [restoration] = feed_items(client, deletion["seq"])
    assert (restoration["id"], restoration["deleted"]) == (policy, False)
    assert restoration["seq"] > deletion["seq"]
    assert restoration["record"]["translations"]["ja"]["title"] == "一村一品プログラム"
    # From the start, the feed holds the entry's latest state only: alive.
    items = [i for i in feed_items(client) if i["id"] == policy]
    assert [i["deleted"] for i in items] == [False]


def test_a_follower_that_saw_the_deletion_brings_the_entry_back(app, hub_a, monkeypatch):  # noqa: F811
    from hub.sync import pipeline
    from hub.sync import services as sync

    a, a_url = hub_a
    monkeypatch.setitem(app.config, "FETCH_ALLOW", ["127.0.0.1"])
    with a.test_request_context("/"):
        vn = user("coord.vn@a.test")
        policy = services.create_entry(vn, "policy", "vi", {"title": "Chính sách A"}, {}).id
        services.set_status(vn, policy, "published")
    with app.test_request_context("/"):
        source = sync.add_source("VN", "hub", a_url, {"country": "VN"}).id
        assert pipeline.run_source(source).created == 1
    with a.test_request_context("/"):
        services.delete_entry(user("coord.vn@a.test"), policy)
    with app.test_request_context("/"):
        assert pipeline.run_source(source).deleted == 1
    assert published_copy(app, source) == {}
    with a.test_request_context("/"):
        services.restore_entry(user("coord.vn@a.test"), policy)
    with app.test_request_context("/"):
        run = pipeline.run_source(source)
        assert (run.status, run.updated) == ("ok", 1), run.error
    assert published_copy(app, source) == {str(policy): {"vi": "Chính sách A"}}


def test_the_trash_is_paginated_latest_deletion_first(app, entries, time_machine):
    time_machine.move_to(MOMENT, tick=False)
    with app.test_request_context("/"):
        vn = user(VN)
        for minutes, kind in enumerate(("fair", "policy", "product")):
            time_machine.move_to(MOMENT + timedelta(minutes=minutes), tick=False)
            services.delete_entry(vn, entries[kind])
        first = queries.trash(vn, limit=2)
        assert [e.id for e in first.items] == [entries["product"], entries["policy"]]
        rest = queries.trash(vn, first.next_cursor, limit=2)
        assert ([e.id for e in rest.items], rest.next_cursor) == ([entries["fair"]], None)
        assert queries.trash(user(TH)).items == []


@pytest.mark.dates
def test_the_purge_takes_what_is_30_days_old_and_keeps_a_tombstone(
    app, client, entries, tokens, runner, time_machine
):
    time_machine.move_to(MOMENT, tick=False)
    policy, product = entries["policy"], entries["product"]
    with app.test_request_context("/"):
        services.delete_entry(user(VN), policy)
        time_machine.move_to(MOMENT + timedelta(days=29), tick=False)
        services.delete_entry(user(VN), product)
        # 29 days on: nothing is due yet.
        assert trash.purge() == 0
    time_machine.move_to(MOMENT + timedelta(days=30), tick=False)
    response = client.post(f"/api/v1/policies/{policy}/restore", headers=tokens["VN"])
    assert response.status_code == 409
    assert response.get_json()["error"]["reason"] == "trash_expired"
    sign_in(client, VN)
    trash_page = client.get("/en/manage/trash").get_data(as_text=True)
    assert "Chè Thái Nguyên" in trash_page and "Chương trình Mỗi xã" not in trash_page
    token = csrf_token(client, "/en/manage/trash")
    expired = client.post(
        f"/en/manage/entries/{policy}/restore", data={"csrf_token": token}, follow_redirects=True
    )
    assert "deleted too long ago to be restored" in expired.get_data(as_text=True)
    since = 0
    tombstones_before = [i for i in feed_items(client, since) if i["id"] == policy]

    result = runner.invoke(args=["hub", "trash", "purge"], env={"LANG": "C"})
    assert result.exit_code == 0, result.output
    assert "1 entry purged from the trash." in result.output
    with app.app_context():
        db.session.expire_all()
        tomb = db.session.get(Entry, policy)
        assert tomb.deleted_dt == MOMENT and tomb.kind == "policy" and tomb.country_code == "VN"
        assert tomb.translations == [] and tomb.reference_number is None
        assert tomb.change_json is None
        kept = db.session.get(Entry, product)
        assert kept.translations and kept.stars == 4
        texts = db.session.scalar(
            select(EntryTranslation.title).where(EntryTranslation.entry_id == policy)
        )
        assert texts is None
        purges = db.session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "trash.purge")
        ).all()
        assert purges == [{"count": 1}]
    # Followers still learn of the deletion, exactly as before.
    assert [i for i in feed_items(client, since) if i["id"] == policy] == tombstones_before
    response = client.post(f"/api/v1/policies/{policy}/restore", headers=tokens["VN"])
    assert response.status_code == 409
    # The entry deleted 1 day ago is still restorable; a second purge finds nothing.
    with app.test_request_context("/"):
        assert trash.purge() == 0
    response = client.post(f"/api/v1/products/{product}/restore", headers=tokens["VN"])
    assert response.status_code == 200


def test_the_purge_works_in_bounded_batches(app, entries, time_machine):
    time_machine.move_to(MOMENT, tick=False)
    with app.test_request_context("/"):
        for entry_id in entries.values():
            services.delete_entry(user(VN), entry_id)
    time_machine.move_to(MOMENT + timedelta(days=31), tick=False)
    with app.app_context():
        assert trash.purge(batch=3, max_batches=1) == 3
        assert trash.purge(batch=3) == 1
        left = db.session.scalar(select(EntryTranslation.entry_id).where(
            EntryTranslation.entry_id.in_(list(entries.values()))))  # fmt: skip
        assert left is None


def test_the_scheduler_registers_the_purge(app):
    from hub.sync.scheduler import SyncScheduler

    scheduler = SyncScheduler(app, blocking=False)
    scheduler.start(paused=True)  # its jobs would share the test's one connection
    try:
        job = scheduler.scheduler.get_job("purge-trash")
        assert (job.coalesce, job.max_instances) == (True, 1)
        assert job.trigger.interval == timedelta(hours=1)
    finally:
        scheduler.shutdown()


def test_the_manage_navigation_links_the_trash(client):
    sign_in(client, VN, lang="ja")
    page = client.get("/ja/manage/").get_data(as_text=True)
    assert re.search(r'<a href="/ja/manage/trash">[^<]+</a>', page)


def test_the_trash_and_the_purge_read_deleted_entries_off_their_indexes(app, backend, time_machine):
    """Among 30 000 entries, 6 000 of them deleted over the last 62 days (nine in ten of
    Thailand's; a third purged already): a page of the trash (an administrator's, a Vietnamese
    coordinator's, its second page) and a batch of the purge walk the deleted entries in order
    off their indexes, a coordinator's off their country's, and stop at the page's end, never
    reading the live entries nor sorting."""
    from hub.sync.rows import insert_rows

    time_machine.move_to(MOMENT, tick=False)
    countries = ("VN", "TH", "JP", "LA")
    with app.test_request_context("/"):
        first = db.session.scalar(select(func.coalesce(func.max(Entry.change_seq), 0)))
        # Every fifth entry deleted, 15 minutes apart, in no order of their ids; 40 to 60 days
        # ago (steps 3 840 to 5 900) purged, so they have no texts.
        steps = {k: k // 5 * 7919 % 6000 for k in range(0, 30_000, 5)}
        insert_rows(Entry.__table__, [
            {"kind": "product", "status": "published", "source_language": "vi",
             "origin": "local", "created_dt": MOMENT, "updated_dt": MOMENT,
             "country_code": "TH" if k in steps and k % 50 else countries[k % 4],
             "deleted_dt": MOMENT - timedelta(minutes=15 * steps[k]) if k in steps else None,
             "product_group": "food", "change_seq": first + k + 1}
            for k in range(30_000)
        ])  # fmt: skip
        ids = dict(db.session.execute(select(Entry.change_seq - first - 1, Entry.id).where(
            Entry.change_seq > first)).all())  # fmt: skip
        insert_rows(EntryTranslation.__table__, [
            {"entry_id": ids[k], "language": "vi", "title": f"P {k}", "summary": "",
             "body": "", "lessons": "", "fingerprint": "f", "source_fingerprint": None,
             "search_title": "", "search_text": "", "updated_dt": MOMENT}
            for k in range(30_000)
            if not 3840 <= steps.get(k, 0) < 5900
        ])  # fmt: skip
        if backend == "postgresql":
            db.session.connection().exec_driver_sql("ANALYZE entry")
            db.session.connection().exec_driver_sql("ANALYZE entry_translation")
        admin, vn = user(ADMIN), user(VN)
        second = queries.trash(vn).next_cursor
        readers = {
            "admin": lambda: queries.trash(admin).items,
            "coordinator": lambda: queries.trash(vn).items,
            "coordinator, page 2": lambda: queries.trash(vn, second).items,
            "purge": lambda: db.session.scalars(trash.purgeable().limit(trash.BATCH)).all(),
        }
        engine = db.binding(app).engine
        plans = {}
        for name, read in readers.items():
            sent = []

            def keep(_conn, _cursor, statement, parameters, *_args, sent=sent):
                if statement.lstrip().startswith("SELECT") and "FROM entry " in statement:
                    sent.append((statement, parameters))

            event.listen(engine, "before_cursor_execute", keep)
            try:
                assert read()
            finally:
                event.remove(engine, "before_cursor_execute", keep)
            plans[name] = query_plan(*sent[0])
        assert {e.country_code for e in queries.trash(vn, second).items} == {"VN"}
        db.session.rollback()
    for name, plan in plans.items():
        index = "ix_entry_country_deleted" if name.startswith("coordinator") else "ix_entry_deleted"
        assert index in plan, (name, plan)
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, (name, plan)


@pytest.mark.parametrize(
    ("lang", "counts", "sentence"),
    [
        ("en", "2 photos and 1 document", "when it is removed for good, they are removed too"),
        ("vi", "2 ảnh và 1 tài liệu", "chúng cũng bị xoá, kể cả các tệp"),
        ("ja", "写真2枚、文書1件", "ファイルも含めて削除されます"),
    ],
)
def test_the_confirm_page_counts_the_photos_and_documents_that_go(
    app, client, entries, lang, counts, sentence
):
    policy = entries["policy"]
    with app.app_context():
        for position, kind in enumerate(("image", "image", "pdf")):
            db.session.add(
                Media(
                    entry_id=policy, position=position, kind=kind, mime="image/png",
                    sha256=f"{position:064d}", size=10, original_key=f"originals/{position}",
                )
            )  # fmt: skip
        db.session.commit()
    sign_in(client, VN, lang=lang)
    page = client.get(f"/{lang}/manage/entries/{policy}/delete").get_data(as_text=True)
    assert counts in page and sentence in page
    # An entry without any: nothing said of them.
    page = client.get(f"/{lang}/manage/entries/{entries['fair']}/delete").get_data(as_text=True)
    assert sentence not in page
