"""The dispatcher: each webhook gets the changes feed's items after its cursor, POSTed one change
per message and signed as Standard Webhooks describes (docs/webhooks.md).

The changes feed is the outbox: nothing is written for webhooks when an entry changes. A run
takes each due webhook in turn (enabled, its ``next_attempt_dt`` passed or unset), claims it
with one conditional UPDATE (a second dispatcher, the scheduler's or a command's, keeps off
until the claim expires), reads the changes after its cursor in change order (only its
country's, if it has one) and POSTs them through the hub's fetcher (public addresses only unless
``HUB_FETCH_ALLOW`` says otherwise; a deadline per POST). A 2xx answer moves the cursor past the
change; anything else is logged, the webhook waits (``HUB_WEBHOOK_RETRY_DELAYS``: by default
30 s, 2 min, 10 min, 1 h, 2 h, 4 h, then 8 h between attempts) and the same change is tried
again, so nothing is skipped. After ``HUB_WEBHOOK_MAX_FAILURES`` failures in a row (9 by default,
about a day) the webhook is stopped, with the reason, until an administrator resumes it.

A run is bounded: at most ``max_changes`` deliveries, and none started after its deadline.
"""

import base64
import secrets
import time
import uuid
from datetime import timedelta

import orjson
from flask import current_app
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from standardwebhooks import Webhook as Signer

from hub.db import utcnow
from hub.extensions import db
from hub.outbox import retry
from hub.publishing.models import Entry
from hub.sync.fetcher import Fetcher, FetchError
from hub.webhooks.models import Webhook, WebhookDelivery

USER_AGENT = "OCOPExchangeHub/0.1 (webhooks; +https://github.com/ocop-network/hub)"
RUN_DEADLINE = timedelta(minutes=5)
MAX_CHANGES = 1000  # deliveries in one run, every webhook together
PER_READ = 100  # changes read from the feed at a time
CLAIM_MARGIN = timedelta(minutes=2)  # a claim outlives the run's deadline by this much
KEEP_DELIVERIES = 1000  # log rows kept per webhook; older ones are pruned
POST_DEADLINE = 10.0  # seconds for a partner's answer


def new_secret():
    """A signing secret as Standard Webhooks writes them: "whsec_" and 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def delay_after(failures):
    """How long to wait after the ``failures``-th failure in a row (``HUB_WEBHOOK_RETRY_DELAYS``:
    the seconds before attempt 2, 3, …, then the last of them again)."""
    return retry.delay_after(current_app.config["WEBHOOK_RETRY_DELAYS"], failures)


def max_failures():
    """Failures in a row after which a webhook is stopped (``HUB_WEBHOOK_MAX_FAILURES``)."""
    return current_app.config["WEBHOOK_MAX_FAILURES"]


def make_fetcher():
    config = current_app.config
    return Fetcher(
        allow=config["FETCH_ALLOW"],
        deadline=config.get("WEBHOOK_DEADLINE", POST_DEADLINE),
        user_agent=USER_AGENT,
    )


def message(item):
    """The body of the message for one changes-feed item (UTF-8 JSON bytes): Standard Webhooks'
    ``{"type", "timestamp", "data"}``, the item as the feed serves it in ``data``."""
    parsed = orjson.loads(item)
    kind = "entry.deleted" if parsed.get("deleted") else "entry.changed"
    return b'{"data":%s,"timestamp":%s,"type":"%s"}' % (
        item,
        orjson.dumps(parsed.get("updated_dt")),
        kind.encode(),
    )


def test_message(webhook_id):
    now = utcnow().isoformat()
    return orjson.dumps(
        {"data": {"webhook": webhook_id}, "timestamp": now, "type": "webhook.test"},
        option=orjson.OPT_SORT_KEYS,
    )


def send(fetcher, webhook, msg_id, body):
    """POST one signed message; ``(status_code, error, duration_ms)``, one of the first two
    None."""
    sent = utcnow()
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": Signer(webhook.secret).sign(msg_id, sent, body),
    }
    started = time.monotonic()
    try:
        status, error = fetcher.post(webhook.url, body, headers), None
    except FetchError as exc:
        status, error = None, str(exc)[:1000]
    return status, error, round((time.monotonic() - started) * 1000)


def _log(webhook, msg_id, seq, attempt, status, error, duration):
    db.session.add(
        WebhookDelivery(
            webhook_id=webhook.id,
            msg_id=msg_id,
            first_seq=seq,
            last_seq=seq,
            attempt=attempt,
            status_code=status,
            error=error,
            duration_ms=duration,
            dt=utcnow(),
        )
    )


def failure_text(status, error):
    return error if status is None else f"the server answered {status}"


def send_test(webhook, fetcher=None):
    """Send a test event now (an administrator's button); logged like any delivery. True if
    the partner answered 2xx. The cursor and the backoff are left as they are."""
    own = fetcher is None
    fetcher = fetcher or make_fetcher()
    try:
        msg_id = f"msg_test_{uuid.uuid4().hex}"
        status, error, duration = send(fetcher, webhook, msg_id, test_message(webhook.id))
    finally:
        if own:
            fetcher.close()
    db.begin_write()
    _log(webhook, msg_id, None, 1, status, error, duration)
    prune(webhook.id)
    db.session.commit()
    return status is not None and 200 <= status < 300, status, error


def _claim(webhook_id, now, until):
    """Claim a due webhook for this run (one conditional UPDATE); True if this run has it."""
    db.begin_write()
    result = db.session.execute(
        update(Webhook)
        .where(
            Webhook.id == webhook_id,
            Webhook.enabled.is_(True),
            or_(Webhook.next_attempt_dt.is_(None), Webhook.next_attempt_dt <= now),
        )
        .values(next_attempt_dt=until)
    )
    db.session.commit()
    return result.rowcount == 1


def prune(webhook_id, keep=KEEP_DELIVERIES):
    """Delete the webhook's log rows older than its ``keep`` newest."""
    oldest_kept = db.session.scalar(
        select(WebhookDelivery.id)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.id.desc())
        .offset(keep - 1)
        .limit(1)
    )
    if oldest_kept is not None:
        db.session.execute(
            delete(WebhookDelivery).where(
                WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.id < oldest_kept
            )
        )


def deliver(max_changes=MAX_CHANGES, deadline=RUN_DEADLINE, fetcher=None):
    """One run of the dispatcher over every due webhook; returns ``{"delivered", "failed",
    "webhooks"}``: the changes delivered, the failed attempts, the webhooks served."""
    own = fetcher is None
    fetcher = fetcher or make_fetcher()
    ends = time.monotonic() + deadline.total_seconds()
    totals = {"delivered": 0, "failed": 0, "webhooks": 0}
    try:
        now = utcnow()
        newest = db.session.scalar(select(func.max(Entry.change_seq))) or 0
        due = db.session.execute(
            select(Webhook.id, Webhook.cursor)
            .where(
                Webhook.enabled.is_(True),
                or_(Webhook.next_attempt_dt.is_(None), Webhook.next_attempt_dt <= now),
            )
            .order_by(Webhook.id)
        ).all()
        db.session.commit()
        for webhook_id, cursor in due:
            left = max_changes - totals["delivered"] - totals["failed"]
            if left <= 0 or time.monotonic() >= ends:
                break
            if cursor >= newest:
                continue  # nothing new, whatever its country
            claim = now + deadline + CLAIM_MARGIN
            if not _claim(webhook_id, now, claim):
                continue
            totals["webhooks"] += 1
            try:
                _serve(webhook_id, fetcher, ends, left, totals)
            except SQLAlchemyError:
                # Deleted (or changed) by an administrator while it was being served: what was
                # delivered is kept, the rest waits for the next run.
                db.session.rollback()
            finally:
                # Nothing pending here: release the claim, unless a failure set the backoff.
                db.begin_write()
                db.session.execute(
                    update(Webhook)
                    .where(Webhook.id == webhook_id, Webhook.next_attempt_dt == claim)
                    .values(next_attempt_dt=None)
                )
                prune(webhook_id)
                db.session.commit()
    finally:
        if own:
            fetcher.close()
    return totals


def _wanted(webhook_id):
    """The webhook as it is now, if it still exists and is enabled (an administrator may have
    paused or deleted it since the run began), else None."""
    db.session.expire_all()
    webhook = db.session.get(Webhook, webhook_id)
    return webhook if webhook is not None and webhook.enabled else None


def _serve(webhook_id, fetcher, ends, left, totals):
    """Deliver the changes after the webhook's cursor, in order, until one fails, ``left``
    are sent or the run's time ``ends``; each attempt is committed with its log row."""
    from hub.api.changes import changes_after, feed_items

    while left > 0 and time.monotonic() < ends:
        webhook = _wanted(webhook_id)
        if webhook is None:
            return
        rows = changes_after(webhook.cursor, min(PER_READ, left), webhook.country_code)
        for (_id, seq, _item), item in zip(rows, feed_items(rows), strict=True):
            if time.monotonic() >= ends:
                return
            msg_id = f"msg_{webhook.id}_{seq}"
            status, error, duration = send(fetcher, webhook, msg_id, message(item))
            left -= 1
            db.begin_write()
            _log(webhook, msg_id, seq, webhook.failures + 1, status, error, duration)
            if status is not None and 200 <= status < 300:
                webhook.cursor, webhook.failures = seq, 0
                totals["delivered"] += 1
                db.session.commit()
                continue
            totals["failed"] += 1
            webhook.failures += 1
            webhook.next_attempt_dt = utcnow() + delay_after(webhook.failures)
            if webhook.failures >= max_failures():
                _stop(webhook, failure_text(status, error))
            db.session.commit()
            return
        if len(rows) < PER_READ:
            return


def _stop(webhook, reason):
    from hub.accounts.services import record

    webhook.enabled = False
    webhook.disabled_reason = reason
    record(None, "webhook.disable", "webhook", webhook.id, reason=reason)
