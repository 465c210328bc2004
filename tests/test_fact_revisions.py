"""Revisions of registry facts (hub.history): every change of a fact's text and of a country's
membership keeps who, when, the language and the old values; the seed keeps one "create" per
text it writes, in one statement; a country's history page for administrators, with "restore
this version"; the API's revisions of a country."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, event, func, select

from hub.accounts.models import User
from hub.extensions import db
from hub.history.models import Revision
from hub.registry.facts import FIELDS
from hub.registry.seeding import seed_registry
from hub.registry.services import change_membership
from hub.texts import facts as texts
from hub.texts.models import FactText
from tests.support import csrf_token, sign_in

FACT_SUBJECTS = ("network", "source", "country", "programme", "membership_event")
NOTE_V1 = "Việt Nam ghi chú, bản thứ nhất."
NOTE_V2 = "Việt Nam ghi chú, bản thứ hai."
HISTORY = "/en/manage/countries/VN/history"


def user(email):
    return db.session.scalar(select(User).where(User.email == email))


def revisions_of(subject, key):
    return db.session.scalars(
        select(Revision)
        .where(Revision.subject == subject, Revision.subject_id == str(key))
        .order_by(Revision.id)
    ).all()


def note_of(code, language):
    row = db.session.get(FactText, ("country", code, language))
    return row.fields.get("note") if row is not None else None


def write_note(actor, text, language="vi"):
    source = db.session.get(FactText, ("country", "VN", "en"))
    texts.write("country", "VN", language, {"note": text}, FIELDS["country"],
                source=source, actor=actor)  # fmt: skip
    db.session.commit()


@pytest.fixture
def notes(app):
    """VN's note in Vietnamese written twice by the administrator; the two revisions' ids.
    (Written in a request context of its own: the test client's requests must not share its
    ``g``, where the signed-in user is kept.)"""
    with app.test_request_context("/"):
        admin = user("admin@hub.test")
        write_note(admin, NOTE_V1)
        write_note(admin, NOTE_V2)
        return [r.id for r in revisions_of("country", "VN")[-2:]]


def suspend_vn(app):
    """VN suspended by the administrator; the status revision's id."""
    with app.test_request_context("/"):
        change_membership("VN", "suspended", "2025-01-15", actor=user("admin@hub.test"))
        return revisions_of("country", "VN")[-1].id


def test_a_membership_change_keeps_a_revision_of_the_country(app, ctx, time_machine):
    moment = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    time_machine.move_to(moment, tick=False)
    admin = user("admin@hub.test")
    before = len(revisions_of("country", "VN"))
    event_ = change_membership("VN", "suspended", "2025-01-15", "Dues unpaid", actor=admin)
    status = revisions_of("country", "VN")[before]
    assert (status.action, status.language) == ("status", None)
    assert status.changes == {"membership_status": "member"}
    assert status.user_id == admin.id and status.created_dt == moment
    (note,) = revisions_of("membership_event", event_.id)
    assert (note.action, note.language, note.changes) == ("text", "en", {"note.en": None})
    assert note.user_id == admin.id
    change_membership("VN", "member", "2025-02-01")  # the command line: no actor
    last = revisions_of("country", "VN")[-1]
    assert last.changes == {"membership_status": "suspended"}
    assert (last.user_id, last.token_id, last.source_id) == (None, None, None)


def test_a_fact_text_change_keeps_the_old_values_in_its_language(app, ctx, notes):
    admin = user("admin@hub.test")
    first, second = (db.session.get(Revision, id_) for id_ in notes)
    assert (first.action, first.language, first.user_id) == ("translate", "vi", admin.id)
    seeded_vi = first.changes["note.vi"]
    assert seeded_vi and seeded_vi != NOTE_V1  # the seed's translation, replaced
    assert second.changes == {"note.vi": NOTE_V1}
    assert second.created_dt >= first.created_dt
    english = db.session.get(FactText, ("country", "VN", "en")).fields["note"]
    texts.write("country", "VN", "en", {"note": english + " More."}, FIELDS["country"])
    db.session.commit()
    source = revisions_of("country", "VN")[-1]
    assert (source.action, source.language) == ("text", "en")
    assert source.changes == {"note.en": english} and source.user_id is None
    before = len(revisions_of("country", "VN"))
    write_note(admin, NOTE_V2)  # unchanged: no revision
    assert len(revisions_of("country", "VN")) == before


def test_the_seed_keeps_one_create_per_text_in_one_statement(app, ctx):
    def creates():
        return db.session.scalar(
            select(func.count())
            .select_from(Revision)
            .where(Revision.subject.in_(FACT_SUBJECTS), Revision.action == "create")
        )

    def every_revision():
        return db.session.scalar(select(func.count()).select_from(Revision))

    rows = db.session.scalar(select(func.count()).select_from(FactText))
    assert rows > 100 and creates() == rows
    before = every_revision()
    seed_registry()  # nothing changed: no revision
    assert every_revision() == before
    # A first load: every text created again, their revisions in one INSERT.
    db.session.execute(delete(Revision))
    db.session.execute(delete(FactText).where(FactText.subject != "membership_event"))
    db.session.commit()
    inserts = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("INSERT INTO REVISION"):
            inserts.append(statement)

    engine = db.binding(app).engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        seed_registry()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(inserts) == 1
    assert creates() == db.session.scalar(select(func.count()).select_from(FactText))
    assert {r.changes for r in db.session.scalars(select(Revision))} == {None}


def test_the_history_page_is_the_administrators(app, client, notes):
    assert client.get(HISTORY).status_code == 302  # not signed in: to the sign-in page
    sign_in(client, "coordinator.vn@hub.test")
    assert client.get(HISTORY).status_code == 403
    assert client.get("/en/countries/VN").status_code == 200
    assert HISTORY not in client.get("/en/countries/VN").get_data(as_text=True)
    client = app.test_client()
    sign_in(client, "admin@hub.test")
    assert f'href="{HISTORY}"' in client.get("/en/countries/VN").get_data(as_text=True)
    html = client.get(HISTORY).get_data(as_text=True)
    assert "Translated" in html and "<time datetime=" in html and "admin@hub.test" in html
    assert f"<del>{NOTE_V1}</del>" in html and f"<ins>{NOTE_V2}</ins>" in html
    first, second = notes
    assert f"{HISTORY}/{first}/restore" in html
    assert f"{HISTORY}/{second}/restore" not in html  # the newest in its language
    assert html.index(NOTE_V2) < html.index("Created")  # newest first
    assert client.get("/en/manage/countries/ZZ/history").status_code == 404
    assert client.get(f"{HISTORY}?before=abc").status_code == 400


def test_the_history_page_pages_and_shows_status_changes(app, client):
    suspend_vn(app)
    sign_in(client, "admin@hub.test")
    html = client.get(HISTORY).get_data(as_text=True)
    assert "Status changed" in html and "<del>Member</del>" in html
    assert "<ins>Suspended</ins>" in html
    older = client.get(HISTORY).get_data(as_text=True).split('rel="next" href="')
    assert len(older) == 2  # the seed's texts fill more than a page
    assert client.get(older[1].split('"')[0].replace("&amp;", "&")).status_code == 200


def test_restoring_a_version_writes_it_back_as_a_revert(app, client, notes):
    first, _second = notes
    anonymous = app.test_client()
    assert NOTE_V2 in anonymous.get("/vi/countries/VN").get_data(as_text=True)
    sign_in(client, "admin@hub.test")
    restore = f"{HISTORY}/{first}/restore"
    assert client.post(restore, data={}).status_code == 400  # no CSRF token
    with app.app_context():
        assert note_of("VN", "vi") == NOTE_V2
    token = csrf_token(client, HISTORY)
    response = client.post(restore, data={"csrf_token": token})
    assert response.status_code == 302 and response.location.endswith(HISTORY)
    with app.app_context():
        assert note_of("VN", "vi") == NOTE_V1
        revert = revisions_of("country", "VN")[-1]
        assert (revert.action, revert.language) == ("revert", "vi")
        assert revert.changes == {"note.vi": NOTE_V2}
        assert revert.user_id == user("admin@hub.test").id
        source = db.session.get(FactText, ("country", "VN", "en"))
        assert db.session.get(FactText, ("country", "VN", "vi")).source_fingerprint == (
            source.fingerprint
        )
    assert "Earlier version restored" in client.get(HISTORY).get_data(as_text=True)
    assert NOTE_V1 in client.get("/vi/countries/VN").get_data(as_text=True)
    assert NOTE_V1 in anonymous.get("/vi/countries/VN").get_data(as_text=True)


def test_only_a_text_revision_of_the_countrys_facts_is_restored(app, client, notes):
    status = suspend_vn(app)
    with app.app_context():
        thai = revisions_of("country", "TH")[0].id
    sign_in(client, "coordinator.vn@hub.test")
    token = csrf_token(client, "/en/manage/")
    response = client.post(f"{HISTORY}/{notes[0]}/restore", data={"csrf_token": token})
    assert response.status_code == 403
    client = app.test_client()
    sign_in(client, "admin@hub.test")
    token = csrf_token(client, HISTORY)
    for revision in (status, thai):
        url = f"{HISTORY}/{revision}/restore"
        assert client.post(url, data={"csrf_token": token}).status_code == 404
    assert (
        client.post(f"{HISTORY}/999999999/restore", data={"csrf_token": token}).status_code == 404
    )
    with app.app_context():
        assert note_of("VN", "vi") == NOTE_V2
        assert revisions_of("country", "VN")[-1].action == "status"


def test_the_api_gives_a_countrys_revisions_page_by_page(app, client, notes):
    response = client.get("/api/v1/countries/VN/revisions?limit=2")
    assert response.status_code == 200
    body = response.get_json()
    newest, older = body["items"]
    assert newest["action"] == "translate" and newest["language"] == "vi"
    assert newest["changes"] == {"note.vi": {"old": NOTE_V1, "new": NOTE_V2}}
    assert newest["actor"] == {"type": "user", "name": None}
    assert newest["subject"] == {"type": "country", "id": "VN"}
    assert older["changes"]["note.vi"]["new"] == NOTE_V1
    assert newest["created"].endswith("Z")
    seen = [newest["id"], older["id"]]
    cursor = body["next_cursor"]
    while cursor:
        page = client.get(f"/api/v1/countries/vn/revisions?limit=50&cursor={cursor}").get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) > 2
    subjects = {item["subject"]["type"] for item in page["items"]}
    assert "programme" in subjects
    for cursor in ("!!", "YWJj", "MA"):
        response = client.get(f"/api/v1/countries/VN/revisions?cursor={cursor}")
        assert response.status_code == 422
        assert response.get_json()["error"]["details"].keys() == {"cursor"}
    assert client.get("/api/v1/countries/VN/revisions?limit=0").status_code == 422
    missing = client.get("/api/v1/countries/ZZ/revisions")
    assert missing.status_code == 404 and missing.get_json()["error"]["reason"] == "not_found"
