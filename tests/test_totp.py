"""Two-step sign-in: turning it on with a code, the code after the password, recovery codes,
codes good once, and HUB_ADMIN_TOTP=required."""

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from hub.accounts.models import AuditEvent
from hub.extensions import db
from tests.support import PASSWORD, csrf_token, sign_in

MOMENT = datetime(2027, 3, 28, 1, 30, 10, tzinfo=UTC)
ADMIN = "admin@hub.test"
COORDINATOR = "coordinator.vn@hub.test"


@pytest.fixture
def clock(app, time_machine):
    time_machine.move_to(MOMENT, tick=False)
    return time_machine


def code(secret, moment=MOMENT):
    return pyotp.TOTP(secret).at(moment)


def enrol(client, lang="en"):
    """Turn two-step sign-in on for the signed-in account: its secret and recovery codes."""
    page = client.get(f"/{lang}/account/two-step").get_data(as_text=True)
    secret = re.search(r"<code>([A-Z2-7]{32})</code>", page).group(1)
    response = client.post(
        f"/{lang}/account/two-step",
        data={"code": code(secret), "csrf_token": csrf_token(client, f"/{lang}/account/two-step")},
    )
    assert response.status_code == 200
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", response.get_data(as_text=True))
    return secret, codes


def signed_in_client(app, email):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def send_code(client, value):
    token = csrf_token(client, "/en/login/code")
    return client.post("/en/login/code", data={"code": value, "csrf_token": token})


def actions(app):
    with app.app_context():
        return set(db.session.scalars(select(AuditEvent.action)))


def test_turned_on_with_a_code_then_sign_in_asks_for_one(app, clock):
    client = signed_in_client(app, ADMIN)
    page = client.get("/en/account/two-step").get_data(as_text=True)
    assert "<svg" in page and "<script" not in page
    secret, codes = enrol(client)
    assert len(codes) == len(set(codes)) == 10
    assert "user.totp_enable" in actions(app)

    client = app.test_client()
    response = sign_in(client, ADMIN)
    assert response.headers["Location"].endswith("/en/login/code")
    assert client.get("/en/account").status_code == 302  # not signed in yet
    assert send_code(client, "000000").status_code == 422
    # The code that turned it on was of this time step: it is not good again.
    assert send_code(client, code(secret)).status_code == 422
    clock.shift(timedelta(seconds=30))
    assert send_code(client, code(secret, MOMENT + timedelta(seconds=30))).status_code == 302
    assert client.get("/en/account").status_code == 200


def test_a_wrong_code_turns_nothing_on(app, clock):
    client = signed_in_client(app, ADMIN)
    client.get("/en/account/two-step")
    token = csrf_token(client, "/en/account/two-step")
    response = client.post("/en/account/two-step", data={"code": "123", "csrf_token": token})
    assert response.status_code == 422
    assert sign_in(app.test_client(), ADMIN).headers["Location"].endswith("/en/")


def test_a_code_is_good_once(app, clock):
    secret, _ = enrol(signed_in_client(app, COORDINATOR))
    clock.shift(timedelta(seconds=60))
    now = MOMENT + timedelta(seconds=60)
    first = app.test_client()
    sign_in(first, COORDINATOR)
    assert send_code(first, code(secret, now)).status_code == 302
    second = app.test_client()
    sign_in(second, COORDINATOR)
    assert send_code(second, code(secret, now)).status_code == 422


def test_a_recovery_code_signs_in_once(app, clock):
    _, codes = enrol(signed_in_client(app, ADMIN))
    client = app.test_client()
    sign_in(client, ADMIN)
    assert send_code(client, codes[3].upper().replace("-", " ")).status_code == 302
    assert "user.recovery_code_use" in actions(app)
    again = app.test_client()
    sign_in(again, ADMIN)
    assert send_code(again, codes[3]).status_code == 422
    assert send_code(again, codes[4]).status_code == 302


def test_turned_off_with_the_password_and_codes_renewed_with_a_code(app, clock):
    client = signed_in_client(app, COORDINATOR)
    secret, old = enrol(client)
    clock.shift(timedelta(seconds=30))
    token = csrf_token(client, "/en/account/two-step")
    response = client.post(
        "/en/account/two-step/recovery-codes",
        data={"renew-proof": code(secret, MOMENT + timedelta(seconds=30)), "csrf_token": token},
    )
    assert response.status_code == 200
    new = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    response = client.post(
        "/en/account/two-step/off", data={"off-proof": "wrong password", "csrf_token": token}
    )
    assert response.status_code == 422
    response = client.post(
        "/en/account/two-step/off", data={"off-proof": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert {"user.totp_disable", "user.recovery_codes_renew"} <= actions(app)
    assert sign_in(app.test_client(), COORDINATOR).headers["Location"].endswith("/en/")


def test_required_mode_sends_an_administrator_to_turn_it_on(app, clock, monkeypatch):
    monkeypatch.setitem(app.config, "ADMIN_TOTP", "required")
    client = signed_in_client(app, ADMIN)
    for path in ("/en/manage/", "/en/admin/users", "/en/account", "/vi/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/account/two-step" in response.headers["Location"]
    enrol(client)
    assert client.get("/en/admin/users").status_code == 200
    token = csrf_token(client, "/en/account/two-step")
    response = client.post(
        "/en/account/two-step/off", data={"off-proof": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 422  # required: it stays on
    coordinator = signed_in_client(app, COORDINATOR)
    assert coordinator.get("/en/manage/").status_code == 200


def test_every_post_needs_the_csrf_token(app, clock):
    client = signed_in_client(app, ADMIN)
    client.get("/en/account/two-step")
    for path in ("/en/account/two-step", "/en/account/two-step/off", "/en/login/code"):
        assert client.post(path, data={"code": "123456"}).status_code == 400, path
    secret, _ = enrol(client)
    for path, field in (
        ("/en/account/two-step/off", "off-proof"),
        ("/en/account/two-step/recovery-codes", "renew-proof"),
    ):
        assert client.post(path, data={field: PASSWORD}).status_code == 400, path
    fresh = app.test_client()
    sign_in(fresh, ADMIN)
    clock.shift(timedelta(seconds=30))
    now_code = code(secret, MOMENT + timedelta(seconds=30))
    assert fresh.post("/en/login/code", data={"code": now_code}).status_code == 400
    assert send_code(fresh, now_code).status_code == 302


def test_the_code_page_needs_a_password_first(app):
    client = app.test_client()
    response = client.get("/en/login/code")
    assert response.status_code == 302 and response.headers["Location"].endswith("/en/login")


def test_an_unknown_setting_is_refused(monkeypatch):
    from flask import Flask

    from hub.config import ConfigError, load_settings

    monkeypatch.setenv("HUB_ADMIN_TOTP", "sometimes")
    with pytest.raises(ConfigError):
        load_settings(Flask(__name__))


def test_wrong_codes_count_toward_the_sign_in_limit(app, clock):
    secret, _ = enrol(signed_in_client(app, COORDINATOR))
    client = app.test_client()
    sign_in(client, COORDINATOR)
    for _ in range(10):
        assert send_code(client, "000000").status_code == 422
    clock.shift(timedelta(seconds=30))
    assert send_code(client, code(secret, MOMENT + timedelta(seconds=30))).status_code == 429
