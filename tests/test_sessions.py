"""Sessions end on the server: a copied session cookie stops working after its owner signs out,
after a password change, once the account is disabled or an administrator signs it out
everywhere, and after the idle and absolute limits."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from hub.accounts import services
from hub.accounts.models import AuditEvent, User
from hub.extensions import db
from hub.sessions import UserSession
from tests.support import PASSWORD, csrf_token, sign_in

ADMIN = "admin@hub.test"
VN = "coordinator.vn@hub.test"
MANAGE = "/en/manage/"


def _copy(app, client):
    """A second browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    thief.set_cookie(cookie.key, cookie.value)
    return thief


def _user(email):
    return db.session.scalar(select(User).where(User.email == email))


def _signed_in(client):
    return client.get(MANAGE).status_code == 200


def test_the_cookie_holds_a_session_id_not_the_session(app, client):
    assert sign_in(client, VN).status_code == 302
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    content = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    assert set(content) - {"_flashes", "csrf_token"} == {"_user_id", "_fresh", "_id", "_sid"}
    assert len(content["_sid"]) == 43
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserSession)) == 1


def test_a_copied_cookie_stops_working_when_its_owner_signs_out(app, client):
    sign_in(client, VN)
    thief = _copy(app, client)
    assert _signed_in(thief)
    token = csrf_token(client, MANAGE)
    assert client.post("/en/logout", data={"csrf_token": token}).status_code == 302
    assert not _signed_in(client)
    response = thief.get(MANAGE)
    assert response.status_code == 302 and "/en/login" in response.headers["Location"]


def test_signing_out_ends_only_that_browser(app, client):
    sign_in(client, VN)
    other = app.test_client()
    sign_in(other, VN)
    client.post("/en/logout", data={"csrf_token": csrf_token(client, MANAGE)})
    assert _signed_in(other)


def test_a_password_change_ends_every_session_of_the_account(app, client):
    sign_in(client, VN)
    thief = _copy(app, client)
    others = app.test_client()
    sign_in(others, "coordinator.th@hub.test")
    with app.test_request_context("/"):
        services.set_password(_user(VN), "a new password, long enough")
    assert not _signed_in(thief) and not _signed_in(client)
    assert _signed_in(others)
    assert sign_in(client, VN, "a new password, long enough").status_code == 302


def test_disabling_an_account_ends_its_sessions_even_once_enabled_again(app, client):
    sign_in(client, VN)
    thief = _copy(app, client)
    admin = app.test_client()
    sign_in(admin, ADMIN)
    with app.app_context():
        user_id = _user(VN).id
    for change in ("disable", "enable"):
        token = csrf_token(admin, "/en/admin/users")
        response = admin.post(f"/en/admin/users/{user_id}/{change}", data={"csrf_token": token})
        assert response.status_code == 302
    assert not _signed_in(thief)


def test_an_administrator_signs_an_account_out_everywhere(app, client):
    sign_in(client, VN)
    thief = _copy(app, client)
    admin = app.test_client()
    sign_in(admin, ADMIN)
    with app.app_context():
        user_id = _user(VN).id
    url = f"/en/admin/users/{user_id}/sign-out"
    assert admin.post(url).status_code == 400  # no CSRF token
    assert _signed_in(thief)
    page = admin.get("/en/admin/users").get_data(as_text=True)
    assert url in page and "Sign out everywhere" in page
    response = admin.post(url, data={"csrf_token": csrf_token(admin, "/en/admin/users")})
    assert response.status_code == 302
    assert "coordinator.vn@hub.test is signed out everywhere." in admin.get(
        "/en/admin/users"
    ).get_data(as_text=True)
    assert not _signed_in(thief) and not _signed_in(client)
    assert _signed_in(admin)
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.sign_out_everywhere")
        ).one()
        assert (event.actor.email, event.object_id, event.details) == (
            ADMIN,
            str(user_id),
            {"ended": 1},
        )
    audit = admin.get("/en/admin/audit").get_data(as_text=True)
    assert "Account: signed out everywhere" in audit and "Account: signed in" in audit


def test_only_administrators_sign_others_out(app, client):
    sign_in(client, VN)
    with app.app_context():
        user_id = _user(ADMIN).id
    token = csrf_token(client, MANAGE)
    response = client.post(f"/en/admin/users/{user_id}/sign-out", data={"csrf_token": token})
    assert response.status_code == 403


def test_sign_ins_are_in_the_audit_log(app, client):
    sign_in(client, VN)
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.sign_in")
        ).one()
        assert event.actor.email == VN and event.channel == "web"
        assert event.details == {"address": "127.0.0.1"}


START = datetime(2026, 3, 10, 9, 15, tzinfo=UTC)


@pytest.mark.dates
def test_a_session_ends_after_the_idle_limit(app, client, time_machine):
    time_machine.move_to(START, tick=False)
    sign_in(client, VN)
    thief = _copy(app, client)
    # Used every 11 hours, it stays open past the idle limit of 12 hours.
    for hours in (11, 22, 33):
        time_machine.move_to(START + timedelta(hours=hours), tick=False)
        assert _signed_in(client)
    time_machine.move_to(START + timedelta(hours=45, minutes=2), tick=False)
    assert not _signed_in(client)
    assert not _signed_in(thief)


@pytest.mark.dates
def test_the_idle_limit_is_a_setting(app, client, time_machine, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_HOURS", 1)
    time_machine.move_to(START, tick=False)
    sign_in(client, VN)
    time_machine.move_to(START + timedelta(minutes=59), tick=False)
    assert _signed_in(client)
    time_machine.move_to(START + timedelta(hours=2), tick=False)
    assert not _signed_in(client)


@pytest.mark.dates
def test_a_session_ends_after_the_absolute_limit_however_much_it_is_used(app, client, time_machine):
    time_machine.move_to(START, tick=False)
    sign_in(client, VN)
    moment = START
    while moment + timedelta(hours=10) < START + timedelta(days=30):
        moment += timedelta(hours=10)
        time_machine.move_to(moment, tick=False)
        assert _signed_in(client), moment
    time_machine.move_to(START + timedelta(days=30, minutes=1), tick=False)
    assert not _signed_in(client)
    assert sign_in(client, VN, PASSWORD).status_code == 302
    assert _signed_in(client)
