"""One's own account without an administrator (hub.accounts.recovery): the password changed
and reset by a mailed link, the address changed once confirmed, passwords that are too easy
refused, older hashes made Argon2id at sign-in. Mail goes through aiosmtpd on loopback."""

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from hub.accounts.models import AuditEvent, User
from hub.db import utcnow
from hub.extensions import db
from hub.outbox.models import MailMessage
from tests.mail_servers import delivered
from tests.support import PASSWORD, csrf_token, sign_in

VN = "coordinator.vn@hub.test"
NEW_PASSWORD = "lanterns over the river at dusk"


def _text(response):
    return html.unescape(response.get_data(as_text=True))


def _link(message):
    text = message.get_body(("plain",)).get_content()
    return re.search(r"^(http\S+)\r?$", text, re.M).group(1).removeprefix("http://localhost")


def _user(app, email=VN):
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def _post(client, url, page, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, page), **data})


def _set_language(app, email, language):
    with app.app_context():
        db.session.scalar(select(User).where(User.email == email)).preferred_language = language
        db.session.commit()


def test_a_password_is_changed_with_the_current_one_and_other_sessions_end(app, relay):
    _set_language(app, VN, "vi")
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, VN)
    sign_in(elsewhere, VN)
    page = "/en/account"
    wrong = _post(
        here, "/en/account/password", page, current_password="nope", new_password=NEW_PASSWORD
    )
    assert wrong.status_code == 422 and "Your current password is not right." in _text(wrong)
    easy = _post(
        here, "/en/account/password", page, current_password=PASSWORD, new_password="password1234"
    )
    assert easy.status_code == 422 and "too easy to guess" in _text(easy)
    assert relay.received == [] and delivered(app, relay) == []

    done = _post(
        here, "/en/account/password", page, current_password=PASSWORD, new_password=NEW_PASSWORD
    )
    assert done.status_code == 302
    assert here.get("/en/account").status_code == 200  # this session goes on
    assert elsewhere.get("/en/account").status_code == 302  # the other one is signed out
    [notice] = delivered(app, relay)
    assert notice["to"] == [VN]
    assert notice["message"]["Subject"] == "Mật khẩu của bạn trên Cổng trao đổi OCOP đã được đổi"
    assert sign_in(app.test_client(), VN).status_code == 422
    assert sign_in(app.test_client(), VN, NEW_PASSWORD).status_code == 302
    assert _user(app).password_hash.startswith("$argon2id$")


def test_a_forgotten_password_is_reset_once_through_the_mailed_link(app, relay, time_machine):
    time_machine.move_to(utcnow(), tick=False)
    _set_language(app, VN, "ja")
    client, signed_in = app.test_client(), app.test_client()
    sign_in(signed_in, VN)
    assert "/en/password/forgotten" in client.get("/en/login").get_data(as_text=True)
    known = _post(client, "/en/password/forgotten", "/en/password/forgotten", email=VN.upper())
    unknown = _post(
        client, "/en/password/forgotten", "/en/password/forgotten", email="nobody@hub.test"
    )
    assert known.status_code == unknown.status_code == 200
    assert "If an account has this address" in _text(known)
    strip = lambda r: re.sub(r'value="[^"]*"', "", _text(r))  # noqa: E731  (the CSRF tokens)
    assert strip(known) == strip(unknown)  # the same answer: nothing tells them apart
    [got] = delivered(app, relay)
    assert got["to"] == [VN]
    assert got["message"]["Subject"] == "OCOP交流ハブの新しいパスワードの設定"
    link = _link(got["message"])
    assert link.startswith("/ja/password/reset/")

    form = client.get(link)
    assert form.status_code == 200
    assert _post(client, link, link, password="iloveyou12345").status_code == 422  # too easy
    assert _post(client, link, link, password=NEW_PASSWORD).status_code == 302
    assert signed_in.get("/en/account").status_code == 302  # every session ended
    assert client.get(link).status_code == 410  # once
    assert sign_in(app.test_client(), VN, NEW_PASSWORD).status_code == 302
    [notice] = delivered(app, relay)
    assert notice["message"]["Subject"] == "OCOP交流ハブのパスワードが変更されました"
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "user.password_reset" in actions


def test_a_reset_link_expires_after_an_hour(app, relay, time_machine):
    time_machine.move_to(utcnow(), tick=False)
    client = app.test_client()
    _post(client, "/en/password/forgotten", "/en/password/forgotten", email=VN)
    [got] = delivered(app, relay)
    # No preferred language: the page's.
    assert got["message"]["Subject"] == "Choose a new password for the OCOP Exchange Hub"
    link = _link(got["message"])
    assert link.startswith("/en/password/reset/")
    time_machine.shift(timedelta(minutes=61))
    page = client.get(link)
    assert page.status_code == 410 and "it was used, or it expired" in _text(page)


def test_one_address_gets_few_links_and_a_client_few_asks(app, relay):
    client = app.test_client()
    for _ in range(5):
        answer = _post(client, "/en/password/forgotten", "/en/password/forgotten", email=VN)
        assert answer.status_code == 200
    assert len(delivered(app, relay)) == 3  # per address and hour
    limited = _post(client, "/en/password/forgotten", "/en/password/forgotten", email=VN)
    assert limited.status_code == 429  # per client


@pytest.mark.parametrize(
    ("language", "confirm_subject", "notice_subject"),
    [
        ("vi", "Xác nhận địa chỉ mới của bạn trên Cổng trao đổi OCOP",
         "Địa chỉ tài khoản của bạn trên Cổng trao đổi OCOP đã được đổi"),
        ("ja", "OCOP交流ハブの新しいアドレスの確認",
         "OCOP交流ハブのアカウントのアドレスが変更されました"),
    ],
)  # fmt: skip
def test_an_address_changes_once_the_new_one_confirms_it(
    app, relay, language, confirm_subject, notice_subject
):
    _set_language(app, VN, language)
    client = app.test_client()
    sign_in(client, VN)
    page = "/en/account"
    taken = _post(
        client,
        "/en/account/email",
        page,
        new_email="coordinator.th@hub.test",
        email_password=PASSWORD,
    )
    assert taken.status_code == 422 and "There is already an account" in _text(taken)
    wrong = _post(
        client, "/en/account/email", page, new_email="new.vn@example.org", email_password="x"
    )
    assert wrong.status_code == 422
    bad = _post(
        client,
        "/en/account/email",
        page,
        new_email="a@b.org\r\nBcc: c@d.org",
        email_password=PASSWORD,
    )
    assert bad.status_code == 422
    assert delivered(app, relay) == []

    asked = _post(
        client, "/en/account/email", page, new_email="New.VN@example.org", email_password=PASSWORD
    )
    assert asked.status_code == 302
    assert _user(app) is not None  # the address stays until confirmed
    [confirm] = delivered(app, relay)
    assert confirm["to"] == ["new.vn@example.org"]
    assert confirm["message"]["Subject"] == confirm_subject
    link = _link(confirm["message"])
    opened = app.test_client().get(link)  # a mail program's scanner opening it changes nothing
    assert opened.status_code == 200 and _user(app) is not None
    assert _post(app.test_client(), link, link).status_code == 302
    assert _user(app) is None and _user(app, "new.vn@example.org") is not None
    [notice] = delivered(app, relay)
    assert notice["to"] == [VN]  # the earlier address hears of it
    assert notice["message"]["Subject"] == notice_subject
    assert "new.vn@example.org" in notice["message"].get_body(("plain",)).get_content()
    assert app.test_client().get(link).status_code == 410
    assert sign_in(app.test_client(), "new.vn@example.org").status_code == 302


def test_an_older_hash_becomes_argon2id_at_sign_in_and_sessions_stay(app):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == VN))
        user.password_hash = generate_password_hash(PASSWORD)
        db.session.commit()
    first = app.test_client()
    assert sign_in(first, VN).status_code == 302  # the old hash still signs in
    assert _user(app).password_hash.startswith("$argon2id$")
    assert sign_in(app.test_client(), VN).status_code == 302
    assert first.get("/en/account").status_code == 200  # the rehash ended no session


@pytest.mark.parametrize(
    "password", ["password1234", "Password123456!", "qwertyuiop1234", "aaaaaaaaaaaaaaa",
                 "abcabcabcabcabc", "coordinator.vn2026"],
)  # fmt: skip
def test_passwords_that_are_easy_to_guess_are_refused(app, ctx, password):
    from hub.accounts import services

    with pytest.raises(services.AccountError, match="too easy to guess"):
        services.check_password(password, VN)


def test_mail_about_an_account_is_not_sent_from_the_request(app, relay):
    client = app.test_client()
    _post(client, "/en/password/forgotten", "/en/password/forgotten", email=VN)
    assert relay.received == []
    with app.app_context():
        assert [m.kind for m in db.session.scalars(select(MailMessage))] == ["password_reset"]
