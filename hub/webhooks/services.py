"""Registering, pausing, resuming and deleting webhooks; every change audited."""

import ipaddress
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from hub.accounts.services import record
from hub.extensions import db
from hub.publishing.models import Entry
from hub.registry.models import Country
from hub.sync.fetcher import AddressGuard, BlockedAddress
from hub.webhooks.delivery import new_secret
from hub.webhooks.models import Webhook


class WebhookError(Exception):
    """A refused change; the message says why, in the reader's language."""


def check_url(url):
    """The URL as it will be used, or ``WebhookError``: http or https, a host, at most 1000
    characters; an address written as an IP must be one the hub may reach."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError for a port that is not one)
    except ValueError:
        parts, host = None, None
    if not url or len(url) > 1000 or parts is None or parts.scheme not in ("http", "https"):
        raise WebhookError(_("Give an http or https address (at most 1000 characters)."))
    if not host or any(c.isspace() for c in url):
        raise WebhookError(_("“%(url)s” is not a web address.", url=url))
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return url
    try:
        AddressGuard(current_app.config["FETCH_ALLOW"]).check(host, str(ip))
    except BlockedAddress:
        raise WebhookError(
            _("%(host)s is not a public address: the hub does not send to it.", host=host)
        ) from None
    return url


def register(actor, url, country_code=None, from_start=False):
    """A new webhook and its secret (shown once). It gets the changes made from now on, or
    with ``from_start`` every change the feed holds."""
    url = check_url(url)
    country_code = (country_code or "").strip().upper() or None
    if country_code and db.session.get(Country, country_code) is None:
        raise WebhookError(_("Choose a country of the registry, or every country."))
    db.begin_write()
    cursor = 0 if from_start else db.session.scalar(select(func.max(Entry.change_seq))) or 0
    webhook = Webhook(
        url=url,
        secret=new_secret(),
        country_code=country_code,
        enabled=True,
        cursor=cursor,
        failures=0,
        created_by=actor.id if actor else None,
    )
    db.session.add(webhook)
    db.session.flush()
    record(actor, "webhook.create", "webhook", webhook.id, country_code, url=url)
    db.session.commit()
    return webhook


def get(webhook_id):
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None:
        raise LookupError(webhook_id)
    return webhook


def set_enabled(actor, webhook_id, enabled):
    """Pause or resume. Resuming starts afresh (no backoff, no failures counted) from where
    the deliveries stopped: the cursor is kept, so nothing is skipped."""
    db.begin_write()
    webhook = get(webhook_id)
    webhook.enabled = enabled
    if enabled:
        webhook.failures, webhook.next_attempt_dt, webhook.disabled_reason = 0, None, None
    record(
        actor, "webhook.enable" if enabled else "webhook.pause", "webhook", webhook.id,
        webhook.country_code, url=webhook.url,
    )  # fmt: skip
    db.session.commit()
    return webhook


def remove(actor, webhook_id):
    """Delete the webhook and its log."""
    db.begin_write()
    webhook = get(webhook_id)
    record(actor, "webhook.delete", "webhook", webhook.id, webhook.country_code, url=webhook.url)
    db.session.delete(webhook)
    db.session.commit()
    return webhook
