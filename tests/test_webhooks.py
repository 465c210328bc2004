"""Webhooks: each change of the changes feed POSTed to a partner's loopback server, signed as
Standard Webhooks describes and checked there with the ``standardwebhooks`` library; retries
with backoff (the clock moved by time-machine); the delivery log; the address rules; the
administrators' pages and who may use them."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook as Verifier
from werkzeug import Response

from hub.accounts.models import AuditEvent, User
from hub.extensions import db
from hub.publishing import services as publishing
from hub.webhooks import delivery, services
from hub.webhooks.models import Webhook, WebhookDelivery
from tests.support import csrf_token, sign_in

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def loopback_receivers(loopback_allowed, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_DEADLINE", 5)


class Receiver:
    """A partner's endpoint on the loopback server: it verifies each message's signature and
    answers what ``answers`` says (200 once they are used up)."""

    def __init__(self, httpserver, path="/hook"):
        self.httpserver, self.path = httpserver, path
        self.secret = None
        self.answers = []
        self.messages, self.headers, self.raw, self.failures = [], [], [], []
        httpserver.expect_request(path, method="POST").respond_with_handler(self.handle)

    @property
    def url(self):
        return self.httpserver.url_for(self.path)

    def handle(self, request):
        body = request.get_data()
        try:
            payload = Verifier(self.secret).verify(body, dict(request.headers))
        except Exception as exc:
            self.failures.append(repr(exc))
            return Response("bad signature", status=400)
        status = self.answers.pop(0) if self.answers else 200
        self.messages.append((status, payload))
        self.headers.append(dict(request.headers))
        self.raw.append(body)
        return Response("", status=status)

    def accepted(self):
        return [payload for status, payload in self.messages if 200 <= status < 300]


def coordinator():
    return db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))


def admin():
    return db.session.scalar(select(User).where(User.email == "admin@hub.test"))


def publish(title="Chè Thái Nguyên"):
    vn = coordinator()
    entry = publishing.create_entry(
        vn, "policy", "vi", {"title": title, "summary": "Tóm tắt.", "body": "Nội dung."},
        {"instrument": "decision", "reference_number": "1/QĐ", "issued_on": datetime(2020, 1, 1).date()},
    )  # fmt: skip
    publishing.set_status(vn, entry.id, "published")
    return entry.id


def register(receiver, **kwargs):
    hook = services.register(admin(), receiver.url, **kwargs)
    receiver.secret = hook.secret
    return hook.id


def deliver(**kwargs):
    return delivery.deliver(**kwargs)


def log(webhook_id):
    return db.session.execute(
        select(WebhookDelivery.first_seq, WebhookDelivery.attempt, WebhookDelivery.status_code)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.id)
    ).all()


def test_publish_edit_and_delete_are_delivered_signed_and_in_order(ctx, httpserver):
    receiver = Receiver(httpserver)
    hook_id = register(receiver)
    assert deliver()["delivered"] == 0  # nothing changed since it was registered

    first = publish("First")
    second = publish("Second")
    assert deliver() == {"delivered": 2, "failed": 0, "webhooks": 1}
    vn = coordinator()
    publishing.save_text(vn, first, "vi", {"title": "First, edited", "summary": "S.", "body": "B."})
    assert deliver()["delivered"] == 1
    publishing.delete_entry(vn, second)
    assert deliver()["delivered"] == 1

    assert receiver.failures == []
    got = receiver.accepted()
    assert [(m["type"], m["data"]["id"]) for m in got] == [
        ("entry.changed", first),
        ("entry.changed", second),
        ("entry.changed", first),
        ("entry.deleted", second),
    ]
    seqs = [m["data"]["seq"] for m in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    assert got[2]["data"]["record"]["translations"]["vi"]["title"] == "First, edited"
    assert got[3]["data"]["deleted"] is True and "record" not in got[3]["data"]
    assert all(m["timestamp"] == m["data"]["updated_dt"] for m in got)
    # Each message's id names the webhook and the change: the same on a retry, for de-duplication.
    assert [h["Webhook-Id"] for h in receiver.headers] == [f"msg_{hook_id}_{s}" for s in seqs]
    # What was delivered is what the changes feed serves.
    assert db.session.get(Webhook, hook_id).cursor == seqs[-1]
    assert [row.status_code for row in log(hook_id)] == [200, 200, 200, 200]


def test_the_payload_is_the_changes_feed_item(ctx, client, httpserver):
    receiver = Receiver(httpserver)
    register(receiver)
    entry_id = publish()
    deliver()
    feed = client.get("/api/v1/changes?since=0&limit=1000").get_json()["items"]
    assert receiver.accepted()[0]["data"] == next(i for i in feed if i["id"] == entry_id)


@pytest.mark.dates
def test_a_failing_receiver_gets_the_change_again_with_backoff_and_nothing_is_skipped(
    ctx, httpserver, time_machine
):
    time_machine.move_to(START, tick=False)
    receiver = Receiver(httpserver)
    receiver.answers = [500, 500]
    hook_id = register(receiver)
    first, second = publish("First"), publish("Second")

    assert deliver() == {"delivered": 0, "failed": 1, "webhooks": 1}
    hook = db.session.get(Webhook, hook_id)
    assert hook.failures == 1 and hook.next_attempt_dt == START + timedelta(seconds=30)
    assert deliver()["webhooks"] == 0  # not due yet: nothing is sent
    time_machine.move_to(START + timedelta(seconds=29), tick=False)
    assert deliver()["webhooks"] == 0

    time_machine.move_to(START + timedelta(seconds=30), tick=False)
    assert deliver()["failed"] == 1
    hook = db.session.get(Webhook, hook_id)
    assert hook.failures == 2
    assert hook.next_attempt_dt == START + timedelta(seconds=30 + 120)

    time_machine.move_to(START + timedelta(seconds=150), tick=False)
    assert deliver() == {"delivered": 2, "failed": 0, "webhooks": 1}
    hook = db.session.get(Webhook, hook_id)
    assert (hook.failures, hook.next_attempt_dt) == (0, None)

    assert receiver.failures == []
    assert [(s, m["data"]["id"]) for s, m in receiver.messages] == [
        (500, first), (500, first), (200, first), (200, second),
    ]  # fmt: skip
    # The same message each time: same id, so the partner can tell a retry.
    assert len({h["Webhook-Id"] for h in receiver.headers[:3]}) == 1
    rows = log(hook_id)
    assert [(r.attempt, r.status_code) for r in rows] == [(1, 500), (2, 500), (3, 200), (1, 200)]
    assert hook.cursor == rows[-1].first_seq


@pytest.mark.dates
def test_a_webhook_that_keeps_failing_is_stopped_with_the_reason_and_resumes(
    ctx, client, httpserver, time_machine
):
    time_machine.move_to(START, tick=False)
    receiver = Receiver(httpserver)
    receiver.answers = [503] * delivery.max_failures()
    hook_id = register(receiver)
    entry_id = publish()
    now = START
    for failures in range(1, delivery.max_failures() + 1):
        if failures > 1:
            now += delivery.delay_after(failures - 1)
            time_machine.move_to(now, tick=False)
        assert deliver()["failed"] == 1
        hook = db.session.get(Webhook, hook_id)
        assert hook.failures == failures
    assert timedelta(hours=20) < now - START < timedelta(days=1)  # about a day of attempts
    hook = db.session.get(Webhook, hook_id)
    assert not hook.enabled and hook.disabled_reason == "the server answered 503"
    assert deliver()["webhooks"] == 0
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "webhook.disable")
        )
        == 1
    )

    sign_in(client, "admin@hub.test")
    page = client.get("/en/admin/webhooks").get_data(as_text=True)
    assert "Stopped after 9 failed attempts in a row" in page and "the server answered 503" in page
    token = csrf_token(client, f"/en/admin/webhooks/{hook_id}")
    client.post(f"/en/admin/webhooks/{hook_id}/resume", data={"csrf_token": token})
    assert deliver()["delivered"] == 1
    assert receiver.accepted()[0]["data"]["id"] == entry_id


@pytest.mark.dates
def test_the_retry_delays_and_the_failures_allowed_are_the_settings(
    app, ctx, client, httpserver, time_machine, monkeypatch
):
    """HUB_WEBHOOK_RETRY_DELAYS=5,60 and HUB_WEBHOOK_MAX_FAILURES=4: after failures the
    webhook waits 5 s, then 60 s, then 60 s again, and the fourth stops it."""
    monkeypatch.setitem(app.config, "WEBHOOK_RETRY_DELAYS", (5, 60))
    monkeypatch.setitem(app.config, "WEBHOOK_MAX_FAILURES", 4)
    time_machine.move_to(START, tick=False)
    receiver = Receiver(httpserver)
    receiver.answers = [503] * 4
    hook_id = register(receiver)
    publish()
    assert deliver()["failed"] == 1
    now = START
    for waited in (5, 60, 60):
        time_machine.move_to(now + timedelta(seconds=waited - 1), tick=False)
        assert deliver()["webhooks"] == 0  # not due yet
        now += timedelta(seconds=waited)
        time_machine.move_to(now, tick=False)
        assert deliver()["failed"] == 1
    hook = db.session.get(Webhook, hook_id)
    assert (hook.failures, hook.enabled) == (4, False)
    sign_in(client, "admin@hub.test")
    page = client.get("/en/admin/webhooks").get_data(as_text=True)
    assert "Stopped after 4 failed attempts in a row" in page


def test_a_private_address_is_refused_unless_allowed(app, ctx, client, httpserver, monkeypatch):
    receiver = Receiver(httpserver)
    hook_id = register(receiver)
    publish()
    monkeypatch.setitem(app.config, "FETCH_ALLOW", [])
    assert deliver()["failed"] == 1
    row = db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook_id))
    assert row.status_code is None and "not a public address" in row.error
    assert receiver.messages == [] and db.session.get(Webhook, hook_id).cursor == 0
    assert db.session.get(Webhook, hook_id).failures == 1

    # Registering an address written as a private IP is refused at once, with the reason.
    with pytest.raises(services.WebhookError, match="not a public address"):
        services.register(admin(), "http://10.0.0.5/hook")
    with pytest.raises(services.WebhookError, match="http or https"):
        services.register(admin(), "ftp://partner.example/hook")
    monkeypatch.setitem(app.config, "FETCH_ALLOW", ["10.0.0.0/8"])
    assert services.register(admin(), "http://10.0.0.5/hook").id


def test_only_the_webhooks_country_is_sent(ctx, httpserver):
    receiver = Receiver(httpserver)
    register(receiver, country_code="TH")
    publish()
    assert deliver() == {"delivered": 0, "failed": 0, "webhooks": 1}
    assert receiver.messages == []


def test_from_start_sends_what_the_feed_already_holds(ctx, httpserver):
    entry_id = publish()
    receiver = Receiver(httpserver)
    register(receiver, from_start=True)
    deliver()
    assert entry_id in [m["data"]["id"] for m in receiver.accepted()]


def test_a_run_is_bounded(ctx, httpserver):
    receiver = Receiver(httpserver)
    hook_id = register(receiver)
    for n in range(3):
        publish(f"Entry {n}")
    assert deliver(max_changes=2)["delivered"] == 2
    assert deliver(max_changes=2)["delivered"] == 1
    assert len(log(hook_id)) == 3


def test_the_log_is_pruned(ctx, httpserver):
    receiver = Receiver(httpserver)
    hook_id = register(receiver)
    for n in range(4):
        publish(f"Entry {n}")
    deliver()
    delivery.prune(hook_id, keep=2)
    db.session.commit()
    assert len(log(hook_id)) == 2


def test_the_command_delivers(ctx, runner, httpserver):
    receiver = Receiver(httpserver)
    register(receiver)
    publish()
    result = runner.invoke(args=["hub", "deliver-webhooks", "--max-changes", "10"])
    assert result.exit_code == 0, result.output
    assert "1 changes delivered, 0 failed attempts, 1 webhooks." in result.output
    assert len(receiver.accepted()) == 1


def test_the_scheduler_has_a_delivery_job(app, ctx, httpserver):
    from hub.sync.scheduler import SyncScheduler

    scheduler = SyncScheduler(app, blocking=False)
    scheduler.start(paused=True)  # its jobs would share the test's one connection
    try:
        assert scheduler.scheduler.get_job("deliver-webhooks") is not None
    finally:
        scheduler.shutdown()
    receiver = Receiver(httpserver)
    register(receiver)
    publish()
    scheduler.deliver_webhooks()
    assert len(receiver.accepted()) == 1


# ---------------------------------------------------------------------------------------------
# The pages.


def test_an_administrator_registers_tests_pauses_and_deletes_a_webhook(ctx, client, httpserver):
    receiver = Receiver(httpserver)
    sign_in(client, "admin@hub.test")
    token = csrf_token(client, "/en/admin/webhooks")
    response = client.post(
        "/en/admin/webhooks", data={"csrf_token": token, "url": "gopher://x", "country": ""}
    )
    assert response.status_code == 422
    assert "Give an http or https address" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Webhook)) == 0

    response = client.post(
        "/en/admin/webhooks", data={"csrf_token": token, "url": receiver.url, "country": "VN"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    secret = re.search(r"(whsec_[A-Za-z0-9+/=]+)", page).group(1)
    hook = db.session.scalar(select(Webhook))
    assert hook.secret == secret and hook.country_code == "VN"
    assert secret not in client.get("/en/admin/webhooks").get_data(as_text=True)  # shown once
    assert secret not in client.get(f"/en/admin/webhooks/{hook.id}").get_data(as_text=True)
    receiver.secret = secret

    response = client.post(f"/en/admin/webhooks/{hook.id}/test", data={"csrf_token": token})
    assert response.status_code == 302
    assert receiver.failures == []
    assert receiver.accepted()[0] == {
        "type": "webhook.test",
        "timestamp": receiver.accepted()[0]["timestamp"],
        "data": {"webhook": hook.id},
    }
    page = client.get(f"/en/admin/webhooks/{hook.id}").get_data(as_text=True)
    assert "The test event was delivered" in page and "test event" in page

    client.post(f"/en/admin/webhooks/{hook.id}/pause", data={"csrf_token": token})
    db.session.expire_all()
    assert not db.session.get(Webhook, hook.id).enabled
    publish()
    assert deliver()["webhooks"] == 0
    client.post(f"/en/admin/webhooks/{hook.id}/resume", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Webhook, hook.id).enabled
    assert deliver()["delivered"] == 1

    response = client.post(f"/en/admin/webhooks/{hook.id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Webhook, hook.id) is None
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "webhook").order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "webhook.create", "webhook.pause", "webhook.enable", "webhook.delete"
    ]  # fmt: skip
    assert (
        client.post(f"/en/admin/webhooks/{hook.id}/pause", data={"csrf_token": token}).status_code
        == 404
    )


def test_the_delivery_log_is_paged(ctx, client, httpserver):
    receiver = Receiver(httpserver)
    hook_id = register(receiver)
    db.session.add_all(
        WebhookDelivery(
            webhook_id=hook_id, msg_id=f"msg_{hook_id}_{n}", first_seq=n, last_seq=n,
            attempt=1, status_code=500 if n % 2 else 200, duration_ms=3,
        )
        for n in range(1, 61)
    )  # fmt: skip
    db.session.commit()
    sign_in(client, "admin@hub.test")
    page = client.get(f"/en/admin/webhooks/{hook_id}").get_data(as_text=True)
    assert f"msg_{hook_id}_60" in page and f"msg_{hook_id}_11<" in page
    assert f"msg_{hook_id}_10<" not in page
    older = re.search(r'href="([^"]+before=\d+)"', page).group(1).replace("&amp;", "&")
    page = client.get(older).get_data(as_text=True)
    assert f"msg_{hook_id}_10<" in page and f"msg_{hook_id}_1<" in page
    assert f"msg_{hook_id}_11<" not in page and "Older deliveries" not in page
    assert "500 refused" in page and "200 delivered" in page


@pytest.mark.parametrize("lang", ["vi", "ja"])
def test_the_pages_speak_the_readers_language(ctx, client, httpserver, lang):
    receiver = Receiver(httpserver)
    hook_id = register(receiver)
    sign_in(client, "admin@hub.test", lang=lang)
    for url in (f"/{lang}/admin/webhooks", f"/{lang}/admin/webhooks/{hook_id}"):
        response = client.get(url)
        assert response.status_code == 200
        assert "Register a webhook" not in response.get_data(as_text=True)
        assert "Deliveries" not in response.get_data(as_text=True)


WRITES = ("", "/{id}/pause", "/{id}/resume", "/{id}/delete", "/{id}/test")


@pytest.mark.parametrize("who", [None, "coordinator.vn@hub.test"])
def test_only_administrators_may_see_or_change_webhooks(ctx, client, httpserver, who):
    receiver = Receiver(httpserver)
    hook_id = register(receiver)
    before = db.session.execute(select(Webhook.id, Webhook.enabled, Webhook.url)).all()
    if who:
        sign_in(client, who)
        token = csrf_token(client, "/en/manage/")
    else:
        token = csrf_token(client, "/en/login")
    for path in ("/en/admin/webhooks", f"/en/admin/webhooks/{hook_id}"):
        assert client.get(path).status_code == (403 if who else 302)
    for suffix in WRITES:
        response = client.post(
            "/en/admin/webhooks" + suffix.format(id=hook_id),
            data={"csrf_token": token, "url": "https://partner.example/hook"},
        )
        assert response.status_code == (403 if who else 302), suffix
        if not who:
            assert "/login" in response.headers["Location"]
    db.session.expire_all()
    assert db.session.execute(select(Webhook.id, Webhook.enabled, Webhook.url)).all() == before
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    assert receiver.messages == []


def test_a_form_without_its_csrf_token_changes_nothing(ctx, client, httpserver):
    receiver = Receiver(httpserver)
    hook_id = register(receiver)
    sign_in(client, "admin@hub.test")
    for suffix in WRITES:
        response = client.post(
            "/en/admin/webhooks" + suffix.format(id=hook_id), data={"url": receiver.url}
        )
        assert response.status_code == 400, suffix
    assert db.session.scalar(select(func.count()).select_from(Webhook)) == 1
    assert db.session.get(Webhook, hook_id).enabled
    assert receiver.messages == []


def test_the_documented_verification_works(ctx, httpserver):
    """docs/webhooks.md's example: the signed content is "<id>.<timestamp>.<body>"."""
    import base64
    import hashlib
    import hmac

    receiver = Receiver(httpserver)
    register(receiver)
    publish()
    deliver()
    headers = receiver.headers[0]
    key = base64.b64decode(receiver.secret.removeprefix("whsec_"))
    msg_id, stamp = headers["Webhook-Id"], headers["Webhook-Timestamp"]
    raw = receiver.raw[0]
    expected = base64.b64encode(
        hmac.new(key, f"{msg_id}.{stamp}.".encode() + raw, hashlib.sha256).digest()
    ).decode()
    assert headers["Webhook-Signature"] == f"v1,{expected}"


def test_a_redirect_is_not_followed_and_a_slow_answer_is_cut_off(app, ctx, httpserver, monkeypatch):
    import time

    hook = services.register(admin(), httpserver.url_for("/moved"))
    httpserver.expect_request("/moved", method="POST").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    publish()
    assert deliver()["failed"] == 1
    row = db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id))
    assert row.status_code == 302 and not row.ok
    assert db.session.get(Webhook, hook.id).cursor != row.first_seq

    def slow(_request):
        time.sleep(2)
        return Response("")

    httpserver.expect_request("/slow", method="POST").respond_with_handler(slow)
    monkeypatch.setitem(app.config, "WEBHOOK_DEADLINE", 1)
    services.register(admin(), httpserver.url_for("/slow"), from_start=True)
    started = time.monotonic()
    assert deliver()["failed"] == 1
    assert time.monotonic() - started < 1.9
    errors = db.session.scalars(
        select(WebhookDelivery.error).where(WebhookDelivery.webhook_id != hook.id)
    ).all()
    assert errors and "within 1 s" in errors[0]
