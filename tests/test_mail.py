"""Mail through the outbox (hub.outbox, docs/mail.md), end to end through real SMTP servers on
loopback (aiosmtpd: tests/mail_servers.py): written with its cause, sent by the delivery run
and never from a request, in its recipient's language, retried, given up on visibly, never a
header made of what a person typed."""

import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.config import check_mail_url
from hub.db import utcnow
from hub.extensions import db
from hub.outbox import delivery, mail
from hub.outbox.models import MailMessage
from tests.support import csrf_token, sign_in

ADMIN = "admin@hub.test"


def _messages(app):
    with app.app_context():
        return db.session.scalars(select(MailMessage).order_by(MailMessage.id)).all()


def _deliver(app):
    with app.app_context():
        return delivery.deliver()


@pytest.fixture
def admin(client):
    assert sign_in(client, ADMIN).status_code == 302
    return client


def _invite(client, email, language, lang="en", country="MW"):
    token = csrf_token(client, f"/{lang}/admin/users")
    data = {
        "email": email, "role": "coordinator", "country": country, "language": language,
        "csrf_token": token,
    }  # fmt: skip
    return client.post(f"/{lang}/admin/users/invite", data=data)


@pytest.mark.parametrize(
    ("language", "subject", "button", "country"),
    [
        ("vi", "Lời mời tham gia Cổng trao đổi OCOP", "Nhận lời mời", "Nhật Bản"),
        ("ja", "OCOP交流ハブへの招待", "招待を受ける", "日本"),
    ],
)
def test_an_invitation_is_mailed_in_its_language_after_the_request(
    app, admin, relay, language, subject, button, country
):
    response = _invite(admin, "new.coordinator@example.org", language, country="JP")
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    assert "An e-mail with this one-time link is on its way to new.coordinator@example.org" in page
    link = re.search(r'<code class="invitation-link">([^<]+)</code>', page).group(1)
    # Written with the invitation, not sent from the request.
    assert relay.received == []
    [queued] = _messages(app)
    assert (queued.status, queued.kind, queued.language) == ("pending", "invitation", language)

    assert _deliver(app) == {"sent": 1, "failed": 0, "waiting": 0}
    [got] = relay.received
    message = got["message"]
    assert got["to"] == ["new.coordinator@example.org"]
    assert message["To"] == "new.coordinator@example.org"
    assert message["Subject"] == subject
    assert message["Message-ID"] == f"<{queued.message_id}>"
    assert message["Date"] and message["Content-Language"] == language
    assert message["List-Unsubscribe"] is None  # a one-off message, nothing to leave
    text = message.get_body(("plain",)).get_content()
    body = message.get_body(("html",)).get_content()
    assert link in text and f'href="{link}"' in body
    assert button in text and button in body
    assert country in text and country in body  # the country's name in the reader's language
    assert _messages(app)[0].status == "sent"
    assert _deliver(app)["sent"] == 0  # sent once


def test_a_message_is_written_with_its_cause_or_not_at_all(app, ctx, relay):
    db.begin_write()
    mail.queue("test", "someone@example.org", "en", "mail/test.html", home_url="http://x/")
    db.session.rollback()
    assert _messages(app) == []
    assert _deliver(app)["sent"] == 0
    assert relay.received == []


@pytest.mark.parametrize(
    "address",
    [
        "victim@example.org\r\nBcc: everyone@example.org",
        "victim@example.org\nBcc: everyone@example.org",
        "victim@example.org, everyone@example.org",
        "Victim <victim@example.org>",
        "victim@example.org\u2028Bcc: everyone@example.org",
        "",
        None,
        12,
    ],
)
def test_an_address_is_one_mailbox_or_nothing_is_queued(app, ctx, address):
    with pytest.raises(mail.MailError):
        mail.queue("test", address, "en", "mail/test.html", home_url="http://x/")
    assert _messages(app) == []


def test_an_invitation_to_an_address_that_would_inject_headers_is_refused(app, admin, relay):
    response = _invite(admin, "victim@example.org\r\nBcc: everyone@example.org", "en")
    assert response.status_code == 422
    assert "is not an e-mail address" in html.unescape(response.get_data(as_text=True))
    assert _messages(app) == []


def test_a_subject_with_line_breaks_stays_one_header(app, ctx, relay):
    message = mail.queue("test", "someone@example.org", "en", "mail/test.html", home_url="/")
    message.subject = "Hello\r\nBcc: everyone@example.org\r\n\r\nbody"
    db.session.commit()
    assert _deliver(app)["sent"] == 1
    [got] = relay.received
    assert got["to"] == ["someone@example.org"]
    assert got["message"]["Bcc"] is None
    assert got["message"]["Subject"] == "Hello Bcc: everyone@example.org body"


def test_a_relay_that_cannot_be_reached_leaves_the_messages_waiting_then_failed(
    app, ctx, monkeypatch, time_machine, smtp_servers
):
    time_machine.move_to(utcnow(), tick=False)
    monkeypatch.setitem(app.config, "MAIL_URL", check_mail_url(f"smtp://127.0.0.1:{_closed()}"))
    for number in range(3):
        mail.queue("test", f"p{number}@example.org", "en", "mail/test.html", home_url="/")
    db.session.commit()
    assert _deliver(app) == {"sent": 0, "failed": 0, "waiting": 1}
    first, *others = _messages(app)
    assert first.attempts == 1 and "Connection refused" in first.last_error
    assert first.next_attempt_dt == utcnow() + timedelta(seconds=60)
    assert all(o.attempts == 0 and o.next_attempt_dt is None for o in others)  # the run stopped

    # Tried again as the delays say, until a day has passed: then failed, and shown as such.
    for _ in range(40):
        time_machine.shift(timedelta(hours=1))
        _deliver(app)
    assert {m.status for m in _messages(app)} == {"failed"}
    assert _messages(app)[0].attempts > 3

    client = app.test_client()
    sign_in(client, ADMIN)
    page = html.unescape(client.get("/en/admin/mail?status=failed").get_data(as_text=True))
    assert page.count("Connection refused") == 3 and "p0@example.org" in page

    # Sent again by an administrator once the relay is back.
    server = smtp_servers["plain"]
    server.inbox.clear()
    monkeypatch.setitem(app.config, "MAIL_URL", check_mail_url(server.url()))
    token = csrf_token(client, "/en/admin/mail")
    response = client.post(f"/en/admin/mail/{first.id}/send-again", data={"csrf_token": token})
    assert response.status_code == 302
    assert _deliver(app)["sent"] == 1
    assert [r["to"] for r in server.inbox.received] == [["p0@example.org"]]
    server.inbox.clear()


def _closed():
    from tests.mail_servers import free_port

    return free_port()


def test_a_refused_recipient_fails_at_once_and_costs_the_others_nothing(app, ctx, relay):
    relay.refused.add("gone@example.org")
    for address in ("first@example.org", "gone@example.org", "last@example.org"):
        mail.queue("test", address, "en", "mail/test.html", home_url="/")
    db.session.commit()
    assert _deliver(app) == {"sent": 2, "failed": 1, "waiting": 0}
    statuses = {m.recipient: (m.status, m.last_error) for m in _messages(app)}
    assert statuses["gone@example.org"][0] == "failed"
    assert "550" in statuses["gone@example.org"][1]
    assert statuses["first@example.org"] == statuses["last@example.org"] == ("sent", None)


@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_encrypted_relays_with_a_login(app, ctx, monkeypatch, smtp_servers, mode):
    server = smtp_servers[mode]
    server.inbox.clear()
    monkeypatch.setitem(app.config, "MAIL_URL", check_mail_url(server.url()))
    monkeypatch.setitem(app.config, "MAIL_CA_FILE", str(server.cert[0]))
    mail.queue("test", "someone@example.org", "ja", "mail/test.html", home_url="/")
    db.session.commit()
    assert _deliver(app)["sent"] == 1
    [got] = server.inbox.received
    assert got["authenticated"] and got["tls"]
    assert got["message"]["Subject"] == "OCOP交流ハブからのテストメッセージ"
    server.inbox.clear()


def test_a_relay_whose_certificate_is_not_trusted_gets_nothing(app, ctx, monkeypatch, smtp_servers):
    server = smtp_servers["starttls"]
    server.inbox.clear()
    monkeypatch.setitem(app.config, "MAIL_URL", check_mail_url(server.url()))
    mail.queue("test", "someone@example.org", "en", "mail/test.html", home_url="/")
    db.session.commit()
    assert _deliver(app)["waiting"] == 1
    assert "CERTIFICATE_VERIFY_FAILED" in _messages(app)[0].last_error
    assert server.inbox.received == []


def test_without_a_relay_each_message_is_an_eml_file(app, runner):
    outbox = Path(app.instance_path) / "outbox"
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    result = runner.invoke(
        args=["hub", "mail", "test", "--to", "op@example.org", "--language", "vi"]
    )
    assert result.exit_code == 0, result.output
    assert "HUB_MAIL_URL" in result.output and str(outbox) in result.output
    [new] = set(outbox.glob("*.eml")) - before
    import email
    from email import policy

    message = email.message_from_bytes(new.read_bytes(), policy=policy.default)
    assert message["To"] == "op@example.org"
    assert message["Subject"] == "Tin nhắn thử từ Cổng trao đổi OCOP"
    assert new.name == message["Message-ID"].strip("<>") + ".eml"
    new.unlink()


def test_a_claimed_message_is_left_to_its_run_until_the_claim_expires(
    app, ctx, relay, time_machine
):
    time_machine.move_to(utcnow(), tick=False)
    message = mail.queue("test", "someone@example.org", "en", "mail/test.html", home_url="/")
    db.session.commit()
    assert delivery._claim(message.id, utcnow())  # a run that was killed after its claim
    assert _deliver(app)["sent"] == 0
    time_machine.shift(delivery.CLAIM + timedelta(seconds=1))
    assert _deliver(app)["sent"] == 1
    assert _deliver(app)["sent"] == 0
    assert len(relay.received) == 1


def test_the_mail_page_is_for_administrators(app, client):
    assert client.get("/en/admin/mail").status_code in (302, 401, 403)
    sign_in(client, "coordinator.vn@hub.test")
    assert client.get("/en/admin/mail").status_code == 403
    token = csrf_token(client, "/en/manage/")
    assert client.post("/en/admin/mail/1/send-again", data={"csrf_token": token}).status_code == 403


def test_the_mail_page_says_where_mail_goes(app, admin, relay):
    page = html.unescape(admin.get("/vi/admin/mail").get_data(as_text=True))
    assert "HUB_MAIL_URL" in page and "127.0.0.1:" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(MailMessage.id))) == 0


def test_the_outbox_survives_a_restart_of_the_scheduler(deployed_app, smtp_servers, tmp_path):
    """The scheduler asked to stop (SIGTERM) in the middle of a delivery run, then started
    again: every message arrives, none twice."""
    import os
    import signal
    import subprocess
    import sys
    import time

    server = smtp_servers["plain"]
    server.inbox.clear()
    server.inbox.delay = 0.05
    with deployed_app.test_request_context("/"):
        for number in range(60):
            mail.queue("test", f"p{number}@example.org", "en", "mail/test.html", home_url="/")
        db.session.commit()
    env = {
        **os.environ,
        "HUB_DATABASE_URL": deployed_app.config["DATABASE_URL"],
        "HUB_SECRET_KEY": deployed_app.config["SECRET_KEY"],
        "HUB_MAIL_URL": server.url(),
        "HUB_INSTANCE_PATH": str(tmp_path),
    }
    command = [str(Path(sys.executable).with_name("hub")), "scheduler"]

    def received():
        with server.inbox.lock:
            return [r["message"]["Message-ID"] for r in server.inbox.received]

    def run_until(condition, seconds=60):
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + seconds
        try:
            while not condition() and time.monotonic() < deadline:  # bounded
                assert process.poll() is None, process.stderr.read().decode()
                time.sleep(0.05)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                assert process.wait(timeout=30) in (0, -signal.SIGTERM, 1)
            finally:
                if process.poll() is None:
                    process.kill()
                process.stderr.close()

    run_until(lambda: len(received()) >= 10)
    stopped_at = len(received())
    assert stopped_at < 60  # stopped in the middle of the run
    run_until(lambda: len(received()) >= 60)
    time.sleep(0.5)
    ids = received()
    assert len(ids) == len(set(ids)) == 60
    with deployed_app.app_context():
        statuses = set(db.session.scalars(select(MailMessage.status)))
    assert statuses == {"sent"}
    server.inbox.clear()


def test_the_command_line_mails_an_invitation_in_its_language(app, runner):
    result = runner.invoke(
        args=["hub", "invite", "--email", "new@example.org", "--role", "coordinator",
              "--country", "TH", "--language", "ja"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("http") and "/ja/invitations/" in lines[1]  # still printed
    assert "HUB_MAIL_URL" in result.output  # and where the mail went
    [queued] = _messages(app)
    assert (queued.kind, queued.language, queued.recipient) == (
        "invitation",
        "ja",
        "new@example.org",
    )
    assert queued.subject == "OCOP交流ハブへの招待"
    assert lines[1] in queued.text_body
