"""How a history page shows a change in the reader's language (hub.history.display with
hub.publishing.revisions / hub.registry.revisions): vocabulary codes by their names, dates as
the language writes them, lists joined by CLDR's pattern, linked policies by their titles, an
experience's outcomes as its page names them, and long texts word by word, a Japanese sentence
character by character (hub.texts.diff)."""

from datetime import date

import pytest
from flask_babel import force_locale, format_date, gettext
from sqlalchemy import event, select

from hub.accounts.models import User
from hub.extensions import db
from hub.publishing import services
from hub.registry.models import Programme
from tests.support import sign_in

JA_START = "一村一品運動に学び、"
JA_BODY = (
    JA_START * 4
    + "この政策は、各村が地元の材料と技術を使って一つの産品を育てることを支援します。県と格付け審査会が協力します。"
)
JA_BODY_NEW = (
    JA_START * 4
    + "この政策は、各村が地元の材料と技術を使って一つの特産品を育てることを支援します。県と格付け審査会が協力します。"
)


def user(email):
    return db.session.scalar(select(User).where(User.email == email))


@pytest.fixture
def edited(ctx):
    """A policy and an experience, each edited once; returns their ids."""
    vn = user("coordinator.vn@hub.test")
    fields = {"instrument": "decision", "issued_on": date(2018, 5, 7)}
    policy = services.create_entry(
        vn, "policy", "ja", {"title": "OCOP政策", "body": JA_BODY}, fields
    )
    services.update_fields(vn, policy.id, {"instrument": "decree", "issued_on": date(2019, 5, 7)})
    services.save_text(vn, policy.id, "ja", {"title": "OCOP政策", "body": JA_BODY_NEW})
    other = services.create_entry(vn, "policy", "vi", {"title": "Chính sách B"}, {})
    programme = db.session.scalar(select(Programme).where(Programme.country_code == "VN"))
    experience = services.create_entry(
        vn, "experience", "vi", {"title": "Kinh nghiệm A"},
        {"outcomes": [{"metric": "producers", "value": 1200, "unit": "hộ"}]},
    )  # fmt: skip
    services.update_fields(
        vn, experience.id,
        {"outcomes": [{"metric": "jobs", "value": 40, "unit": ""}], "programme_id": programme.id,
         "policy_ids": [str(policy.id), str(other.id)]},
    )  # fmt: skip
    return policy.id, experience.id, programme.acronym


def history_html(client, language, entry_id):
    response = client.get(f"/{language}/manage/entries/{entry_id}/history")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("language", ["ja", "vi"])
def test_changed_values_are_shown_in_the_readers_language(app, client, edited, language):
    policy_id, experience_id, acronym = edited
    sign_in(client, "coordinator.vn@hub.test", lang=language)
    html = history_html(client, language, policy_id)
    with app.test_request_context(f"/{language}/"), force_locale(language):
        decision, decree = gettext("Decision"), gettext("Decree")
        old_day, new_day = (
            format_date(date(2018, 5, 7), "medium"),
            format_date(date(2019, 5, 7), "medium"),
        )
        jobs = gettext("Jobs created")
    assert f"<del>{decision}</del>" in html and f"<ins>{decree}</ins>" in html
    assert f"<del>{old_day}</del>" in html and f"<ins>{new_day}</ins>" in html
    assert "decree" not in html and "2018-05-07" not in html
    html = history_html(client, language, experience_id)
    assert jobs in html and "Producers taking part" not in html and "metric" not in html
    assert "OCOP政策" in html and "Chính sách B" in html  # the linked policies' titles
    assert acronym in html
    separator = "、" if language == "ja" else " và "
    assert separator in html  # the two policies, one list in the reader's language


def test_the_linked_titles_are_read_in_one_query_for_the_page(app, client, edited):
    language = "ja"
    _policy_id, experience_id, _acronym = edited
    sign_in(client, "coordinator.vn@hub.test", lang=language)
    statements = []

    def count(conn, cursor, statement, *args):
        if "entry_translation" in statement and "experience_policy" not in statement:
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        history_html(client, "ja", experience_id)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # The entry's own texts, and the linked entries' titles: whatever the number of revisions.
    assert len(statements) <= 3


def test_a_japanese_text_change_is_shown_word_by_word(app, client, edited):
    language = "ja"
    policy_id, _experience_id, _acronym = edited
    sign_in(client, "coordinator.vn@hub.test", lang=language)
    html = history_html(client, "ja", policy_id)
    assert '<table class="text-diff"' in html
    assert "<ins>特</ins>" in html  # one added character, not the whole sentence
    assert f"<del>{JA_BODY}</del>" not in html


def test_a_fairs_time_zone_is_shown_by_its_cldr_name(app, client, ctx):
    vn = user("coordinator.vn@hub.test")
    days = {"start_date": date(2027, 3, 20), "end_date": date(2027, 3, 22), "all_day": True}
    fair = services.create_entry(
        vn, "fair", "vi", {"title": "Hội chợ OCOP"}, {**days, "timezone": "Asia/Ho_Chi_Minh"}
    )
    services.update_fields(vn, fair.id, {**days, "timezone": "Asia/Tokyo"})
    sign_in(client, "coordinator.vn@hub.test", lang="ja")
    html = history_html(client, "ja", fair.id)
    assert "<ins>日本時間</ins>" in html and "Asia/Tokyo" not in html
