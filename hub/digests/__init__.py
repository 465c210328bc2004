"""Digests: the mail a person chose to get daily or weekly (hub.accounts.notifications), sent by
the scheduler's ``send-digests`` job every hour to whoever's is due, and only when it has
something to say (docs/mail.md, "Digests").

* ``country_digest`` (weekly; a coordinator's by default): their country's ratings that expire
  within ``EXPIRING_DAYS``, the partner records refused since the last digest, and the sync
  runs held for review; an administrator's covers every country.
* ``translations`` (daily or weekly; chosen): the entries they may edit that lack a language
  or whose translation was made from an older version of the original (the translation queue
  of ``/<lang>/manage/translations``).

Each is claimed first (hub.accounts.notifications.claim_digest): two schedulers never send
one twice. A list shows ``LIST_LIMIT`` items and says how many there are in all.
"""

from datetime import timedelta

from flask import Blueprint, current_app, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from hub.accounts import notifications
from hub.db import utcnow, utctoday
from hub.extensions import db
from hub.i18n import language_name
from hub.outbox import mail
from hub.publishing.models import Entry, EntryStatus, Product
from hub.publishing.queries import translation_queue_filtered
from hub.publishing.services import shown
from hub.sync.models import PartnerSource, RejectedRecord, SyncRun

bp = Blueprint("digests", __name__, url_prefix="/<lang>/follow")  # visitors (hub.digests.follow)
EXPIRING_DAYS = 60
LIST_LIMIT = 10
TRANSLATIONS_SCANNED = 500  # newest entries of the translation queue a digest looks at


def send_due(now=None):
    """Queue every digest that is due and has something to say, people's and visitors'
    (hub.digests.follow); returns how many."""
    from hub.digests import follow

    now = now or utcnow()
    sent = follow.send_due(now)
    for user, topic, frequency in notifications.due_digests(now):
        if not notifications.claim_digest(user, topic, frequency, now):
            continue
        language = notifications.language_of(user)
        since = now - notifications.PERIODS[frequency]
        content = BUILDERS[topic](user, language, since)
        if content:
            try:
                notifications.send(user, topic, f"mail/{topic}.html", **content)
            except mail.MailError:  # an address the hub cannot write to: the others go on
                current_app.logger.warning("no %s digest for account %s", topic, user.id)
            else:
                sent += 1
        db.session.commit()
    db.session.rollback()
    return sent


def _where(stmt, column, user):
    """``stmt`` of the coordinator's country, or of every one for an administrator."""
    return stmt.where(column == user.country_code) if user.country_code else stmt


def country_digest(user, language, since):
    today = utctoday()
    until = today + timedelta(days=EXPIRING_DAYS)
    expiring = _where(
        select(Product).where(
            Product.status == EntryStatus.PUBLISHED,
            Product.deleted_dt.is_(None),
            Product.valid_until >= today,
            Product.valid_until <= until,
        ),
        Product.country_code,
        user,
    )
    expiring_count = db.session.scalar(
        select(func.count()).select_from(expiring.with_only_columns(Product.id).subquery())
    )
    products = db.session.scalars(
        expiring.options(selectinload(Product.translations))
        .order_by(Product.valid_until, Product.id)
        .limit(LIST_LIMIT)
    ).all()
    refused = db.session.execute(
        _where(
            select(PartnerSource.id, PartnerSource.url, func.count(RejectedRecord.id))
            .join(RejectedRecord, RejectedRecord.source_id == PartnerSource.id)
            .where(RejectedRecord.created_dt >= since)
            .group_by(PartnerSource.id, PartnerSource.url),
            PartnerSource.country_code,
            user,
        )
        .order_by(func.count(RejectedRecord.id).desc(), PartnerSource.id)
        .limit(LIST_LIMIT)
    ).all()
    held = db.session.execute(
        _where(
            select(PartnerSource.id, PartnerSource.url, SyncRun.held)
            .join(SyncRun, SyncRun.source_id == PartnerSource.id)
            .where(SyncRun.status == "held", SyncRun.review.is_(None)),
            PartnerSource.country_code,
            user,
        )
        .order_by(SyncRun.id)
        .limit(LIST_LIMIT)
    ).all()
    if not (products or refused or held):
        return None

    def source_link(source_id):
        return url_for("sync.source", lang=language, source_id=source_id, _external=True)

    return {
        "expiring": [
            {
                "title": shown(product, language).text.title,
                "until": product.valid_until,
                "link": url_for("manage.entry", lang=language, entry_id=product.id, _external=True),
            }
            for product in products
        ],
        "expiring_count": expiring_count,
        "refused": [{"url": url, "count": n, "link": source_link(i)} for i, url, n in refused],
        "held": [{"url": url, "count": n, "link": source_link(i)} for i, url, n in held],
        "days": EXPIRING_DAYS,
    }


def translations(user, language, since):
    """The entries waiting in the languages ``user`` translates into: the newest
    ``TRANSLATIONS_SCANNED`` of the translation queue are looked at, the first ``LIST_LIMIT``
    of those waiting listed, and all of those counted."""
    wanted = notifications.translation_languages(user)
    entries = db.session.scalars(
        translation_queue_filtered(user).order_by(Entry.id.desc()).limit(TRANSLATIONS_SCANNED)
    ).all()
    waiting = []
    for entry in entries:
        by_language = {t.language: t for t in entry.translations}
        source = by_language.get(entry.source_language)
        codes = [
            code
            for code in wanted
            if code != entry.source_language and _wanting(by_language.get(code), source)
        ]
        if codes:
            waiting.append((entry, codes))
    if not waiting:
        return None
    items = [
        {
            "title": shown(entry, language).text.title,
            "languages": [language_name(code, language) for code in codes],
            "link": url_for("manage.entry", lang=language, entry_id=entry.id, _external=True),
        }
        for entry, codes in waiting[:LIST_LIMIT]
    ]
    return {"items": items, "count": len(waiting)}


def _wanting(translation, source):
    """Whether a language's text is missing, or made from an older original."""
    if translation is None or not translation.title:
        return True
    return source is not None and translation.source_fingerprint != source.fingerprint


BUILDERS = {"country_digest": country_digest, "translations": translations}


from hub.digests import routes  # noqa: E402,F401  (attach the pages to bp)
