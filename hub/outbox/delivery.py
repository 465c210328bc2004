"""Delivering the mail outbox: the scheduler's ``deliver-mail`` job (every ``MAIL_SECONDS``)
and ``hub mail send`` call ``deliver``.

A run takes the due messages oldest first (pending, ``next_attempt_dt`` passed or unset), each
claimed first with one conditional UPDATE (a second scheduler, or the command, keeps off it
until the claim expires), sends it, and marks it sent at once. A message that is not taken
waits (``HUB_MAIL_RETRY_DELAYS``) and is tried again until ``give_up_dt`` (queued +
``HUB_MAIL_GIVE_UP_HOURS``); then, or at once when the relay refuses it for good (a 5xx
reply), it is marked failed with the reason, which administrators see at ``/<lang>/admin/mail``.
When the relay cannot be reached the run stops: the other messages wait for the next one.

Nothing is lost when a process stops: a message is marked sent only after the relay took it, and
a claim left by a killed run expires (``CLAIM``) and the message is tried again. A process
killed between the relay's answer and that mark (milliseconds) would send it a second time,
with the same Message-ID, which mail programs recognise.
"""

import time
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from hub.db import utcnow
from hub.extensions import db
from hub.outbox import retry
from hub.outbox.mail import build, give_up_after
from hub.outbox.models import MailMessage, MailStatus
from hub.outbox.transport import SendError, open_transport

MAIL_SECONDS = 10  # the scheduler looks for due messages this often
MAX_MESSAGES = 200  # messages in one run
RUN_DEADLINE = timedelta(minutes=2)  # no message is started after this
CLAIM = RUN_DEADLINE + timedelta(minutes=3)  # a claim outlives the run's deadline by this much


def _due(now):
    return (
        MailMessage.status == MailStatus.PENDING,
        or_(MailMessage.next_attempt_dt.is_(None), MailMessage.next_attempt_dt <= now),
    )


def _claim(message_id, now):
    db.begin_write()
    result = db.session.execute(
        update(MailMessage)
        .where(MailMessage.id == message_id, *_due(now))
        .values(next_attempt_dt=now + CLAIM)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def deliver(max_messages=MAX_MESSAGES, deadline=RUN_DEADLINE, stop=None):
    """One run over the due messages; returns ``{"sent", "failed", "waiting"}``: the messages
    sent, those marked failed, those that wait for another attempt. ``stop``: an event that,
    once set, ends the run after the message in flight (the scheduler is stopping)."""
    ends = time.monotonic() + deadline.total_seconds()
    totals = {"sent": 0, "failed": 0, "waiting": 0}
    due = db.session.scalars(
        select(MailMessage.id).where(*_due(utcnow())).order_by(MailMessage.id).limit(max_messages)
    ).all()
    db.session.rollback()
    if not due:
        return totals
    transport = open_transport()
    try:
        for message_id in due:
            if stop is not None and stop.is_set():
                break
            if time.monotonic() >= ends or not _claim(message_id, utcnow()):
                continue
            if not _send(transport, message_id, totals):
                break  # the relay cannot be reached: the others wait for the next run
    finally:
        transport.close()
    return totals


def _send(transport, message_id, totals):
    """Send one claimed message and record what happened; False if the run should stop."""
    message = db.session.get(MailMessage, message_id)
    with force_locale(message.language):
        site_name = _("OCOP Exchange Hub")
    try:
        mail = build(message, site_name)
        recipient = mail["To"]
        db.session.rollback()  # no transaction held while the relay answers
        transport.send(mail, recipient)
    except (SendError, ValueError) as exc:
        permanent = not isinstance(exc, SendError) or exc.permanent
        _failed(message_id, str(exc)[:1000], permanent, totals)
        return permanent  # a refusal of one message; anything else stops the run
    db.begin_write()
    db.session.execute(
        update(MailMessage)
        .where(MailMessage.id == message_id)
        .values(
            status=MailStatus.SENT,
            sent_dt=utcnow(),
            attempts=MailMessage.attempts + 1,
            next_attempt_dt=None,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    totals["sent"] += 1
    return True


def _failed(message_id, reason, permanent, totals):
    db.begin_write()
    message = db.session.get(MailMessage, message_id)
    now = utcnow()
    message.attempts += 1
    message.last_error = reason
    if permanent or now >= message.give_up_dt:
        message.status = MailStatus.FAILED
        message.next_attempt_dt = None
        totals["failed"] += 1
    else:
        delays = current_app.config["MAIL_RETRY_DELAYS"]
        message.next_attempt_dt = now + retry.delay_after(delays, message.attempts)
        totals["waiting"] += 1
    db.session.commit()


def send_again(message_id):
    """A failed message back in the outbox, tried again from now for ``HUB_MAIL_GIVE_UP_HOURS``
    (an administrator's button), in the caller's transaction; False if it is not a failed
    message."""
    db.begin_write()
    result = db.session.execute(
        update(MailMessage)
        .where(MailMessage.id == message_id, MailMessage.status == MailStatus.FAILED)
        .values(
            status=MailStatus.PENDING,
            next_attempt_dt=None,
            give_up_dt=utcnow() + give_up_after(),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
