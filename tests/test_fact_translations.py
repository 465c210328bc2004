"""Administrators translate the registry's facts in the hub: the translation queue lists the
facts missing a language or outdated, a fact's page shows its original beside the form, saving
writes the translation (and keeps the original's version for "what changed"), and "Translation
up to date" clears an outdated one. The public pages show a translation as soon as it is saved."""

import html
import re
from datetime import date
from types import SimpleNamespace

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from hub.accounts.models import AuditEvent
from hub.extensions import db
from hub.registry.facts import FIELDS
from hub.registry.services import change_membership
from hub.texts import facts as texts
from hub.texts.models import FactText
from hub.texts.snapshots import TextSnapshot
from tests.support import csrf_token, sign_in

ADMIN = "admin@hub.test"
NOTE_VI = "Đơn xin gia nhập được tiếp nhận tại hội nghị."
NOTE_JA = "加盟申請は会議で受理された。"


def _text(response):
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


@pytest.fixture
def admin(app):
    client = app.test_client()
    assert sign_in(client, ADMIN).status_code == 302
    return client


@pytest.fixture
def note(app):
    """A membership change of Malawi noted in Vietnamese only: the id of its event."""
    with app.test_request_context("/"), force_locale("vi"):
        return str(change_membership("MW", "applicant", date(2025, 3, 1), NOTE_VI).id)


def _page(note):
    return f"/en/manage/facts/membership_event/{note}/translations/ja"


def _rows(app, subject, key):
    """The fact's texts by language, as they are in the database now."""
    with app.app_context():
        return {
            row.language: SimpleNamespace(
                fields=row.fields,
                fingerprint=row.fingerprint,
                source_fingerprint=row.source_fingerprint,
            )
            for row in db.session.scalars(
                select(FactText).where(FactText.subject == subject, FactText.subject_key == key)
            )
        }


def _count(app, stmt):
    with app.app_context():
        return db.session.scalar(stmt)


def _history(response):
    """The membership history of a country's page."""
    assert response.status_code == 200
    return _text(response).split('id="history"', 1)[1].split('id="sources"', 1)[0]


def _facts_section(page):
    return page.split('id="registry-facts"', 1)[1]


def test_the_queue_lists_a_fact_written_in_one_language(app, admin, note):
    page = admin.get("/en/manage/translations").get_data(as_text=True)
    section = _facts_section(page)
    assert "Registry facts" in page and "Malawi" in section and NOTE_VI in section
    assert f'lang="vi">{NOTE_VI}' in section
    for language in ("en", "ja"):
        url = f"/en/manage/facts/membership_event/{note}/translations/{language}"
        assert f'href="{url}"' in section
    assert "/translations/vi" not in section.split(NOTE_VI, 1)[1].split("</tr>")[0]


def test_the_queue_reads_the_facts_in_one_query_and_pages_them(app, ctx, note):
    from sqlalchemy import event

    db.session.scalar(select(1))  # the session's transaction begun
    statements = []
    engine = db.session.get_bind()
    listener = lambda *_args: statements.append(1)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        items, cursor = texts.untranslated(("vi", "en", "ja"), limit=1)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(statements) == 1 and len(items) == 1
    names = FIELDS["country"]
    for key in ("Z1", "Z2"):
        texts.write("country", key, "en", {"note": f"Note {key}."}, names)
    db.session.flush()
    seen, cursor = [], None
    while True:
        items, cursor = texts.untranslated(("vi", "en", "ja"), cursor, limit=1)
        seen += [(item.subject, item.key) for item in items]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 3
    assert {("country", "Z1"), ("country", "Z2"), ("membership_event", note)} == set(seen)


def test_an_administrator_translates_a_note_and_the_country_page_shows_it(app, admin, note):
    anonymous = app.test_client()
    before = _history(anonymous.get("/ja/countries/MW"))
    assert f'<span lang="vi">{NOTE_VI}</span>' in before and "（ベトナム語）" in before

    form = _text(admin.get(_page(note)))
    assert NOTE_VI in form and "Vietnamese" in form
    token = csrf_token(admin, _page(note))
    response = admin.post(_page(note), data={"note": f"  {NOTE_JA}\r\n", "csrf_token": token})
    assert response.status_code == 302

    rows = _rows(app, "membership_event", note)
    assert rows["ja"].fields == {"note": NOTE_JA}
    assert rows["ja"].source_fingerprint == rows["vi"].fingerprint
    assert rows["vi"].fields == {"note": NOTE_VI}  # the original is left as it was
    snapshots = select(func.count()).select_from(TextSnapshot)
    assert _count(app, snapshots.where(
        TextSnapshot.subject == "membership_event", TextSnapshot.subject_id == int(note)
    )) == 1  # fmt: skip
    audit = select(func.count()).select_from(AuditEvent)
    assert _count(app, audit.where(
        AuditEvent.action == "fact.translate", AuditEvent.object_id == f"membership_event/{note}"
    )) == 1  # fmt: skip

    after = _history(anonymous.get("/ja/countries/MW"))  # not the cached page of before
    assert NOTE_JA in after and NOTE_VI not in after
    assert "fallback-marker" not in after and "（ベトナム語）" not in after
    # The fact left the queue's Japanese column: only English is missing now.
    section = _facts_section(admin.get("/en/manage/translations").get_data(as_text=True))
    assert f"/membership_event/{note}/translations/en" in section


def test_an_outdated_translation_shows_what_changed_and_can_be_marked_up_to_date(app, admin):
    page = "/en/manage/facts/country/VN/translations/ja"
    token = csrf_token(admin, page)
    assert admin.post(page, data={"note": "新しい訳。", "csrf_token": token}).status_code == 302
    with app.app_context():  # the English source changes, as a seed of a new version would
        old = _rows(app, "country", "VN")["en"].fields["note"]
        new = old.rsplit(" ", 1)[0] + " renamed."
        texts.write("country", "VN", "en", {"note": new}, FIELDS["country"])
        db.session.commit()
    removed = html.escape(old.rsplit(" ", 1)[1].rstrip("."), quote=False)

    shown = admin.get(page).get_data(as_text=True)
    assert "Outdated" in shown and "What changed in the original" in shown
    assert f"<del>{removed}</del>" in shown and "<ins>renamed</ins>" in shown
    public = _text(app.test_client().get("/ja/countries/VN"))
    assert "新しい訳。" in public and "原文" in public

    confirm = page + "/confirm"
    assert admin.post(confirm, data={}).status_code == 400  # no CSRF token
    assert (
        _rows(app, "country", "VN")["ja"].source_fingerprint
        != _rows(app, "country", "VN")["en"].fingerprint
    )
    response = admin.post(confirm, data={"csrf_token": csrf_token(admin, page)})
    assert response.status_code == 302
    rows = _rows(app, "country", "VN")
    assert rows["ja"].source_fingerprint == rows["en"].fingerprint
    assert rows["ja"].fields == {"note": "新しい訳。"}
    assert "Outdated" not in admin.get(page).get_data(as_text=True)
    public = app.test_client().get("/ja/countries/VN").get_data(as_text=True)
    assert "outdated-note" not in public.split('id="sources"', 1)[1]


def test_a_translation_is_checked(app, admin, note):
    token = csrf_token(admin, _page(note))
    for value, message in (
        ("", "Write the translation of at least one field."),
        ("a\x00b", "control characters"),
        ("あ" * 2001, "too long"),
    ):
        response = admin.post(_page(note), data={"note": value, "csrf_token": token})
        assert response.status_code == 422, value
        assert message in _text(response)
    assert set(_rows(app, "membership_event", note)) == {"vi"}


def test_others_are_refused_and_nothing_changes(app, client, note):
    url = _page(note)
    assert client.get(url).status_code == 302  # asked to sign in
    assert client.post(url, data={"note": NOTE_JA}).status_code in (302, 400)
    coordinator = app.test_client()
    sign_in(coordinator, "coordinator.vn@hub.test")
    assert coordinator.get(url).status_code == 403
    token = csrf_token(coordinator, "/en/manage/translations")
    assert coordinator.post(url, data={"note": NOTE_JA, "csrf_token": token}).status_code == 403
    assert coordinator.post(url + "/confirm", data={"csrf_token": token}).status_code == 403
    page = coordinator.get("/en/manage/translations").get_data(as_text=True)
    assert 'id="registry-facts"' not in page
    assert set(_rows(app, "membership_event", note)) == {"vi"}


def test_csrf_and_unknown_facts(app, admin, note):
    assert admin.post(_page(note), data={"note": NOTE_JA}).status_code == 400
    assert set(_rows(app, "membership_event", note)) == {"vi"}
    for url in (
        f"/en/manage/facts/membership_event/{note}/translations/fr",
        f"/en/manage/facts/membership_event/{note}/translations/vi",  # the original itself
        f"/en/manage/facts/event/{note}/translations/ja",
        "/en/manage/facts/membership_event/999999/translations/ja",
        "/en/manage/facts/country/ZZ/translations/ja",
        "/en/manage/facts/country/" + "X" * 100 + "/translations/ja",
    ):
        assert admin.get(url).status_code == 404, url
    token = csrf_token(admin, _page(note))
    missing = f"/en/manage/facts/membership_event/{note}/translations/en/confirm"
    assert admin.post(missing, data={"csrf_token": token}).status_code == 404
