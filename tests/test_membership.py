"""Membership changes: recorded with their date and note, refused clearly when not allowed."""

import html
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from hub.extensions import db
from hub.registry.models import Country, MembershipEvent
from hub.registry.services import RegistryError, change_membership, latest_possible_date


def _state(code):
    country = db.session.get(Country, code)
    events = db.session.scalar(select(func.count()).select_from(MembershipEvent))
    return country.membership_status, country.status_since_on, events


def test_a_change_is_recorded_in_the_dated_history(app, ctx):
    change_membership("mw", "applicant", "2025-03-01", "Letter of application")
    change_membership("MW", "member", "2025-06-30", "Admitted by the network council")
    malawi = db.session.get(Country, "MW")
    assert malawi.membership_status == "member"
    assert malawi.status_since_on.isoformat() == "2025-06-30"
    history = [
        (e.status, e.previous_status, e.effective_on.isoformat(), e.note)
        for e in malawi.membership_events
    ]
    assert history == [
        ("member", "applicant", "2025-06-30", "Admitted by the network council"),
        ("applicant", "prospective", "2025-03-01", "Letter of application"),
        ("prospective", None, "2019-04-17", ""),
    ]


def test_a_member_can_be_suspended_reinstated_and_withdraw(app, ctx):
    change_membership("VN", "suspended", "2024-01-01")
    change_membership("VN", "member", "2024-02-01")
    change_membership("VN", "withdrawn", "2024-02-01", "Same-day changes keep their order")
    statuses = [e.status for e in db.session.get(Country, "VN").membership_events]
    assert statuses == ["withdrawn", "member", "suspended", "member"]


@pytest.mark.dates
def test_today_anywhere_on_earth_is_not_the_future(app, ctx, instant):
    change_membership("MW", "applicant", latest_possible_date())
    assert db.session.get(Country, "MW").membership_status == "applicant"


@pytest.mark.parametrize(
    ("code", "status", "on", "message"),
    [
        ("ZZ", "member", "2025-01-01", "There is no country with the code “ZZ” in the registry."),
        ("FR", "member", "2025-01-01", "There is no country with the code “FR” in the registry."),
        ("", "member", "2025-01-01", "There is no country with the code “” in the registry."),
        (
            "MW",
            "partner",
            "2025-01-01",
            "“partner” is not a membership status; use one of: prospective, applicant, member, suspended, withdrawn.",
        ),
        (
            "MW",
            "member",
            "15/01/2026",
            "“15/01/2026” is not a date: write it as YYYY-MM-DD, e.g. 2026-01-15.",
        ),
        (
            "MW",
            "member",
            "20250101",
            "“20250101” is not a date: write it as YYYY-MM-DD, e.g. 2026-01-15.",
        ),
        (
            "MW",
            "member",
            "2025-W01-1",
            "“2025-W01-1” is not a date: write it as YYYY-MM-DD, e.g. 2026-01-15.",
        ),
        (
            "MW",
            "member",
            "2025-02-30",
            "“2025-02-30” is not a date: write it as YYYY-MM-DD, e.g. 2026-01-15.",
        ),
        ("M\x00", "member", "2025-01-01", "There is no country with the code “M” in the registry."),
        (
            "MW",
            "applicant",
            "2019-01-01",
            "January 1, 2019 is before Malawi's current status (Prospective member since April 17, 2019): changes are recorded in the order they happened.",
        ),
        ("VN", "member", "2025-01-01", "Vietnam already has the status Member."),
        (
            "VN",
            "applicant",
            "2025-01-01",
            "Vietnam cannot change from Member to Applicant; from Member it can change to: Suspended or Withdrawn.",
        ),
    ],
)
def test_a_refused_change_says_why_and_changes_nothing(app, ctx, code, status, on, message):
    before = _state("MW"), _state("VN")
    with pytest.raises(RegistryError) as excinfo:
        change_membership(code, status, on)
    assert str(excinfo.value) == message
    assert (_state("MW"), _state("VN")) == before


@pytest.mark.dates
def test_a_future_date_is_refused(app, ctx, instant):
    tomorrow = latest_possible_date() + timedelta(days=1)
    before = _state("MW")
    with pytest.raises(RegistryError, match="is in the future"):
        change_membership("MW", "applicant", tomorrow)
    assert _state("MW") == before


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("x" * 2001, "2000 characters at most"),
        ("a\x00b", "control characters"),
        ("bell\x07", "control characters"),
    ],
)
def test_a_bad_note_is_refused(app, ctx, note, message):
    before = _state("MW")
    with pytest.raises(RegistryError, match=message):
        change_membership("MW", "applicant", "2025-01-01", note)
    assert _state("MW") == before


def test_a_note_may_span_lines(app, ctx):
    event = change_membership(
        "MW", "applicant", "2025-01-01", "Decided at the council.\nMinutes §4."
    )
    assert event.note == "Decided at the council.\nMinutes §4."


def test_refusals_speak_the_requesters_language(app):
    with app.test_request_context("/", headers={"Accept-Language": "vi"}):
        with pytest.raises(RegistryError) as excinfo:
            change_membership("VN", "member", "2025-01-01")
        assert str(excinfo.value) == "Việt Nam đã có trạng thái Thành viên."
    with app.test_request_context("/", headers={"Accept-Language": "ja"}):
        with pytest.raises(RegistryError) as excinfo:
            change_membership("ZZ", "member", "2025-01-01")
        assert "ZZ" in str(excinfo.value) and "登録" in str(excinfo.value)


def test_membership_command_records_a_change(app, runner):
    result = runner.invoke(
        args=[
            "hub",
            "membership",
            "mw",
            "--status",
            "applicant",
            "--on",
            "2026-01-15",
            "--note",
            "Applied at the forum",
        ],
        env={"LANG": "en_GB.UTF-8"},
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Malawi: Applicant since January 15, 2026."
    with app.app_context():
        event = db.session.get(Country, "MW").membership_events[0]
        assert (event.status, event.effective_on.isoformat(), event.note) == (
            "applicant",
            "2026-01-15",
            "Applied at the forum",
        )


def test_membership_command_refuses_in_the_operators_language(app, runner):
    with app.app_context():
        before = _state("VN")
    result = runner.invoke(
        args=["hub", "membership", "VN", "--status", "member", "--on", "2025-01-01"],
        env={"LANG": "vi_VN.UTF-8"},
    )
    assert result.exit_code == 1
    assert "Việt Nam đã có trạng thái Thành viên." in result.output
    with app.app_context():
        assert _state("VN") == before
    result = runner.invoke(
        args=["hub", "membership", "XX", "--status", "member", "--on", "2025-01-01"],
        env={"LANG": "C"},
    )
    assert result.exit_code == 1
    assert "There is no country with the code “XX” in the registry." in result.output


@pytest.mark.dates
def test_an_administrator_records_a_change_on_the_page(app, client, instant):
    from tests.support import csrf_token, sign_in

    sign_in(client, "admin@hub.test", lang="vi")
    page = client.get("/vi/countries/BT").get_data(as_text=True)
    assert "/vi/admin/countries/BT/membership" in page
    token = csrf_token(client, "/vi/admin/countries/BT/membership")
    today = latest_possible_date().isoformat()
    later = (latest_possible_date() + timedelta(days=30)).isoformat()
    # Bad input: told in the page's language, nothing changes.
    response = client.post(
        "/vi/admin/countries/BT/membership",
        data={"status": "applicant", "on": later, "note": "", "csrf_token": token},
    )
    assert response.status_code == 422
    with app.test_request_context("/"), force_locale("vi"), pytest.raises(RegistryError) as refused:
        change_membership("BT", "applicant", later)  # what the rules say, in Vietnamese
    assert "tương lai" in str(refused.value)  # "in the future"
    assert html.escape(str(refused.value), quote=False) in response.get_data(as_text=True)
    with app.app_context():
        assert _state("BT")[0] == "prospective"
    response = client.post(
        "/vi/admin/countries/BT/membership",
        data={"status": "applicant", "on": today, "note": "Đơn", "csrf_token": token},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/vi/countries/BT")
    with app.app_context():
        assert _state("BT")[0] == "applicant"
    audit = client.get("/en/admin/audit").get_data(as_text=True)
    assert "Country: Applicant" in audit


def test_only_administrators_change_a_membership(app, client):
    from tests.support import csrf_token, sign_in

    sign_in(client, "coordinator.th@hub.test")
    assert client.get("/en/admin/countries/TH/membership").status_code == 403
    token = csrf_token(client, "/en/account")
    response = client.post(
        "/en/admin/countries/TH/membership",
        data={"status": "suspended", "on": latest_possible_date().isoformat(), "csrf_token": token},
    )
    assert response.status_code == 403
    with app.app_context():
        assert _state("TH")[0] == "member"
