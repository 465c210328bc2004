"""Translators see what changed in the original since the version they translated: word by word,
side by side, on the translation queue's "what changed" page and above the text form; and they
can mark a translation as up to date with the original without editing it."""

import html
import re

import html5lib
import pytest
from sqlalchemy import delete, func, select

from hub.accounts.models import AuditEvent, User
from hub.extensions import db
from hub.publishing import services
from hub.publishing.models import Entry, EntryTranslation
from hub.texts.diff import changes, text_changes, tokens
from hub.texts.snapshots import TextSnapshot
from tests.support import csrf_token, sign_in

VN = "coordinator.vn@hub.test"
TH = "coordinator.th@hub.test"
FIRST = {
    "title": "Hỗ trợ hợp tác xã OCOP",
    "summary": "Vay vốn ưu đãi cho hợp tác xã.",
    "body": "Các hợp tác xã được vay vốn với lãi suất thấp.\n\nHồ sơ nộp tại ủy ban xã.",
}
SECOND = {**FIRST, "body": FIRST["body"].replace("lãi suất thấp", "lãi suất ưu đãi")}


def _text(response):
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


# ---------------------------------------------------------------------------------------------
# The diff itself.


def test_latin_words_are_compared_whole():
    (row,) = text_changes("The quick brown fox jumps.", "The quick red fox jumps!")
    assert row.kind == "change"
    assert row.old == "The quick <del>brown</del> fox jumps<del>.</del>"
    assert row.new == "The quick <ins>red</ins> fox jumps<ins>!</ins>"


def test_vietnamese_words_keep_their_diacritics_whole():
    (row,) = text_changes("Hỗ trợ vay vốn ưu đãi.", "Hỗ trợ vay vốn lãi suất thấp.")
    assert row.old == "Hỗ trợ vay vốn <del>ưu đãi</del>."
    assert row.new == "Hỗ trợ vay vốn <ins>lãi suất thấp</ins>."
    # Written decomposed (combining marks), a word is still one token.
    assert tokens("Hỗ trợ") == ["Hỗ", " ", "trợ"]
    decomposed = "Ho\u0302\u0303 tro\u031b\u0323"
    assert tokens(decomposed) == ["Ho\u0302\u0303", " ", "tro\u031b\u0323"]


def test_japanese_is_compared_character_by_character():
    (row,) = text_changes("OCOP産品の見本市を開催します。", "OCOP産品の展示会を開催しました。")
    assert row.old == "OCOP産品の<del>見本市</del>を開催しま<del>す</del>。"
    assert row.new == "OCOP産品の<ins>展示会</ins>を開催しま<ins>した</ins>。"
    assert "".join(tokens("一村一品、OCOPです。")) == "一村一品、OCOPです。"


def test_text_is_escaped_and_lines_are_kept():
    (row,) = text_changes("<b>old</b>", "<b>new</b>")
    assert row.old == "&lt;b&gt;<del>old</del>&lt;/b&gt;"
    rows = text_changes("one\ntwo", "one\ntwo\nthree & four")
    assert [r.kind for r in rows] == ["same", "same", "change"]
    assert rows[2].new == "<ins>three &amp; four</ins>" and rows[2].old == ""


def test_long_unchanged_stretches_are_shortened():
    lines = [f"Line {n} stays." for n in range(1, 21)]
    rows = text_changes("\n".join(lines), "\n".join([*lines[:10], "Line eleven.", *lines[11:]]))
    assert [r.kind for r in rows] == ["skip", "same", "change", "same", "skip"]
    assert (rows[0].skipped, rows[-1].skipped) == (9, 8)
    assert rows[2].old == "Line <del>11 stays</del>." and rows[2].new == "Line <ins>eleven</ins>."
    words = " ".join(f"w{n}" for n in range(100))
    (row,) = text_changes(words + " end.", words + " finish.")
    assert row.old.startswith('<span class="diff-gap">…</span>') and "w50" not in row.old
    assert "w99 <del>end</del>." in row.old


def test_only_changed_fields_are_listed():
    found = changes(FIRST, SECOND, ("title", "summary", "body", "lessons"))
    assert [f.name for f in found] == ["body"]
    assert changes(FIRST, FIRST, ("title", "body")) == []


# ---------------------------------------------------------------------------------------------
# Snapshots, the pages and the "up to date" action.


def _actor(email):
    return db.session.scalar(select(User).where(User.email == email))


def _snapshots(entry_id):
    return db.session.scalars(
        select(TextSnapshot.fingerprint).where(
            TextSnapshot.subject == "entry", TextSnapshot.subject_id == entry_id
        )
    ).all()


@pytest.fixture
def policy(app):
    """A Vietnamese policy of Viet Nam translated into English, then its original changed."""
    with app.test_request_context("/"):
        vn = _actor(VN)
        entry = services.create_entry(vn, "policy", "vi", FIRST, {})
        services.save_text(vn, entry.id, "en", {"title": "OCOP co-operatives", "body": "Loans."})
        services.save_text(vn, entry.id, "vi", SECOND)
        return entry.id


def test_a_snapshot_is_kept_on_translating_not_on_editing_the_original(app, policy):
    with app.test_request_context("/"):
        first = services.fingerprint(FIRST)
        assert _snapshots(policy) == [first]  # the version translated, not the edit after it
        vn = _actor(VN)
        services.save_text(vn, policy, "vi", {**SECOND, "title": "Hỗ trợ HTX OCOP"})
        assert _snapshots(policy) == [first]
        # Translating the same version again keeps one snapshot of it.
        services.save_text(vn, policy, "ja", {"title": "OCOP協同組合"})
        services.save_text(vn, policy, "ja", {"title": "OCOP協同組合の支援"})
        current = services.fingerprint({**SECOND, "title": "Hỗ trợ HTX OCOP"})
        assert sorted(_snapshots(policy)) == sorted([first, current])


def test_the_queue_links_to_the_changed_words_side_by_side(app, client, policy):
    sign_in(client, VN)
    queue = client.get("/en/manage/translations").get_data(as_text=True)
    url = f"/en/manage/entries/{policy}/translations/en/changes"
    assert f'href="{url}"' in queue
    page = client.get(url)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "lãi suất <del>thấp</del>." in body and "lãi suất <ins>ưu đãi</ins>." in body
    tree = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(body)
    (table,) = tree.iterfind(".//table[@class='text-diff']")
    assert [th.text for th in table.iterfind("thead/tr/th")] == [
        "Version translated",
        "Original today",
    ]
    assert [td.get("lang") for td in table.find("tbody/tr")] == ["vi", "vi"]
    assert "The Vietnamese original" in _text(page)
    assert "Summary" not in body.split('class="source-changes"')[1]  # unchanged: not shown
    # The text page of the outdated translation shows the same, above the form.
    text = client.get(f"/en/manage/entries/{policy}/text/en").get_data(as_text=True)
    assert text.index("lãi suất <ins>ưu đãi</ins>") < text.index('class="entry-form"')
    # The source text's own page has no such section.
    assert "source-changes" not in client.get(f"/en/manage/entries/{policy}/text/vi").text


def test_without_a_snapshot_the_page_says_so_and_shows_the_original(app, client, policy):
    with app.test_request_context("/"):
        db.session.execute(delete(TextSnapshot).where(TextSnapshot.subject_id == policy))
        db.session.commit()
    sign_in(client, VN, lang="ja")
    page = client.get(f"/ja/manage/entries/{policy}/translations/en/changes")
    assert page.status_code == 200
    text = _text(page)
    assert "ベトナム語の原文" in text and "<del>" not in page.get_data(as_text=True)
    assert SECOND["body"].split("\n")[0] in text


def test_marking_up_to_date_clears_the_outdated_state(app, client, policy):
    with app.test_request_context("/"):
        seq_before = db.session.get(Entry, policy).change_seq
    sign_in(client, VN, lang="vi")
    url = f"/vi/manage/entries/{policy}/translations/en/changes"
    page = client.get(url).get_data(as_text=True)
    assert "Bản dịch đã cập nhật" in page
    response = client.post(
        f"/vi/manage/entries/{policy}/translations/en/confirm",
        data={"csrf_token": csrf_token(client, url)},
    )
    assert response.status_code == 302
    with app.test_request_context("/"):
        entry = db.session.get(Entry, policy)
        source, english = entry.text_in("vi"), entry.text_in("en")
        assert english.source_fingerprint == source.fingerprint
        assert english.title == "OCOP co-operatives"  # the text itself is unchanged
        assert services.outdated_against(entry, english) is None
        assert entry.change_seq > seq_before
        assert source.fingerprint in _snapshots(policy)
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()
        assert event.action == "policy.confirm_translation"
        assert event.details == {"language": "en", "source_fingerprint": source.fingerprint}
    queue = client.get("/vi/manage/translations").get_data(as_text=True)
    assert f"/entries/{policy}/translations/en/changes" not in queue
    assert "đã cập nhật theo bản gốc" in _text(client.get(url))


def _state(app, entry_id):
    with app.app_context():
        texts = sorted(
            (t.language, t.fingerprint, t.source_fingerprint)
            for t in db.session.scalars(
                select(EntryTranslation).where(EntryTranslation.entry_id == entry_id)
            )
        )
        seq = db.session.get(Entry, entry_id).change_seq
        audit = db.session.scalar(select(func.count()).select_from(AuditEvent))
        return texts, seq, audit, sorted(_snapshots(entry_id))


def test_another_countrys_coordinator_gets_404_and_nothing_changes(app, client, policy):
    sign_in(client, TH)
    before = _state(app, policy)  # signing in is in the audit log: counted from here
    assert client.get(f"/en/manage/entries/{policy}/translations/en/changes").status_code == 404
    response = client.post(
        f"/en/manage/entries/{policy}/translations/en/confirm",
        data={"csrf_token": csrf_token(client, "/en/manage/translations")},
    )
    assert response.status_code == 404
    assert _state(app, policy) == before


def test_confirming_needs_the_csrf_token_and_a_translation(app, client, policy):
    sign_in(client, VN)
    before = _state(app, policy)
    confirm = f"/en/manage/entries/{policy}/translations/%s/confirm"
    assert client.post(confirm % "en", data={}).status_code == 400
    token = csrf_token(client, "/en/manage/translations")
    for language in ("vi", "ja", "xx"):  # the original, no translation yet, not a language
        assert client.post(confirm % language, data={"csrf_token": token}).status_code == 404
    for language in ("vi", "ja", "xx"):
        changes_url = f"/en/manage/entries/{policy}/translations/{language}/changes"
        assert client.get(changes_url).status_code == 404
    assert _state(app, policy) == before
