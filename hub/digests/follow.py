"""Visitors following a country, a collection, or a country's collection by e-mail, with no
account (docs/mail.md, "Following by e-mail"): ``ask`` writes a pending subscription and mails
a confirmation link (double opt-in); ``confirm`` starts it; every digest carries a signed link
that stops it in one click (``List-Unsubscribe``, RFC 8058); ``send_due`` mails each confirmed
subscription the entries first published in its week, in its language.

Asking answers the same whether the address already follows or not, and a pending
subscription's link is mailed again at most once an hour (``ASK_AGAIN_AFTER``).
"""

import secrets
from datetime import timedelta

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from hub.accounts.services import hash_token, is_address, normalize_email
from hub.db import utcnow
from hub.digests.models import Subscription
from hub.extensions import db
from hub.outbox import mail
from hub.publishing.models import Entry, EntryStatus
from hub.publishing.services import shown

PERIOD = timedelta(days=7)
CONFIRM_DAYS = 7  # a confirmation link works this long
ASK_AGAIN_AFTER = timedelta(hours=1)
DIGEST_ITEMS = 20  # entries listed in one digest
COLLECTIONS = {"policies": "policy", "experiences": "experience", "fairs": "fair",
               "products": "product"}  # fmt: skip


def valid_address(email):
    """``email`` normalised, or None when it is not an address (hub.accounts.services)."""
    email = normalize_email(email) if isinstance(email, str) else ""
    return email if is_address(email) else None


def ask(email, language, country_code="", collection=""):
    """Write (or refresh) a pending subscription and queue its confirmation; nothing when the
    address already follows this, or was mailed a link within the hour. The caller checked
    ``country_code`` and ``collection``; ``email`` must be ``valid_address``."""
    now = utcnow()
    db.begin_write()
    row = db.session.scalar(
        select(Subscription).where(
            Subscription.email == email,
            Subscription.country_code == country_code,
            Subscription.collection == collection,
        )
    )
    if row is not None and (row.confirmed_dt is not None or now - row.asked_dt < ASK_AGAIN_AFTER):
        db.session.rollback()
        return
    token = secrets.token_urlsafe(32)
    if row is None:
        row = Subscription(
            email=email, language=language, country_code=country_code, collection=collection,
            created_dt=now,
        )  # fmt: skip
        db.session.add(row)
    row.token_hash, row.asked_dt, row.language = hash_token(token), now, language
    try:
        db.session.flush()
    except IntegrityError:  # the same ask at the same moment: that one mails the link
        db.session.rollback()
        return
    mail.queue(
        "follow_confirm", email, language, "mail/follow_confirm.html",
        link=url_for("digests.confirm", lang=language, token=token, _external=True),
        country_code=country_code, collection=collection, days=CONFIRM_DAYS,
    )  # fmt: skip
    db.session.commit()


def pending(token):
    """The subscription whose confirmation link is ``token``, if it still works."""
    if not isinstance(token, str) or len(token) > 100:
        return None
    row = db.session.scalar(
        select(Subscription).where(Subscription.token_hash == hash_token(token))
    )
    if row is None or utcnow() - row.asked_dt > timedelta(days=CONFIRM_DAYS):
        return None
    return row


def confirm(row):
    db.begin_write()
    if row.confirmed_dt is None:
        row.confirmed_dt = utcnow()
    db.session.commit()


def _serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="follow-stop")


def stop_link(row):
    token = _serializer().dumps(row.id)
    return url_for("digests.stop", lang=row.language, token=token, _external=True)


def read_stop_token(token):
    try:
        subscription_id = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(subscription_id, int):
        return None
    return db.session.get(Subscription, subscription_id)


def stop(row):
    db.begin_write()
    db.session.delete(row)
    db.session.commit()


def send_due(now=None):
    """Queue the weekly digest of every confirmed subscription that is due and has new entries
    (first published since its last digest, or since it was confirmed); one query per kind of
    subscription (country, collection, language), not per subscriber. Returns how many."""
    now = now or utcnow()
    base = Subscription.last_sent_dt
    due = db.session.scalars(
        select(Subscription)
        .where(
            Subscription.confirmed_dt.is_not(None),
            or_(
                base <= now - PERIOD,
                (base.is_(None)) & (Subscription.confirmed_dt <= now - PERIOD),
            ),
        )
        .order_by(Subscription.country_code, Subscription.collection, Subscription.id)
    ).all()
    groups = {}
    for row in due:
        groups.setdefault((row.country_code, row.collection), []).append(row)
    sent = 0
    for (country_code, collection), rows in groups.items():
        since = min(row.last_sent_dt or row.confirmed_dt for row in rows)
        entries = _new_entries(country_code, collection, since)
        for row in rows:
            sent += _send(row, entries, now)
    db.session.rollback()
    return sent


def _new_entries(country_code, collection, since):
    stmt = select(Entry).where(
        Entry.status == EntryStatus.PUBLISHED,
        Entry.deleted_dt.is_(None),
        Entry.published_dt > since,
    )
    if country_code:
        stmt = stmt.where(Entry.country_code == country_code)
    if collection:
        stmt = stmt.where(Entry.kind == COLLECTIONS[collection])
    stmt = stmt.options(selectinload(Entry.translations)).order_by(Entry.published_dt.desc())
    return db.session.scalars(stmt.limit(DIGEST_ITEMS * 5)).all()


def _send(row, entries, now):
    """Claim ``row``'s digest (one conditional UPDATE) and queue it if it lists anything."""
    since = row.last_sent_dt or row.confirmed_dt
    mine = [entry for entry in entries if entry.published_dt > since][:DIGEST_ITEMS]
    db.begin_write()
    claimed = db.session.execute(
        update(Subscription)
        .where(
            Subscription.id == row.id,
            or_(Subscription.last_sent_dt.is_(None), Subscription.last_sent_dt <= now - PERIOD),
        )
        .values(last_sent_dt=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        return 0
    if not mine:  # nothing new this week: no mail, and the next week starts now
        db.session.commit()
        return 0
    language = row.language
    collection_of = {kind: name for name, kind in COLLECTIONS.items()}
    items = [
        {
            "title": shown(entry, language).text.title,
            "kind": entry.kind,
            "country_code": entry.country_code,
            "link": url_for(
                "publishing.detail", lang=language, collection=collection_of[entry.kind],
                entry_id=entry.id, _external=True,
            ),
        }
        for entry in mine
    ]  # fmt: skip
    off = stop_link(row)
    mail.queue(
        "follow_digest", row.email, language, "mail/follow_digest.html", unsubscribe_url=off,
        items=items, off=off, country_code=row.country_code, collection=row.collection,
    )  # fmt: skip
    db.session.commit()
    return 1
