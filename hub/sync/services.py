"""Partner sources: adding, changing, pausing and removing them (administrators and the CLI)."""

import json
from urllib.parse import urlsplit

from flask_babel import gettext as _

from connectors.base import UnknownConnectorKind, get_connector, kinds
from hub.accounts.services import record
from hub.db import utcnow
from hub.extensions import db
from hub.registry.models import Country
from hub.sync.models import PartnerSource

MIN_INTERVAL, MAX_INTERVAL = 5, 7 * 24 * 60


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
                kinds=", ".join(kinds()),
            )
        ) from None
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 1000:
        raise SourceError(_("Enter a web address starting with http:// or https://."))
    if isinstance(settings, str):
        try:
            settings = json.loads(settings or "{}")
        except json.JSONDecodeError as exc:
            raise SourceError(
                _("The settings are not valid JSON: %(error)s", error=exc.msg)
            ) from None
    if not isinstance(settings, dict):
        raise SourceError(_("The settings must be a JSON object."))
    try:
        checked = connector.validate_settings(settings)
    except ValueError as exc:
        raise SourceError(
            _("The settings do not suit a %(kind)s source: %(error)s", kind=kind, error=exc)
        ) from None
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


def update_source(source_id, url, settings, every, actor=None):
    source = _get(source_id)
    _country, settings = _check(source.country_code, source.kind, url, settings, every)
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
    source = _get(source_id)
    record(actor, "source.delete", "source", source.id, source.country_code, url=source.url)
    db.session.delete(source)
    db.session.commit()


def _get(source_id):
    source = db.session.get(PartnerSource, source_id)
    if source is None:
        raise SourceError(_("There is no partner source number %(id)s.", id=source_id))
    return source
