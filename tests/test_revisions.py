"""Revisions (hub.history): every write of an entry keeps who, when, which action and language
and the old values it replaced; the history page with "restore this version"; the API's
revisions of an entry; the sync's revisions, one statement a batch."""

from datetime import date

import pytest
from sqlalchemy import event, select

from hub.accounts.models import User
from hub.api.auth import issue_token
from hub.extensions import db
from hub.history import services as history
from hub.history.models import Revision
from hub.publishing import revisions as rv
from hub.publishing import services
from hub.publishing.models import Entry
from hub.sync.models import PartnerSource
from tests.support import csrf_token, sign_in

POLICY_VI = {
    "title": "Chương trình OCOP",
    "summary": "Giai đoạn 2018–2020.",
    "body": "Quyết định 490.",
}
POLICY_FIELDS = {
    "instrument": "decision",
    "reference_number": "490/QĐ-TTg",
    "issuing_body": "Prime Minister",
    "issued_on": date(2018, 5, 7),
    "link": "https://example.org/490",
}
LONG_BODY = (
    "The programme gives every commune one product to develop, from its own materials and "
    "skills, with the help of the provinces and the rating council."
)


def user(email):
    return db.session.scalar(select(User).where(User.email == email))


def revisions_of(entry_id):
    return db.session.scalars(
        select(Revision)
        .where(Revision.subject == "entry", Revision.subject_id == str(entry_id))
        .order_by(Revision.id)
    ).all()


def page_of(entry_id, cursor=None, limit=20):
    entry = db.session.get(Entry, entry_id)
    return history.revisions("entry", entry_id, cursor, limit, current=rv.entry_state(entry))


@pytest.fixture
def vn(ctx):
    return user("coordinator.vn@hub.test")


@pytest.fixture
def policy(vn):
    """A policy written in Vietnamese, translated, corrected, published: five revisions."""
    entry = services.create_entry(vn, "policy", "vi", POLICY_VI, POLICY_FIELDS)
    services.save_text(vn, entry.id, "en", {"title": "OCOP programme", "body": LONG_BODY})
    services.update_fields(vn, entry.id, {**POLICY_FIELDS, "reference_number": "490/2018"})
    services.save_text(vn, entry.id, "vi", {**POLICY_VI, "title": "Chương trình OCOP mới"})
    services.set_status(vn, entry.id, "published")
    return entry


def test_each_write_keeps_a_revision_with_the_old_values(policy, vn):
    created, translated, edited, text, status = revisions_of(policy.id)
    assert [r.action for r in revisions_of(policy.id)] == [
        "create", "translate", "edit", "text", "status"
    ]  # fmt: skip
    assert {r.user_id for r in revisions_of(policy.id)} == {vn.id}
    assert (created.changes, created.language) == (None, "vi")
    assert translated.language == "en"
    assert translated.changes == {"title.en": None, "body.en": None}
    assert edited.changes == {"reference_number": "490/QĐ-TTg"} and edited.language is None
    assert (text.language, text.changes) == ("vi", {"title.vi": "Chương trình OCOP"})
    assert status.changes == {"status": "draft"}
    services.delete_entry(vn, policy.id)
    deleted = revisions_of(policy.id)[-1]
    assert (deleted.action, deleted.changes, deleted.user_id) == ("delete", None, vn.id)


def test_the_diff_gives_old_and_new_values_newest_first(policy):
    page = page_of(policy.id)
    actions = [revision.action for revision, _changes in page.items]
    assert actions == ["status", "text", "edit", "translate", "create"]
    changes = {r.action: {c.field: (c.old, c.new) for c in cs} for r, cs in page.items}
    assert changes["status"] == {"status": ("draft", "published")}
    assert changes["text"] == {"title.vi": ("Chương trình OCOP", "Chương trình OCOP mới")}
    assert changes["edit"] == {"reference_number": ("490/QĐ-TTg", "490/2018")}
    assert changes["translate"] == {
        "title.en": (None, "OCOP programme"),
        "body.en": (None, LONG_BODY),
    }
    assert changes["create"] == {}
    first = page_of(policy.id, limit=2)
    assert [r.action for r, _c in first.items] == ["status", "text"]
    second = page_of(policy.id, cursor=first.next_cursor, limit=2)
    assert [r.action for r, _c in second.items] == ["edit", "translate"]
    # A later page still gets each change's new value from the newer revisions.
    assert {c.field: c.new for c in second.items[0][1]} == {"reference_number": "490/2018"}
    assert page_of(policy.id, cursor=second.next_cursor, limit=2).next_cursor is None


def test_state_at_undoes_every_later_change(policy):
    entry = db.session.get(Entry, policy.id)
    created = revisions_of(policy.id)[0]
    state = history.state_at("entry", policy.id, created.id, rv.entry_state(entry))
    assert state["reference_number"] == "490/QĐ-TTg"
    assert state["title.vi"] == "Chương trình OCOP"
    assert state["title.en"] is None and state["status"] == "draft"
    assert history.state_at("entry", policy.id + 1000, created.id, {}) is None


def test_restore_through_the_page_is_a_revision_of_its_own(app, client, policy):
    created = revisions_of(policy.id)[0]
    sign_in(client, "coordinator.vn@hub.test")
    url = f"/en/manage/entries/{policy.id}/history"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Restore this version" in html and "<time datetime=" in html
    assert "coordinator.vn@hub.test" in html and "<ins>490/2018</ins>" in html
    assert "<del>490/QĐ-TTg</del>" in html and "<ins>" in html  # the long text: word by word
    assert f'href="/en/manage/entries/{policy.id}/history"' in client.get(
        f"/en/manage/entries/{policy.id}"
    ).get_data(as_text=True)
    restore = f"{url}/{created.id}/restore"
    assert client.post(restore, data={}).status_code == 400  # no CSRF token
    response = client.post(restore, data={"csrf_token": csrf_token(client, url)})
    assert response.status_code == 302
    with app.app_context():
        entry = db.session.get(Entry, policy.id)
        assert entry.reference_number == "490/QĐ-TTg"
        assert entry.text_in("vi").title == "Chương trình OCOP"
        assert entry.text_in("en") is None  # there was no English text then
        assert entry.status == "published"  # the status stays
        revert = revisions_of(policy.id)[-1]
        assert revert.action == "revert" and revert.user_id is not None
        assert revert.changes["reference_number"] == "490/2018"
        assert revert.changes["title.en"] == "OCOP programme"
    assert "Earlier version restored" in client.get(url).get_data(as_text=True)


def test_another_countrys_coordinator_gets_404_and_nothing_changes(app, client, policy):
    created = revisions_of(policy.id)[0]
    sign_in(client, "coordinator.th@hub.test")
    url = f"/en/manage/entries/{policy.id}/history"
    assert client.get(url).status_code == 404
    token = csrf_token(client, "/en/manage/")
    response = client.post(f"{url}/{created.id}/restore", data={"csrf_token": token})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Entry, policy.id).reference_number == "490/2018"
        assert len(revisions_of(policy.id)) == 5


def test_a_revision_of_another_entry_cannot_be_restored(app, client, policy, vn):
    other = services.create_entry(vn, "policy", "vi", POLICY_VI, POLICY_FIELDS)
    sign_in(client, "coordinator.vn@hub.test")
    url = f"/en/manage/entries/{policy.id}/history"
    token = csrf_token(client, url)
    foreign = revisions_of(other.id)[0].id
    assert client.post(f"{url}/{foreign}/restore", data={"csrf_token": token}).status_code == 404
    assert client.get(f"{url}?before=abc").status_code == 400


def test_api_writes_are_the_tokens(app, client, tokens):
    body = {
        "source_language": "en",
        "translations": {"en": {"title": "Lotus tea"}},
        "product_group": "food",
    }
    response = client.post("/api/v1/products", json=body, headers=tokens["VN"])
    assert response.status_code == 201, response.get_json()
    entry_id = response.get_json()["id"]
    client.patch(f"/api/v1/products/{entry_id}", json={"stars": 4, "rating_scheme": "ocop",
                 "rated_on": "2025-01-10"}, headers=tokens["VN"])  # fmt: skip
    with app.app_context():
        found = revisions_of(entry_id)
        assert [r.action for r in found] == ["create", "status", "edit"]  # published at once
        assert all(r.token_id is not None and r.user_id is None for r in found)
        assert found[2].changes["stars"] is None


def test_api_revisions_follow_the_entrys_visibility(app, client, tokens, policy, vn):
    draft = services.create_entry(vn, "policy", "vi", POLICY_VI, POLICY_FIELDS)
    response = client.get(f"/api/v1/policies/{policy.id}/revisions?limit=2")
    assert response.status_code == 200
    body = response.get_json()
    assert [item["action"] for item in body["items"]] == ["status", "text"]
    assert body["items"][0]["changes"] == {"status": {"old": "draft", "new": "published"}}
    assert body["items"][0]["actor"] == {"type": "user", "name": None}
    assert body["items"][1]["language"] == "vi"
    assert response.headers["Cache-Control"].startswith("public")
    rest = client.get(f"/api/v1/policies/{policy.id}/revisions?cursor={body['next_cursor']}")
    assert [item["action"] for item in rest.get_json()["items"]] == ["edit", "translate", "create"]
    assert rest.get_json()["next_cursor"] is None
    assert client.get(f"/api/v1/products/{policy.id}/revisions").status_code == 404
    assert client.get(f"/api/v1/policies/{draft.id}/revisions").status_code == 404
    assert (
        client.get(f"/api/v1/policies/{draft.id}/revisions", headers=tokens["TH"]).status_code
        == 404
    )
    own = client.get(f"/api/v1/policies/{draft.id}/revisions", headers=tokens["VN"])
    assert own.status_code == 200 and own.get_json()["items"][0]["action"] == "create"
    assert "private" in own.headers["Cache-Control"]
    bad = client.get(
        f"/api/v1/policies/{draft.id}/revisions", headers={"Authorization": "Bearer x"}
    )
    assert bad.status_code == 401
    for cursor in ("!!", "YWJj", "MA"):  # not base64; "abc"; "0"
        response = client.get(f"/api/v1/policies/{policy.id}/revisions?cursor={cursor}")
        assert response.status_code == 422
        assert response.get_json()["error"]["details"].keys() == {"cursor"}


def test_a_push_keeps_revisions_attributed_to_the_source_in_one_statement(app, client, backend):
    with app.test_request_context("/"):
        _token, secret = issue_token("Thai OTOP office", "TH")
    headers = {"Authorization": f"Bearer {secret}"}

    def record(partner_id, title, stars):
        return {
            "id": partner_id,
            "collection": "products",
            "record": {
                "source_language": "en",
                "translations": {"en": {"title": title}},
                "product_group": "textiles",
                "rating_scheme": "otop",
                "stars": stars,
                "rated_on": "2025-01-10",
            },
        }

    inserts = []
    # A batch's creations: one INSERT … SELECT. Its other revisions: on SQLite one executemany,
    # on PostgreSQL COPY on the driver's own cursor, which no statement event sees.
    created, others = 1, (1 if backend == "sqlite" else 0)

    def count(_conn, _cursor, statement, *_args):
        if "revision" in statement.lower() and statement.lstrip().upper().startswith(
            ("INSERT", "COPY")
        ):
            inserts.append(statement)

    engine = db.binding(app).engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        batch = [record(f"otop-{i}", f"Silk scarf {i}", 4) for i in range(5)]
        assert (
            client.post("/api/v1/ingest", json={"records": batch}, headers=headers).status_code
            == 200
        )
        assert len(inserts) == created
        inserts.clear()
        changed = [record("otop-0", "Silk scarf, hand-woven", 5)]
        changed.append({"id": "otop-1", "collection": "products", "deleted": True})
        assert (
            client.post("/api/v1/ingest", json={"records": changed}, headers=headers).status_code
            == 200
        )
        assert len(inserts) == others
    finally:
        event.remove(engine, "before_cursor_execute", count)
    with app.app_context():
        source = db.session.scalar(select(PartnerSource).where(PartnerSource.country_code == "TH"))
        ids = dict(db.session.execute(select(Entry.partner_id, Entry.id)).all())
        first = revisions_of(ids["otop-0"])
        assert [r.action for r in first] == ["create", "sync"]
        assert {(r.source_id, r.user_id, r.token_id) for r in first} == {(source.id, None, None)}
        assert first[0].run_id != first[1].run_id
        assert first[1].changes == {"stars": 4, "title.en": "Silk scarf 0"}
        assert [r.action for r in revisions_of(ids["otop-1"])] == ["create", "delete"]
        assert [r.action for r in revisions_of(ids["otop-2"])] == ["create"]
