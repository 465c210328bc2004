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
* **In the partner's order.** The media that came from the partner follow its list's order
  (its cover first) at every run; a coordinator's own uploads come after them, in their order.
* **Pushes too.** A push (``POST /api/v1/ingest``) answers at once: its records' lists wait in
  its run (``SyncRun.detail["media_pending"]``, ``defer``) and the scheduler's
  ``fetch-pushed-media`` job (``fetch_pushed``) fetches them as a run's are, with the same
  limits and report; what the cap leaves waits for the job's next pass.
"""

import hashlib
from datetime import timedelta

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import or_, select, update

from connectors.base import Record
from hub.db import utcnow
from hub.extensions import db
from hub.media import services as media_services
from hub.publishing.exchange import MediaItemSchema
from hub.publishing.models import Entry
from hub.sync import messages
from hub.sync.fetcher import Fetcher, FetchError
from hub.sync.lookups import lookup
from hub.sync.models import PartnerSource, SyncRun

MAX_REPORTED = 50  # failures kept with a run; the count says how many there were
ITEMS = MediaItemSchema(many=True)
CHUNK = 500  # records whose entries and media are looked up together
COUNTS = ("added", "kept", "removed", "failures", "left")
PUSH_SECONDS = 10  # the scheduler looks for pushed media this often
PUSH_LEASE = timedelta(minutes=15)  # a pass that died is taken over after this
KEPT_FIELDS = ("type", "url", "mime", "sha256", "alts")  # what a pushed list waits with


class Wanted:
    """The media lists of a run's records, by partner id (the last one read wins). After
    ``fetch``, ``left`` holds the lists with files the cap left unfetched."""

    def __init__(self, lists=None):
        self.lists = dict(lists or {})
        self.left = {}

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


def fetch(source, run, wanted, fetcher, budget=None, keep_left=False):
    """Fetch and add the media ``wanted`` that the source's entries lack, at most ``budget``
    files (``HUB_SYNC_MEDIA_PER_RUN``), and put the partner's media in its order; the report
    goes to ``run.detail["media"]`` (committed, added to what the run already says). With
    ``keep_left`` (a push), the lists the cap left wait in ``run.detail["media_pending"]``
    instead of being counted as left for the next run. Never raises for a partner's file.
    Returns the report, with ``spent``: the files tried."""
    if not wanted:
        return None
    report = {"added": 0, "kept": 0, "removed": 0, "failed": [], "failures": 0, "left": 0}
    budget = per_run() if budget is None else budget
    start = budget
    pairs = list(wanted.lists.items())
    for first in range(0, len(pairs), CHUNK):
        chunk = dict(pairs[first : first + CHUNK])
        entries = dict(lookup((Entry.partner_id, Entry.id), source.id, chunk, alive=True).all())
        held = media_services.for_entries(entries.values())
        db.session.rollback()  # no transaction is held while files are fetched
        for partner_id, listed in chunk.items():
            entry_id = entries.get(partner_id)
            if entry_id is not None:  # else refused, or deleted
                budget = _record(source, entry_id, partner_id, listed, held, fetcher, report,
                                 budget, wanted)  # fmt: skip
    if keep_left:
        report["left"] = 0
    _save(run, report, wanted.left if keep_left else None)
    report["spent"] = start - budget
    return report


def _record(source, entry_id, partner_id, listed, held, fetcher, report, budget, wanted):
    """Fetch what one record lists and the entry lacks; returns the budget left."""
    try:
        items = ITEMS.load(listed if isinstance(listed, list) else [listed])
    except ValidationError:
        _failed(report, partner_id, None, {"code": "media_unreadable"})
        return budget
    have = held.get(entry_id, [])
    complete = True
    for item in items:
        if any(_same(m, item) for m in have):
            report["kept"] += 1
            continue
        if budget <= 0:
            report["left"] += 1
            wanted.left[partner_id] = listed
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
    _follow_partner(source, entry_id, items, have)
    return budget


def _same(medium, item):
    """Whether ``medium`` is the file ``item`` names: the same SHA-256, or the same URL."""
    return bool(item["sha256"] and medium.sha256 == item["sha256"]) or (
        medium.filename == item["url"][:255]
    )


def _follow_partner(source, entry_id, items, have):
    """The partner's media of the entry in the partner's order, before the others."""
    order = []
    for item in items:
        for medium in have:
            if medium.created_by_source_id == source.id and _same(medium, item):
                if medium.id not in order:
                    order.append(medium.id)
                break
    if order:
        media_services.follow_order(entry_id, order)


def _save(run, report, pending):
    said = {k: v for k, v in report.items() if v and (k in COUNTS or k == "failed")}
    if not said and pending is None:
        return
    db.begin_write()
    db.session.refresh(run)
    detail = dict(run.detail or {})
    if said:
        detail["media"] = _merged(detail.get("media"), said)
    if pending:
        detail["media_pending"] = pending
    elif pending is not None:
        detail.pop("media_pending", None)
    run.detail = detail
    db.session.commit()


def _merged(before, said):
    """A run's media report with another pass's (a push's media may take several)."""
    if not isinstance(before, dict):
        return said
    merged = {k: before.get(k, 0) + said.get(k, 0) for k in COUNTS}
    merged["failed"] = [*(before.get("failed") or ()), *(said.get("failed") or ())][:MAX_REPORTED]
    return {k: v for k, v in merged.items() if v}


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
        if medium.created_by_source_id != source.id or any(_same(medium, i) for i in items):
            continue
        media_services.remove(medium)
        have.remove(medium)
        removed += 1
    return removed


# ---------------------------------------------------------------------------- pushes


def _kept(listed):
    """A pushed list as it waits in its run: what fetching needs of each item (a hub's
    variants are left out). A list the schema cannot read is kept as it is, to be reported."""
    if not isinstance(listed, list) or not all(isinstance(i, dict) for i in listed):
        return listed
    return [{k: i[k] for k in KEPT_FIELDS if k in i} for i in listed]


def defer(source, run, items):
    """Note the media lists of a push's ``items`` in its ``run`` and make the push source due
    for ``fetch_pushed`` (in the caller's transaction, which the push commits)."""
    wanted = Wanted()
    for item in items:
        wanted.note(item)
    if not wanted:
        return False
    run.detail = {
        **(run.detail or {}),
        "media_pending": {k: _kept(v) for k, v in wanted.lists.items()},
    }
    source.next_run_dt = utcnow()
    return True


def _claim(source_id, owner, now):
    """Take a due push source for one pass: its lease, and its next pass set to when the lease
    ends (a pass that dies is taken over then). One conditional UPDATE, committed."""
    db.begin_write()
    result = db.session.execute(
        update(PartnerSource)
        .where(
            PartnerSource.id == source_id,
            PartnerSource.kind == "push",
            PartnerSource.next_run_dt <= now,
            or_(PartnerSource.lease_until_dt.is_(None), PartnerSource.lease_until_dt < now),
        )
        .values(lease_owner=owner, lease_until_dt=now + PUSH_LEASE, next_run_dt=now + PUSH_LEASE)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _release(source_id, owner, now, more):
    """End the pass: due again at once if lists still wait (``more``), else not due, unless a
    push made during the pass set an earlier moment (then it stays due)."""
    db.begin_write()
    db.session.execute(
        update(PartnerSource)
        .where(PartnerSource.id == source_id, PartnerSource.lease_owner == owner)
        .values(lease_owner=None, lease_until_dt=None)
        .execution_options(synchronize_session=False)
    )
    due = update(PartnerSource).where(PartnerSource.id == source_id)
    if more:
        due = due.values(next_run_dt=utcnow())
    else:
        due = due.where(PartnerSource.next_run_dt >= now + PUSH_LEASE).values(next_run_dt=None)
    db.session.execute(due.execution_options(synchronize_session=False))
    db.session.commit()


def fetch_pushed(owner=None, fetcher=None):
    """The scheduler's ``fetch-pushed-media`` job: for each enabled push source with pushed
    media waiting, one pass under its lease, its runs oldest first, at most
    ``HUB_SYNC_MEDIA_PER_RUN`` files in all (what is left waits for the next pass). Returns
    how many files were tried."""
    owner = owner or "media-push"
    now = utcnow()
    due = db.session.scalars(
        select(PartnerSource.id).where(
            PartnerSource.kind == "push",
            PartnerSource.enabled.is_(True),
            PartnerSource.next_run_dt <= now,
        )
    ).all()
    db.session.rollback()
    tried = 0
    own_fetcher = fetcher is None
    if own_fetcher and due:
        config = current_app.config
        fetcher = Fetcher(allow=config["FETCH_ALLOW"], deadline=config.get("FETCH_DEADLINE", 60))
    try:
        for source_id in due:
            if not _claim(source_id, owner, now):
                continue
            more = True
            try:
                spent, more = _pass(source_id, fetcher)
                tried += spent
            except Exception:
                db.session.rollback()
                current_app.logger.exception("pushed media of source %s failed", source_id)
            finally:
                _release(source_id, owner, now, more)
    finally:
        if own_fetcher and fetcher is not None:
            fetcher.close()
    return tried


def _pass(source_id, fetcher):
    """One pass over a push source's waiting lists: ``(files tried, whether some still wait)``."""
    source = db.session.get(PartnerSource, source_id)
    runs = db.session.scalars(
        select(SyncRun)
        .where(
            SyncRun.source_id == source_id,
            SyncRun.detail["media_pending"].as_string().is_not(None),
        )
        .order_by(SyncRun.id)
    ).all()
    budget, spent = per_run(), 0
    for run in runs:
        if budget - spent <= 0:
            return spent, True
        wanted = Wanted((run.detail or {}).get("media_pending"))
        if not wanted:
            _save(run, {}, {})
            continue
        report = fetch(source, run, wanted, fetcher, budget=budget - spent, keep_left=True)
        spent += report["spent"]
        if wanted.left:
            return spent, True
    return spent, False
