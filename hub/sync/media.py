"""Partners' photos and documents, fetched after a run's records are written.

The records a connector yields may carry ``media`` (the exchange format's list: another hub's
changes feed, a JSON Feed's ``image`` and ``attachments``, a calendar's ``ATTACH`` and
``IMAGE``). The run notes them as it reads (``Wanted``); once every batch is written, ``fetch``
fetches what the entries lack, outside any write transaction, through the run's safe fetcher
(the private-address guard, the deadline), at most ``HUB_SYNC_MEDIA_PER_RUN`` files a run and
no more than ``HUB_MEDIA_MAX_BYTES`` each, and hands the bytes to ``hub.media.services.add``:
validated and processed as an upload is.

* **Deduplicated by SHA-256.** A file given with its SHA-256 that the entry already has
  (another hub's media carry it) is not fetched again; bytes the entry already holds are not
  stored again. A file without one is known by its URL (kept as the medium's file name): the
  same URL is not fetched again.
* **Byte for byte.** The bytes fetched are the medium's original; a SHA-256 the partner gave
  must match them, so a hub following a hub holds the same file as the hub it follows.
* **Never deleted on doubt.** A file that fails (an HTTP error, too large, not a photo or a
  PDF, a private address, a SHA-256 that does not match) keeps the record and what it had, and
  the run's report says why (``SyncRun.detail["media"]``, put into words in the reader's
  language by ``hub.sync.messages``). The partner's media the partner no longer lists are
  removed only when its list for the record was read whole and every file of it is held.
"""

import hashlib

from flask import current_app
from marshmallow import ValidationError

from connectors.base import Record
from hub.extensions import db
from hub.media import services as media_services
from hub.publishing.exchange import MediaItemSchema
from hub.publishing.models import Entry
from hub.sync import messages
from hub.sync.fetcher import FetchError
from hub.sync.lookups import lookup

MAX_REPORTED = 50  # failures kept with a run; the count says how many there were
ITEMS = MediaItemSchema(many=True)


class Wanted:
    """The media lists of a run's records, by partner id (the last one read wins)."""

    def __init__(self):
        self.lists = {}

    def note(self, item):
        if not isinstance(item, Record) or not isinstance(item.data, dict):
            return
        listed = item.data.get("media")
        if listed is not None:
            self.lists[str(item.partner_id)] = listed

    def __bool__(self):
        return bool(self.lists)


def per_run():
    return current_app.config.get("SYNC_MEDIA_PER_RUN", 200)


def fetch(source, run, wanted, fetcher, stop_at=None):
    """Fetch and add the media ``wanted`` that the source's entries lack; the report goes to
    ``run.detail["media"]`` (committed). Never raises for a partner's file."""
    if not wanted:
        return None
    entries = dict(lookup((Entry.partner_id, Entry.id), source.id, wanted.lists, alive=True).all())
    held = media_services.for_entries(entries.values())
    db.session.rollback()  # no transaction is held while files are fetched
    report = {"added": 0, "kept": 0, "removed": 0, "failed": [], "failures": 0, "left": 0}
    budget = per_run()
    for partner_id, listed in wanted.lists.items():
        entry_id = entries.get(partner_id)
        if entry_id is None:  # refused, or deleted
            continue
        try:
            items = ITEMS.load(listed if isinstance(listed, list) else [listed])
        except ValidationError:
            _failed(report, partner_id, None, {"code": "media_unreadable"})
            continue
        have = held.get(entry_id, [])
        complete = True
        for item in items:
            if _held(item, have):
                report["kept"] += 1
                continue
            if budget <= 0:
                report["left"] += 1
                complete = False
                continue
            budget -= 1
            medium, problem = _fetch_one(source, entry_id, item, fetcher)
            if problem is not None:
                _failed(report, partner_id, item["url"], problem)
                complete = False
            elif medium is not None:
                have.append(medium)
                report["added"] += 1
        if complete:
            report["removed"] += _remove_unlisted(source, have, items)
    said = {k: v for k, v in report.items() if v}
    if said:
        db.session.refresh(run)
        run.detail = {**(run.detail or {}), "media": said}
        db.session.commit()
    return report


def _held(item, have):
    return any(
        (item["sha256"] and m.sha256 == item["sha256"]) or m.filename == item["url"][:255]
        for m in have
    )


def _failed(report, partner_id, url, problem):
    report["failures"] += 1
    if len(report["failed"]) < MAX_REPORTED:
        report["failed"].append({"id": partner_id, "url": url, **problem})


def _fetch_one(source, entry_id, item, fetcher):
    """``(medium or None, problem or None)`` for one of a partner's files."""
    url = item["url"]
    limit = current_app.config.get("MEDIA_MAX_BYTES", 20 * 1024 * 1024)
    saved = fetcher.max_bytes
    fetcher.max_bytes = min(saved, limit)
    try:
        with fetcher.get(url) as response:
            data = response.content
    except FetchError as exc:
        return None, {"code": "media_fetch", "error": messages.of(exc)}
    finally:
        fetcher.max_bytes = saved
    digest = hashlib.sha256(data).hexdigest()
    if item["sha256"] and digest != item["sha256"]:
        return None, {"code": "media_sha256", "sha256": digest}
    try:
        medium = media_services.add(
            entry_id, url, data, alts=_alts(item), actor={"source_id": source.id}
        )
    except media_services.MediaRefused as exc:
        db.session.rollback()
        return None, {"code": "media_refused", "reason": exc.reason}
    return medium, None


def _alts(item):
    languages = current_app.config["LANGUAGES"]
    return {k: v[: media_services.MAX_ALT_CHARS] for k, v in item["alts"].items() if k in languages}


def _remove_unlisted(source, have, items):
    """Remove the source's media of an entry that its whole list no longer names."""
    removed = 0
    for medium in list(have):
        if medium.created_by_source_id != source.id or _listed(medium, items):
            continue
        media_services.remove(medium)
        have.remove(medium)
        removed += 1
    return removed


def _listed(medium, items):
    return any(
        (item["sha256"] and item["sha256"] == medium.sha256) or item["url"][:255] == medium.filename
        for item in items
    )
