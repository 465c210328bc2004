"""Partner sources: adding, changing, pausing and removing them (administrators and the CLI)."""

import json
from urllib.parse import urlsplit

from babel.lists import format_list
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from connectors.base import UnknownConnectorKind, get_connector, kinds
from hub.accounts.services import record
from hub.db import utcnow
from hub.extensions import db
from hub.registry.models import Country
from hub.sync import messages, snapshots
from hub.sync.models import HeldDeletion, PartnerSource, SyncRun
from hub.sync.scheduler import starter

MIN_INTERVAL, MAX_INTERVAL = 5, 7 * 24 * 60

# What each status of a run is called on the pages and in the command line's summary.
STATUS_LABELS = {
    "running": _l("running"),
    "ok": _l("ok"),
    "partial": _l("partial"),
    "incomplete": _l("cut short"),
    "held": _l("needs review"),
    "failed": _l("failed"),
    "interrupted": _l("interrupted"),
    "not_modified": _l("not modified"),
}


def status_label(status):
    return str(STATUS_LABELS.get(status, status))


def run_detail(run):
    """What a run's counts do not say, in the reader's language (``hub.sync.messages``): why it
    failed, was interrupted, cut short or held, and which of the partner's photos and
    documents it could not take (``hub.sync.media``); None for other runs, and for a failure
    recorded before runs kept its facts (its ``error``, in English, says it then)."""
    facts = dict(run.detail or {})
    media = (
        " ".join(messages.media_report(facts.pop("media", None), facts.pop("media_pending", None)))
        or None
    )
    if run.status in ("failed", "interrupted"):
        return messages.describe(facts)
    if run.status == "incomplete":
        reason = facts.get("reason")
        code = reason if reason in ("max_pages", "short") else "cut_short"
    elif run.status == "held":
        code = "shrink" if facts.get("taken") else "held_nothing_taken"
    else:
        return media  # a partner's files the run could not take, if any
    said = messages.describe({**facts, "code": code})
    return " ".join(part for part in (said, media) if part) or None


def last_failure(source):
    """The source's last error in the reader's language, or None when its failed run kept no
    facts (recorded before runs did): the page then shows ``last_error`` as it is, in English.
    ``paused_reason`` is that same failure when the source was paused for it."""
    if not source.last_error:
        return None
    run = db.session.scalar(
        select(SyncRun)
        .where(SyncRun.source_id == source.id, SyncRun.status == "failed")
        .order_by(SyncRun.id.desc())
        .limit(1)
    )
    if run is None or run.error != source.last_error:
        return None
    return run_detail(run)


def pending_review(source_id):
    """The source's held run that waits for a decision, or None (only its latest run can)."""
    return db.session.scalar(
        select(SyncRun)
        .where(SyncRun.source_id == source_id, SyncRun.status == "held", SyncRun.review.is_(None))
        .order_by(SyncRun.id.desc())
        .limit(1)
    )


def decide_held(source_id, run_id, confirm, actor=None):
    """Confirm (delete the entries the run held back, those still alive) or keep them; returns
    how many were deleted. Only a held run still waiting, of this source, can be decided."""
    db.begin_write()
    run = db.session.scalar(
        select(SyncRun).where(
            SyncRun.id == run_id,
            SyncRun.source_id == source_id,
            SyncRun.status == "held",
            SyncRun.review.is_(None),
        )
    )
    if run is None:
        raise SourceError(_("This run no longer waits for a decision."))
    deleted = 0
    if confirm:
        ids = db.session.scalars(
            select(HeldDeletion.entry_id).where(HeldDeletion.run_id == run.id)
        ).all()
        deleted = snapshots.delete_entries(list(ids), {"source_id": source_id, "run_id": run.id})
        run.deleted += deleted
    run.review = "confirmed" if confirm else "kept"
    db.session.execute(delete(HeldDeletion).where(HeldDeletion.run_id == run.id))
    source = db.session.get(PartnerSource, source_id)
    record(
        actor,
        "source.confirm_deletion" if confirm else "source.keep_entries",
        "source",
        source_id,
        source.country_code,
        run=run.id,
        deleted=deleted,
    )
    db.session.commit()
    return deleted


class SourceError(Exception):
    """A source that cannot be saved; the message says why, in the requester's language."""


def _check(country_code, kind, url, settings, every):
    country_code = (country_code or "").strip().upper()
    if db.session.get(Country, country_code) is None:
        raise SourceError(
            _("There is no country with the code “%(code)s” in the registry.", code=country_code)
        )
    try:
        connector = get_connector(kind)
    except UnknownConnectorKind:
        raise SourceError(
            _(
                "“%(kind)s” is not a kind of source; use one of: %(kinds)s.",
                kind=kind,
                kinds=format_list(list(kinds()), "or", get_locale()),
            )
        ) from None
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 1000:
        raise SourceError(_("Enter a web address starting with http:// or https://."))
    if isinstance(settings, str):
        try:
            settings = json.loads(settings or "{}")
        except json.JSONDecodeError as exc:
            raise SourceError(messages.json_refusal(exc)) from None
    if not isinstance(settings, dict):
        raise SourceError(_("The settings must be a JSON object."))
    try:
        checked = connector.validate_settings(settings)
    except ValueError as exc:
        raise SourceError(messages.settings_refusal(exc, kind)) from None
    if kind == "hub" and checked.get("country") != country_code:
        # Entries take the source's country: the followed country must be the same one.
        raise SourceError(
            _('A hub source follows its own country: set "country": "%(code)s".', code=country_code)
        )
    for code in checked.get("countries", ()) if kind == "hub" else ():
        # The other countries a hub source may carry: each one the registry knows.
        if db.session.get(Country, code) is None:
            raise SourceError(
                _("There is no country with the code “%(code)s” in the registry.", code=code)
            )
    if not isinstance(every, int) or not MIN_INTERVAL <= every <= MAX_INTERVAL:
        raise SourceError(
            _("Sync every %(min)s to %(max)s minutes.", min=MIN_INTERVAL, max=MAX_INTERVAL)
        )
    return country_code, settings


def add_source(country_code, kind, url, settings=None, every=60, actor=None):
    """Add a partner source; its first sync is due at once."""
    db.begin_write()
    country_code, settings = _check(country_code, kind, url, settings or {}, every)
    source = PartnerSource(
        country_code=country_code, kind=kind, url=url, settings=settings,
        interval_minutes=every, next_run_dt=utcnow(),
    )  # fmt: skip
    db.session.add(source)
    db.session.flush()
    record(actor, "source.create", "source", source.id, country_code, kind=kind, url=url)
    db.session.commit()
    return source


def update_source(source_id, url, settings, every, actor=None, shrink_limit=None):
    """Change a source's address, settings, interval and (if given) ``shrink_limit``: the share
    of its entries, in per cent, one run may delete before it is held for review."""
    db.begin_write()
    source = _get(source_id)
    _country, settings = _check(source.country_code, source.kind, url, settings, every)
    if shrink_limit is not None:
        if not isinstance(shrink_limit, int) or not 0 <= shrink_limit <= 100:
            raise SourceError(_("The limit is a share from 0 to 100 per cent."))
        source.shrink_limit = shrink_limit
    if (source.url, source.settings) != (url, settings):
        # Another address or other settings: start again from scratch, not from the old
        # cursor or validators (a 304 would hide the change for ever).
        source.state, source.etag, source.last_modified = {}, None, None
        source.content_digest = None
    source.url, source.settings, source.interval_minutes = url, settings, every
    record(actor, "source.update", "source", source.id, source.country_code)
    db.session.commit()
    return source


def set_enabled(source_id, enabled, actor=None):
    """Resume (clearing the failure count and the reason it was paused) or pause a source."""
    db.begin_write()
    source = _get(source_id)
    source.enabled = enabled
    if enabled:
        source.paused_reason = None
        source.consecutive_failures = 0
        source.next_run_dt = utcnow()
    record(
        actor,
        "source.enable" if enabled else "source.pause",
        "source",
        source.id,
        source.country_code,
    )
    db.session.commit()
    return source


def remove_source(source_id, actor=None):
    """Remove a source and its run history; the entries it brought stay, marked as partner
    entries, until an administrator deletes them."""
    db.begin_write()
    source = _get(source_id)
    record(actor, "source.delete", "source", source.id, source.country_code, url=source.url)
    db.session.delete(source)
    db.session.commit()


def _get(source_id):
    source = db.session.get(PartnerSource, source_id)
    if source is None:
        raise SourceError(_("There is no partner source number %(id)s.", id=source_id))
    return source


def busy_message(source_id, holder):
    """Why source ``source_id`` was not synced: who holds its lease (``holder``, or None)."""
    kind = starter(holder)
    if kind == "scheduler":
        return _("Source %(id)s is already being synced by the scheduler.", id=source_id)
    if kind == "cli":
        return _("Source %(id)s is already being synced by the command line.", id=source_id)
    if kind == "web":
        return _(
            "Source %(id)s is already being synced by an administrator's “Sync now”.",
            id=source_id,
        )
    return _("Source %(id)s is already being synced.", id=source_id)
