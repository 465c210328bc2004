"""The ingest pipeline, shared by every connector (and the push endpoint).

Records stream through in batches. Each record is validated (the exchange-format schema, then the
same rules as a coordinator's form); an invalid one is quarantined with its reasons and the rest
go on. Valid records are written keyed by (source, partner id), skipped when their content
fingerprint is unchanged; what a batch creates, changes and deletes keeps its revisions
(``hub.history``, the source and run as who), inserted in one statement with the batch.
Each batch commits on its own; a snapshot is read whole before its first batch is written,
and a run that fails deletes nothing. The source's state (cursor, HTTP
validators) advances only after the whole run has committed.

Its parts: ``snapshots`` (reading a snapshot whole, and what it deletes or holds), ``lookups``
(entries by partner id), ``origins`` (entries that came from another hub), ``rows`` (writing
many rows at once) and ``runs`` (how a run ends: the source's state, schedule and failures).
"""

import functools
import json
from collections import deque
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

import connectors  # noqa: F401  (registers the built-in kinds)
from connectors.base import (
    INCOMPLETE,
    KEEP,
    ConnectorError,
    Tombstone,
    UnknownConnectorKind,
    get_connector,
)
from hub.db import utcnow
from hub.extensions import db
from hub.history import services as history
from hub.publishing import records
from hub.publishing import revisions as rv
from hub.publishing import services as publishing
from hub.publishing.exchange import COLLECTION_KINDS
from hub.publishing.models import Entry, EntryStatus, EntryTranslation
from hub.registry.regions import territory_name
from hub.sync import messages, prepare, snapshots
from hub.sync.fetcher import Fetcher, FetchError
from hub.sync.lookups import lookup, stored_fingerprints
from hub.sync.models import (
    PartnerSource,
    RejectedRecord,
    SyncRun,
)
from hub.sync.names import product_names
from hub.sync.origins import countries_of, held_elsewhere, origin_of, skip_by_origin
from hub.sync.rows import BATCH_SIZE, insert_rows
from hub.sync.runs import failed, succeeded
from hub.urls import origin_url

MAX_REASON_RECORD = 4000  # characters of a refused record kept for the administrators


class LeaseLost(Exception):
    """Another scheduler holds the source now: this run stops writing."""


class NotModified(Exception):
    """The source's document has not changed since the last run (HTTP 304)."""


@dataclass
class SourceClient:
    """What a connector gets to reach its source: the fetcher, with the source's validators
    for its main document."""

    fetcher: Fetcher
    source: PartnerSource
    stop_at: object = None  # the run's deadline, a UTC datetime
    # The main document is the whole dataset (``Connector.single_document``): the same bytes
    # as the last run that took all of them end the run as "not modified", like a 304.
    single_document: bool = False
    validators: dict = field(default_factory=dict)
    responses: list = field(default_factory=list)  # closed when the run ends
    # This hub's own address (HUB_BASE_URL; None if unset), for connectors that speak to other
    # hubs (the ``hub`` connector asks them to leave out what this hub sent them).
    hub_url: str | None = field(default_factory=lambda: origin_url())

    @functools.cached_property
    def vocabulary(self):
        """The hub's names for fields and values in each of its languages (``hub.sync.names``)."""
        return product_names()

    def close(self):
        for response in self.responses:
            response.close()

    def get(self, url, conditional=False):
        """Fetch ``url``; ``conditional=True`` for the source's main document: a 304 (or, for a
        single-document source, the bytes of the last complete run) ends the run as "not
        modified", and the new validators are saved when the run succeeds."""
        if self.stop_at is not None and utcnow() >= self.stop_at:
            raise FetchError("the run took longer than its deadline", url, code="run_deadline")
        if conditional:
            response = self.fetcher.get(
                url, etag=self.source.etag, last_modified=self.source.last_modified
            )
            self.responses.append(response)
            if response.not_modified:
                raise NotModified(url)
            digest = response.digest if self.single_document else None
            if digest is not None and digest == self.source.content_digest:
                raise NotModified(url)
            self.validators = {
                "etag": response.etag,
                "last_modified": response.last_modified,
                "content_digest": digest,
            }
            return response
        response = self.fetcher.get(url)
        self.responses.append(response)
        return response


def _make_fetcher():
    config = current_app.config
    return Fetcher(allow=config["FETCH_ALLOW"], deadline=config.get("FETCH_DEADLINE", 60))


def run_source(source_id, fetcher=None, deadline=None, keep_lease=None, started_by=None):
    """Sync one source now; returns its ``SyncRun``. With ``deadline`` (a timedelta), the run
    stops fetching once it has taken that long, and fails. ``keep_lease`` is called in each
    batch's transaction; it raises if the run must stop (the lease was lost). ``started_by``:
    who asked ("scheduler", "cli", "web"), kept with the run."""
    db.begin_write()
    source = db.session.get(PartnerSource, source_id)
    if source is None:
        raise LookupError(source_id)
    run = SyncRun(source_id=source.id, status="running", started_by=started_by)
    db.session.add(run)
    db.session.commit()
    own_fetcher = fetcher is None
    fetcher = fetcher or _make_fetcher()
    client = SourceClient(
        fetcher, source, stop_at=None if deadline is None else utcnow() + deadline
    )
    seen = set()
    preparer = prepare.Preparer(source.country_code, prepare.worker_after())
    try:
        connector = get_connector(source.kind)
        client.single_document = connector.single_document
        settings = connector.validate_settings(source.settings or {})
        reader = connector.read(client, {**settings, "url": source.url}, dict(source.state or {}))
        snapshot = connector.full_snapshot
        alive_before = snapshots.alive_count(source.id)
        # A snapshot is all or nothing: it is read to its end before a record is written, so
        # a document that breaks half-way (not UTF-8 after 3 000 rows) changes nothing.
        new_state = _consume(
            reader, source, run, seen, client, keep_lease, preparer, alive_before > 0, snapshot
        )
        cut_short = new_state.pop(INCOMPLETE, None)
        if cut_short is not None:
            # Pages left unread, datasets missing from a portal's list: nothing may be taken
            # as deleted, and the run says it was cut short.
            run.status, run.detail = "incomplete", _facts(cut_short)
        elif snapshot:
            # A complete snapshot: what the partner no longer lists was deleted there, unless
            # the run took nothing or the source would shrink sharply (then it is held).
            kept = new_state.pop(KEEP, None)
            snapshots.settle_missing(
                source, run, seen, alive_before, keep_lease, snapshots.kept_clause(kept)
            )
    except NotModified:
        run.status = "not_modified"
        succeeded(source, run, None, {})
    except (ConnectorError, FetchError, ValueError, LookupError, LeaseLost) as exc:
        said = _said(exc, source.kind)
        db.session.rollback()
        failed(source, run, str(exc), said=said)
    except Exception as exc:
        # Whatever broke, the run is recorded as failed and the next source still runs.
        db.session.rollback()
        current_app.logger.exception("sync of source %s failed", source_id)
        name = exc.__class__.__name__
        failed(
            source, run, f"internal error: {name}", said={"code": "internal_error", "error": name}
        )
    else:
        if run.status == "running":
            run.status = "partial" if run.rejected else "ok"
        succeeded(source, run, new_state, client.validators)
    finally:
        preparer.close()
        client.close()
        if own_fetcher:
            fetcher.close()
    return run


def _said(exc, kind):
    """Why a run failed, as facts for ``hub.sync.messages``."""
    if isinstance(exc, UnknownConnectorKind):
        return {"code": "unknown_kind", "kind": kind}
    if isinstance(exc, LeaseLost):
        return {"code": "lease_lost"}
    said = messages.of(exc)
    if said["code"] is None and isinstance(exc, ValueError):  # the connector's settings
        return {"code": "invalid_settings", "error": str(exc)}
    return said


def _facts(value):
    """A connector's account of a cut-short run, kept as JSON with the run (plain values)."""
    if not isinstance(value, dict):
        return {"reason": "unknown"}
    return {str(k): v for k, v in value.items() if isinstance(v, str | int | float | bool)}


def _consume(reader, source, run, seen, client, keep_lease, preparer, held=True, whole=False):
    """Read the connector's records in batches and write them; while one batch is written, the
    next is read and (in the worker, if the run has one) prepared. ``held``: whether the hub
    held anything alive of the source when the run began (else there is nothing for the
    worker to leave unchecked, and no need to ask). ``whole``: the document is read to its
    end before anything is written (``snapshots.read_whole``)."""
    batch, pending = [], deque()  # (batch, its preparation) in the order they were read

    def submit(batch):
        stored = functools.partial(stored_fingerprints, source, batch) if held else None
        pending.append((batch, preparer.submit(batch, stored)))

    def ahead(batch):
        if len(pending) >= snapshots.AHEAD or not preparer.working():
            return False
        submit(batch)
        return True

    if whole:
        reader = snapshots.read_whole(reader, client, preparer, ahead)

    def write(leave):
        while len(pending) > leave:
            items, answer = pending.popleft()
            ingest(source, items, run, seen, keep_lease, answer() if answer else None)

    while True:
        if client.stop_at is not None and utcnow() >= client.stop_at:
            raise FetchError("the run took longer than its deadline", code="run_deadline")
        try:
            item = next(reader)
        except StopIteration as stop:
            new_state = stop.value or {}
            break
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            submit(batch)
            write(leave=2)
            batch = []
    if batch:
        submit(batch)
    write(leave=0)
    return new_state


def ingest(source, items, run, seen=None, keep_lease=None, prepared=None):
    """Validate and write one batch of records and tombstones for ``source``; commits.
    ``prepared``: the batch's ``prepare.prepare``, if it was made elsewhere."""
    db.begin_write()
    if keep_lease is not None:
        keep_lease()  # in this transaction: the batch commits only while the lease is ours
    ids = list(dict.fromkeys(str(i.partner_id) for i in items if prepare.usable_id(i.partner_id)))
    usable = set(ids)
    # First the fingerprints only: a record that has not changed costs no more than this.
    known = {
        row.partner_id: row
        for row in lookup(
            (Entry.partner_id, Entry.deleted_dt, Entry.content_fingerprint), source.id, ids
        )
    }
    if prepared is None:
        stored = {k: row.content_fingerprint for k, row in known.items() if row.deleted_dt is None}
        prepared = prepare.prepare(items, source.country_code, stored)
    load = set()
    for item, ready in zip(items, prepared, strict=True):
        partner_id = str(item.partner_id)
        row = known.get(partner_id)
        if row is None:
            continue
        # A tombstone (nothing prepared) or a record that changes what is stored.
        if ready is None or row.deleted_dt is not None or row.content_fingerprint != ready.digest:
            load.add(partner_id)
    # Then whole entries, only those that change.
    existing = {}
    if load:
        entry_ids = [entry_id for (entry_id,) in lookup((Entry.id,), source.id, load)]
        existing = {
            e.partner_id: e
            for e in db.session.scalars(
                select(Entry)
                .where(Entry.id.in_(entry_ids))
                .options(selectinload(Entry.translations))
            )
        }
    elsewhere = held_elsewhere(source, items)
    seqs = publishing.reserve_change_seqs(len(items))
    now = utcnow()  # the batch's moment: what it creates is stamped with it
    new = {}  # entries this batch creates, inserted together at its end
    tally = _Tally(run.id)
    tally.fetched = len(items)
    for item, ready in zip(items, prepared, strict=True):
        partner_id = str(item.partner_id)
        if seen is not None and partner_id in usable:
            # The partner lists this id: its entry stays, even if this record is refused (it
            # is then kept as it was). A record with no usable id lists nothing.
            seen.add(partner_id)
        entry = existing.get(partner_id) or new.get(partner_id)
        if isinstance(item, Tombstone):
            if entry is not None and entry.deleted_dt is None:
                _tombstone(entry, next(seqs))
                tally.deleted += 1
                if isinstance(entry, Entry):
                    tally.revisions.append(_revision(entry.id, "delete", source, run, now))
            continue
        row = known.get(partner_id)
        if entry is None and row is not None and partner_id not in load:
            tally.unchanged += 1
            continue
        outcome = _write(source, item, entry, tally, ready, seqs, now, elsewhere)
        if isinstance(outcome, NewEntry):
            new[partner_id] = outcome
        elif isinstance(outcome, Entry):
            existing[partner_id] = outcome
    ids = _insert(new.values())
    for entry in new.values():
        entry_id = ids[entry.row["partner_id"]]
        tally.revisions.append(_revision(entry_id, "create", source, run, now))
        if entry.deleted_dt is not None:
            tally.revisions.append(_revision(entry_id, "delete", source, run, now))
    history.record_many(tally.revisions, insert_rows)
    for name in SyncRun.COUNTS:
        setattr(run, name, getattr(run, name) + getattr(tally, name))
    db.session.add(run)
    db.session.commit()


class _Tally:
    """A batch's counts, added to its run when it is written: an ORM attribute set for each
    record cost more than counting it."""

    __slots__ = ("id", "revisions", *SyncRun.COUNTS)

    def __init__(self, run_id):
        self.id = run_id
        self.revisions = []  # rows for hub.history.services.record_many
        for name in SyncRun.COUNTS:
            setattr(self, name, 0)


def _revision(entry_id, action, source, run, now, old=None):
    actor = {"source_id": source.id, "run_id": run.id}
    return history.row(rv.SUBJECT, entry_id, action, actor, old=old, now=now)


@dataclass
class NewEntry:
    """An entry a batch creates: its row and its translations' rows, inserted with the others
    of the batch in a few statements instead of one object and flush each."""

    kind: str
    row: dict
    texts: list
    head: str | None  # its item's head (hub.publishing.records.item_head), if published

    @property
    def content_fingerprint(self):
        return self.row["content_fingerprint"]

    @property
    def deleted_dt(self):
        return self.row.get("deleted_dt")


def _insert(new):
    """One executemany for the entries, one query for their ids, one executemany for their
    translations; returns the new entries' ids by partner id."""
    new = list(new)
    if not new:
        return {}
    by_kind = {}
    for entry in new:
        row = entry.row
        stored = records.live(row["status"], row["deleted_dt"])
        row["change_json"] = (
            records.finish_item(entry.head, row["change_seq"], row["updated_dt"])
            if stored
            else None
        )
        row["change_json_seq"] = row["change_seq"] if stored else None
        by_kind.setdefault(entry.kind, []).append(row)
    table = Entry.__table__
    for rows in by_kind.values():  # the same columns in every row of one kind
        insert_rows(table, rows)
    source_id = new[0].row["source_id"]
    partner_ids = [entry.row["partner_id"] for entry in new]
    ids = dict(lookup((Entry.partner_id, Entry.id), source_id, partner_ids).all())
    texts = []
    for entry in new:
        entry_id = ids[entry.row["partner_id"]]
        for text in entry.texts:
            text["entry_id"] = entry_id
            texts.append(text)
    insert_rows(EntryTranslation.__table__, texts)
    return ids


def _in_every_language(make):
    """``make()`` evaluated in each of the hub's languages: ``{"vi": …, "en": …, "ja": …}``."""
    result = {}
    for language in current_app.config["LANGUAGES"]:
        with force_locale(language):
            result[language] = make()
    return result


def _reject(source, item, run, reasons):
    """Quarantine a record; ``reasons`` is ``{language: {field: [messages]}}``."""
    data = item.data if isinstance(item.data, dict) else {}
    record = prepare.storable(json.loads(json.dumps(data, default=str)))
    if len(json.dumps(record)) > MAX_REASON_RECORD:
        record = {"truncated": json.dumps(record)[:MAX_REASON_RECORD]}
    db.session.add(
        RejectedRecord(
            run_id=run.id,
            source_id=source.id,
            partner_id=prepare.storable(str(item.partner_id))[:200],
            record=record,
            reasons=reasons,
        )
    )
    run.rejected += 1


def refusal(item, kind, held_kind=None):
    """Why ``item`` cannot be taken whatever its content, as ``{field: [messages]}`` in the
    current language, or None: a collection the hub does not have (``kind`` None), an id that
    is missing, too long or not valid Unicode, an id the hub holds for another kind of entry
    (``held_kind``)."""
    if kind is None:
        return {"collection": [
            _("“%(value)s” is not a collection of the hub.", value=item.collection)]}  # fmt: skip
    if not prepare.usable_id(item.partner_id):
        if prepare.has_lone_surrogate(str(item.partner_id)):
            return {"id": [_("This text is not valid Unicode (it has a lone surrogate).")]}
        return {"id": [_("A record needs an id of at most 200 characters.")]}
    if held_kind is not None and held_kind != kind:
        return {"collection": [_("This id belongs to another collection already.")]}
    return None


def _write(source, item, entry, run, ready, seqs, now, elsewhere=None):
    """Write one record (``ready``: its ``prepare.Prepared``) as ``entry`` (None, an ``Entry``
    or a ``NewEntry`` of this batch): the entry written, a new one to insert, or None.
    ``elsewhere``: the holders of the batch's origins (``held_elsewhere``)."""
    elsewhere = {} if elsewhere is None else elsewhere
    if entry is None and skip_by_origin(source, item, elsewhere):
        run.unchanged += 1
        return None
    kind = COLLECTION_KINDS.get(item.collection)
    held_kind = entry.kind if entry is not None else None
    if refusal(item, kind, held_kind) is not None:
        _reject(source, item, run, _in_every_language(lambda: refusal(item, kind, held_kind)))
        return None
    if entry is not None and entry.deleted_dt is None and entry.content_fingerprint == ready.digest:
        run.unchanged += 1
        return entry
    if not ready.checked:  # it was what the hub held, and no longer is (sent twice in a run)
        ready = prepare.prepare([item], source.country_code)[0]
    if not ready.valid:  # the reasons, in every language (the worker kept none)
        country = source.country_code
        reasons = _in_every_language(lambda: prepare.check(country, kind, item)[4])
        _reject(source, item, run, reasons)
        return None
    country = ready.values["country_code"]
    if country != source.country_code and country not in countries_of(source):
        _reject(source, item, run, _in_every_language(lambda: {"country": [
            _("This source may not carry entries of %(country)s.",
              country=territory_name(country))]}))  # fmt: skip
        return None
    if entry is None or isinstance(entry, NewEntry):
        if (origin := origin_of(item)) is not None:  # held from now on, in this batch too
            elsewhere.setdefault(origin, set()).add((source.id, str(item.partner_id)))
        return _new_entry(source, item, entry, run, ready, seqs, now)
    old = rv.changed_fields(entry, {**ready.values, "status": ready.status,
                                    "source_language": ready.source_language})  # fmt: skip
    entry.change_seq = next(seqs)
    entry.updated_dt = utcnow()
    entry.deleted_dt = None
    entry.source_language = ready.source_language
    run.updated += 1
    for key, value in ready.values.items():
        setattr(entry, key, value)
    entry.status = ready.status
    if ready.status == EntryStatus.PUBLISHED and entry.published_dt is None:
        entry.published_dt = utcnow()
    entry.content_fingerprint = ready.digest
    languages = {text["language"] for text in ready.texts}
    for translation in list(entry.translations):
        if translation.language not in languages:
            old.update(rv.changed_texts(entry.kind, translation, None, translation.language))
            entry.translations.remove(translation)
    held = {t.language: t for t in entry.translations}
    for text in ready.texts:
        current = held.get(text["language"])
        if current is not None and (current.fingerprint, current.source_fingerprint) == (
            text["fingerprint"],
            text["source_fingerprint"],
        ):
            continue  # the same text, made from the same source: it keeps the day it changed
        old.update(rv.changed_texts(entry.kind, current, text, text["language"]))
        publishing.apply_text_values(entry, {**text, "updated_dt": utcnow()})
    run.revisions.append(_revision(entry.id, "sync", source, run, now, old))
    return entry


def _new_entry(source, item, replaced, run, ready, seqs, now):
    """A new entry (or a second record in the batch for one): its rows, to insert at the end."""
    row = {
        "kind": ready.kind,
        "country_code": source.country_code,
        "status": ready.status,
        "source_language": ready.source_language,
        "origin": "partner",
        "source_id": source.id,
        "partner_id": str(item.partner_id),
        "content_fingerprint": ready.digest,
        "created_dt": now,
        "updated_dt": now,
        "published_dt": now if ready.status == EntryStatus.PUBLISHED else None,
        "deleted_dt": None,
        "change_seq": next(seqs),
        **ready.values,
    }
    if replaced is None:
        run.created += 1
    else:
        run.updated += 1
    for text in ready.texts:  # the batch's own copies, fresh from prepare
        text["updated_dt"] = now
    return NewEntry(ready.kind, row, ready.texts, ready.head)


def _tombstone(entry, seq):
    if isinstance(entry, NewEntry):
        entry.row.update(deleted_dt=utcnow(), updated_dt=utcnow(), change_seq=seq)
        return
    entry.deleted_dt = utcnow()
    entry.updated_dt = utcnow()
    entry.change_seq = seq
