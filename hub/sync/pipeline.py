"""The ingest pipeline, shared by every connector (and the push endpoint).

Records stream through in batches. Each record is validated (the exchange-format schema, then the
same rules as a coordinator's form); an invalid one is quarantined with its reasons and the rest
go on. Valid records are written keyed by (source, partner id), skipped when their content
fingerprint is unchanged. Each batch commits on its own, so a run that fails later keeps what it
wrote and never deletes anything; the source's state (cursor, HTTP validators) advances only
after the whole run has committed. A source that fails several times in a row is paused.
"""

import functools
import json
import operator
import pickle
import sys
import tempfile
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import ARRAY, String, bindparam, delete, func, insert, select, true, update
from sqlalchemy.orm import selectinload

import connectors  # noqa: F401  (registers the built-in kinds)
from connectors.base import INCOMPLETE, KEEP, ConnectorError, Tombstone, get_connector
from hub.db import utcnow
from hub.extensions import db
from hub.publishing import records
from hub.publishing import services as publishing
from hub.publishing.exchange import COLLECTION_KINDS
from hub.publishing.models import Entry, EntryStatus, EntryTranslation
from hub.registry.regions import territory_name
from hub.sync import prepare
from hub.sync.fetcher import Fetcher, FetchError, RetryLater
from hub.sync.models import (
    PAUSE_AFTER_FAILURES,
    HeldDeletion,
    PartnerSource,
    RejectedRecord,
    SyncRun,
)
from hub.urls import origin_url

BATCH_SIZE = 500
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

    def close(self):
        for response in self.responses:
            response.close()

    def get(self, url, conditional=False):
        """Fetch ``url``; ``conditional=True`` for the source's main document: a 304 (or, for a
        single-document source, the bytes of the last complete run) ends the run as "not
        modified", and the new validators are saved when the run succeeds."""
        if self.stop_at is not None and utcnow() >= self.stop_at:
            raise FetchError("the run took longer than its deadline", url)
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
        alive_before = _alive_count(source.id)
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
            _settle_missing(source, run, seen, alive_before, keep_lease, _kept(kept))
    except NotModified:
        run.status = "not_modified"
        _succeeded(source, run, None, {})
    except (ConnectorError, FetchError, ValueError, LookupError, LeaseLost) as exc:
        db.session.rollback()
        _failed(source, run, str(exc))
    except Exception as exc:
        # Whatever broke, the run is recorded as failed and the next source still runs.
        db.session.rollback()
        current_app.logger.exception("sync of source %s failed", source_id)
        _failed(source, run, f"internal error: {exc.__class__.__name__}")
    else:
        if run.status == "running":
            run.status = "partial" if run.rejected else "ok"
        _succeeded(source, run, new_state, client.validators)
    finally:
        preparer.close()
        client.close()
        if own_fetcher:
            fetcher.close()
    return run


def _kept(clause):
    """A snapshot's ``keep(ids, ended_before)`` (connectors.base), checked: ``(ids, moment)``."""
    if not isinstance(clause, dict):
        return set(), None
    ids = clause.get("ids")
    ids = {str(i) for i in ids} if isinstance(ids, list) else set()
    try:
        moment = datetime.fromisoformat(clause.get("ended_before") or "")
    except (TypeError, ValueError):
        moment = None
    return ids, moment if moment is not None and moment.tzinfo is not None else None


def _facts(value):
    """A connector's account of a cut-short run, kept as JSON with the run (plain values)."""
    if not isinstance(value, dict):
        return {"reason": "unknown"}
    return {str(k): v for k, v in value.items() if isinstance(v, str | int | float | bool)}


def _alive_count(source_id):
    return db.session.scalar(
        select(func.count())
        .select_from(Entry)
        .where(Entry.source_id == source_id, Entry.deleted_dt.is_(None))
    )


AHEAD = 8  # batches prepared while a snapshot is still being read (their answers wait)


def _read_whole(reader, client, preparer=None, ahead=None):
    """The records of ``reader``, yielded only once it has read its whole document (kept in a
    temporary file meanwhile, a batch per pickle, so memory stays flat); its state is returned
    as the reader's is. A document that fails half-way fails before anything is written.

    Meanwhile nothing need wait: a document long enough for the ``preparer``'s worker starts
    it, and the first batches read are given to ``ahead(batch)``, which sends them to be
    prepared and says True, or False (and then no later batch is offered): the records of
    those it took are not yielded again."""
    with tempfile.TemporaryFile() as spool:
        batch, batches = [], 0
        while True:
            if client.stop_at is not None and utcnow() >= client.stop_at:
                raise FetchError("the run took longer than its deadline")
            try:
                batch.append(next(reader))
            except StopIteration as stop:
                state = stop.value or {}
                break
            if len(batch) >= BATCH_SIZE:
                if ahead is not None and ahead(batch):
                    batch = []
                    continue
                ahead = None  # the batches taken ahead are the first ones, in order
                pickle.dump(batch, spool, pickle.HIGHEST_PROTOCOL)
                batch, batches = [], batches + 1
                if preparer is not None:
                    preparer.expect(batches * BATCH_SIZE)
        spool.seek(0)
        for _ in range(batches):
            yield from pickle.load(spool)  # our own file, written just now
        yield from batch
    return state


def _consume(reader, source, run, seen, client, keep_lease, preparer, held=True, whole=False):
    """Read the connector's records in batches and write them; while one batch is written, the
    next is read and (in the worker, if the run has one) prepared. ``held``: whether the hub
    held anything alive of the source when the run began (else there is nothing for the
    worker to leave unchecked, and no need to ask). ``whole``: the document is read to its
    end before anything is written (``_read_whole``)."""
    batch, pending = [], deque()  # (batch, its preparation) in the order they were read

    def submit(batch):
        stored = functools.partial(_stored, source, batch) if held else None
        pending.append((batch, preparer.submit(batch, stored)))

    def ahead(batch):
        if len(pending) >= AHEAD or not preparer.working():
            return False
        submit(batch)
        return True

    if whole:
        reader = _read_whole(reader, client, preparer, ahead)

    def write(leave):
        while len(pending) > leave:
            items, answer = pending.popleft()
            ingest(source, items, run, seen, keep_lease, answer() if answer else None)

    while True:
        if client.stop_at is not None and utcnow() >= client.stop_at:
            raise FetchError("the run took longer than its deadline")
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


@functools.cache
def _by_partner_ids(dialect, columns, alive=False):
    """``columns`` of the source's entries whose partner ids are in the ``ids`` parameter
    (``source_id`` the other), built once for each dialect: the ids are bound when it runs (an
    IN list of 500 values built into each statement cost more than the query).

    On PostgreSQL each id is looked up on its own (a LATERAL subquery with LIMIT 1, which the
    planner can only run as a lookup in the unique index). Its statistics lag behind a sync
    that fills a table (until autovacuum analyzes it, and never with autovacuum off): with an
    IN list, or a plain join with the ids, it took the source's entries for few and went
    through all of them for each batch (1 s a query at 75 000 entries, 1 ms now)."""
    source_id = bindparam("source_id")
    if dialect != "postgresql":
        ids = bindparam("ids", expanding=True)
        stmt = select(*columns).where(Entry.source_id == source_id, Entry.partner_id.in_(ids))
        return stmt.where(Entry.deleted_dt.is_(None)) if alive else stmt
    ids = func.unnest(bindparam("ids", type_=ARRAY(String))).table_valued("partner_id")
    ids = ids.render_derived(name="ids")
    one = select(*columns).where(Entry.source_id == source_id)
    one = one.where(Entry.partner_id == ids.c.partner_id)
    if alive:
        one = one.where(Entry.deleted_dt.is_(None))
    found = one.limit(1).lateral("found")
    return select(*found.c).select_from(ids).join(found, true())


def _lookup(columns, source_id, ids, alive=False):
    stmt = _by_partner_ids(db.session.get_bind().dialect.name, columns, alive)
    return db.session.execute(stmt, {"source_id": source_id, "ids": list(ids)})


def _stored(source, items):
    """``{partner id: content fingerprint}`` of the source's live entries among ``items``."""
    ids = {str(item.partner_id) for item in items if prepare.usable_id(item.partner_id)}
    columns = (Entry.partner_id, Entry.content_fingerprint)
    return dict(_lookup(columns, source.id, ids, alive=True).all())


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
        for row in _lookup(
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
        entry_ids = [entry_id for (entry_id,) in _lookup((Entry.id,), source.id, load)]
        existing = {
            e.partner_id: e
            for e in db.session.scalars(
                select(Entry)
                .where(Entry.id.in_(entry_ids))
                .options(selectinload(Entry.translations))
            )
        }
    elsewhere = _held_elsewhere(source, items)
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
    _insert(new.values())
    for name in SyncRun.COUNTS:
        setattr(run, name, getattr(run, name) + getattr(tally, name))
    db.session.add(run)
    db.session.commit()


class _Tally:
    """A batch's counts, added to its run when it is written: an ORM attribute set for each
    record cost more than counting it."""

    __slots__ = ("id", *SyncRun.COUNTS)

    def __init__(self, run_id):
        self.id = run_id
        for name in SyncRun.COUNTS:
            setattr(self, name, 0)


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
    translations."""
    new = list(new)
    if not new:
        return
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
        _insert_rows(table, rows)
    source_id = new[0].row["source_id"]
    partner_ids = [entry.row["partner_id"] for entry in new]
    ids = dict(_lookup((Entry.partner_id, Entry.id), source_id, partner_ids).all())
    texts = []
    for entry in new:
        entry_id = ids[entry.row["partner_id"]]
        for text in entry.texts:
            text["entry_id"] = entry_id
            texts.append(text)
    _insert_rows(EntryTranslation.__table__, texts)


def _insert_rows(table, rows):
    """Insert ``rows`` (mappings with the same keys) with the driver's own executemany (COPY on
    PostgreSQL): each value goes through its column type's conversion, as SQLAlchemy would put
    it, without SQLAlchemy's handling of every row's parameters (a fifth of a sync's time)."""
    connection = db.session.connection()
    dialect = connection.dialect
    sql, positional, order, processors = _insert_statement(table, tuple(rows[0]), dialect)
    converts = [(index, _remembered(processor)) for index, processor in processors]
    get = operator.itemgetter(*order)
    values = []
    for row in rows:
        value = list(get(row)) if len(order) > 1 else [get(row)]
        for index, convert in converts:
            value[index] = convert(value[index])
        values.append(tuple(value))
    if dialect.name == "postgresql":
        _copy_rows(connection, table, order, values)
        return
    if not positional:
        values = [dict(zip(order, row, strict=True)) for row in values]
    connection.exec_driver_sql(sql, values)


def _copy_rows(connection, table, keys, values):
    """PostgreSQL: ``values`` (tuples of converted values, in the order of ``keys``) through
    COPY, in the session's transaction: psycopg's executemany sends each row as a statement of
    its own, which took two thirds of a sync's time there."""
    quote = connection.dialect.identifier_preparer.quote
    table_name = connection.dialect.identifier_preparer.format_table(table)
    columns = ", ".join(quote(table.c[key].name) for key in keys)
    cursor = connection.connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY {table_name} ({columns}) FROM STDIN") as copy:
        for row in values:
            copy.write_row(row)


@functools.lru_cache(maxsize=64)
def _insert_statement(table, names, dialect):
    """``INSERT`` of ``names`` into ``table`` for ``dialect``, compiled once: its SQL, whether
    its parameters are positional, their order, and ``(position, bind processor)`` for the
    columns whose values the driver needs converted."""
    compiled = table.insert().compile(dialect=dialect, column_keys=list(names))
    order = tuple(compiled.positiontup if compiled.positional else names)
    if any(compiled.binds[key].key != key for key in order):  # never for a plain insert
        raise RuntimeError("unexpected bind names")
    processors = tuple(
        (index, processor)
        for index, name in enumerate(order)
        if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    )
    return compiled.string, compiled.positional, order, processors


def _remembered(convert):
    """``convert`` computed once per distinct value and type (a batch shares its moment and
    many dates; True and 1 are equal but not alike in JSON); values that cannot be remembered
    (lists for JSON) are converted each time."""
    memo = {}

    def remembered(value):
        key = (type(value), value)
        try:
            return memo[key]
        except KeyError:
            memo[key] = result = convert(value)
            return result
        except TypeError:
            return convert(value)

    return remembered


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
    ``elsewhere``: the holders of the batch's origins (``_held_elsewhere``)."""
    elsewhere = {} if elsewhere is None else elsewhere
    if entry is None and _skip_by_origin(source, item, elsewhere):
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
    if country != source.country_code and country not in _countries_of(source):
        _reject(source, item, run, _in_every_language(lambda: {"country": [
            _("This source may not carry entries of %(country)s.",
              country=territory_name(country))]}))  # fmt: skip
        return None
    if entry is None or isinstance(entry, NewEntry):
        if (origin := _origin_of(item)) is not None:  # held from now on, in this batch too
            elsewhere.setdefault(origin, set()).add((source.id, str(item.partner_id)))
        return _new_entry(source, item, entry, run, ready, seqs, now)
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
            entry.translations.remove(translation)
    held = {t.language: t for t in entry.translations}
    for text in ready.texts:
        current = held.get(text["language"])
        if current is not None and (current.fingerprint, current.source_fingerprint) == (
            text["fingerprint"],
            text["source_fingerprint"],
        ):
            continue  # the same text, made from the same source: it keeps the day it changed
        publishing.apply_text_values(entry, {**text, "updated_dt": utcnow()})
    return entry


def _origin_of(item):
    """``(hub, id)``: the origin a record gives (``"origin"`` in the exchange format), or None."""
    data = getattr(item, "data", None)  # a tombstone has none
    origin = data.get("origin") if isinstance(data, dict) else None
    if not isinstance(origin, dict):
        return None
    hub, origin_id = origin.get("hub"), origin.get("id")
    if not isinstance(hub, str) or not isinstance(origin_id, str) or not hub or not origin_id:
        return None
    return hub.rstrip("/"), origin_id


def _skip_by_origin(source, item, elsewhere):
    """Whether a record the source's entries do not hold yet is left aside for its origin:
    first published here (it came back round a ring of hubs), or held already by another of
    the hub's live entries (it reached the hub by another way first, or under another id of
    the same source: that entry stays the one, and what brought it keeps it up to date)."""
    if isinstance(item, Tombstone) or (origin := _origin_of(item)) is None:
        return False
    if origin[0] == origin_url():
        return True
    return bool(elsewhere.get(origin, set()) - {(source.id, str(item.partner_id))})


def _held_elsewhere(source, items):
    """``{origin: {(source id, partner id) of each live entry holding it}}`` for the origins
    that ``items`` give: one query for each hub they name, through ``ix_entry_origin``."""
    by_hub = {}
    for item in items:
        if (origin := _origin_of(item)) is not None:
            by_hub.setdefault(origin[0], set()).add(origin[1])
    held = {}
    statement = _by_origins(db.session.get_bind().dialect.name) if by_hub else None
    for hub, ids in by_hub.items():
        for row in db.session.execute(statement, {"hub": hub, "ids": sorted(ids)}):
            held.setdefault((hub, row.origin_id), set()).add((row.source_id, row.partner_id))
    return held


MAX_HOLDERS = 100


@functools.cache
def _by_origins(dialect):
    """The live entries whose origin is the ``hub`` parameter and one of the ``ids``, built
    once for each dialect; on PostgreSQL each id is looked up on its own, in the index, as in
    ``_by_partner_ids`` (a table a sync fills has no statistics yet)."""
    columns = (Entry.origin_id, Entry.source_id, Entry.partner_id)
    hub, alive = Entry.origin_hub == bindparam("hub"), Entry.deleted_dt.is_(None)
    if dialect != "postgresql":
        return select(*columns).where(
            hub, Entry.origin_id.in_(bindparam("ids", expanding=True)), alive
        )
    ids = func.unnest(bindparam("ids", type_=ARRAY(String))).table_valued("origin_id")
    ids = ids.render_derived(name="ids")
    found = select(*columns).where(hub, Entry.origin_id == ids.c.origin_id, alive)
    # The LIMIT keeps the subquery a lookup for each id (without one the planner joins the
    # ids with all of the hub's entries); an origin is held by one entry, a few at most.
    found = found.limit(MAX_HOLDERS).lateral("found")
    return select(*found.c).select_from(ids).join(found, true())


def _countries_of(source):
    """The countries a source's entries may be filed under: its own, and for a hub source
    those its ``countries`` setting lists."""
    extra = (source.settings or {}).get("countries") if source.kind == "hub" else None
    extra = extra if isinstance(extra, list) else ()
    return {source.country_code, *(c.upper() for c in extra if isinstance(c, str))}


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


def _settle_missing(source, run, seen, alive_before, keep_lease=None, kept=(set(), None)):
    """After a complete snapshot: the source's live entries it did not list are deleted, as
    the partner deleted them, unless the run took no record at all (an empty document, or one
    whose every record was refused) or they are more than the source's ``shrink_limit`` per
    cent of what it held: then the run is held, nothing is deleted, and the entries wait for
    the source's administrators to confirm or keep them (``hub.sync.services.decide_held``).
    ``kept``: what the snapshot says it leaves out on purpose (``_kept``), never deleted."""
    if not alive_before:
        return
    db.begin_write()
    if keep_lease is not None:
        keep_lease()
    alive = db.session.execute(
        select(Entry.id, Entry.partner_id, Entry.__table__.c.ends_utc).where(
            Entry.source_id == source.id, Entry.deleted_dt.is_(None)
        )
    )
    kept_ids, ended_before = kept
    gone = [
        row.id
        for row in alive
        if row.partner_id not in seen
        and row.partner_id not in kept_ids
        and not (ended_before and row.ends_utc is not None and row.ends_utc < ended_before)
    ]
    taken = run.created + run.updated + run.unchanged
    if gone and would_hold(source, len(gone), alive_before, run):
        for start in range(0, len(gone), BATCH_SIZE):
            db.session.execute(
                insert(HeldDeletion),
                [{"run_id": run.id, "entry_id": i} for i in gone[start : start + BATCH_SIZE]],
            )
        run.status, run.held = "held", len(gone)
        run.detail = {"reason": "shrink", "held": len(gone), "alive": alive_before,
                      "limit": source.shrink_limit, "taken": taken}  # fmt: skip
    elif gone:
        run.deleted += delete_entries(gone)
    # This run speaks for the partner now: a decision still waiting on an older run is moot.
    older = select(SyncRun.id).where(
        SyncRun.source_id == source.id, SyncRun.id != run.id, SyncRun.status == "held",
        SyncRun.review.is_(None),
    )  # fmt: skip
    db.session.execute(delete(HeldDeletion).where(HeldDeletion.run_id.in_(older)))
    db.session.execute(update(SyncRun).where(SyncRun.id.in_(older)).values(review="superseded"))
    db.session.add(run)
    db.session.commit()


def would_hold(source, gone, alive, counts):
    """Whether deleting ``gone`` of the source's ``alive`` entries must wait for review: the
    run took no record (``counts``: a run or a mapping of its counts), or it would take away
    more than the source's ``shrink_limit`` per cent."""
    get = counts.get if isinstance(counts, dict) else functools.partial(getattr, counts)
    taken = get("created") + get("updated") + get("unchanged")
    return not taken or gone * 100 > source.shrink_limit * alive


def delete_entries(entry_ids):
    """Tombstone the live entries among ``entry_ids`` (each with a new change number), in
    batches, in the session's transaction; returns how many were deleted."""
    now = utcnow()
    alive = []
    for start in range(0, len(entry_ids), BATCH_SIZE):
        alive += db.session.scalars(
            select(Entry.id).where(
                Entry.id.in_(entry_ids[start : start + BATCH_SIZE]), Entry.deleted_dt.is_(None)
            )
        ).all()
    seqs = publishing.reserve_change_seqs(len(alive))
    for start in range(0, len(alive), BATCH_SIZE):
        db.session.execute(
            update(Entry),
            [
                {"id": entry_id, "change_seq": next(seqs), "deleted_dt": now, "updated_dt": now}
                for entry_id in alive[start : start + BATCH_SIZE]
            ],
        )
    return len(alive)


KEEP_REFUSALS_OF_RUNS = 10


def _prune_refusals(source_id):
    """Keep the refused records of the source's latest runs only: the same bad rows are
    refused again by every run, and the table must not grow for ever."""
    keep = (
        select(SyncRun.id)
        .where(SyncRun.source_id == source_id)
        .order_by(SyncRun.id.desc())
        .limit(KEEP_REFUSALS_OF_RUNS)
        .subquery()
    )
    db.session.execute(
        delete(RejectedRecord).where(
            RejectedRecord.source_id == source_id, RejectedRecord.run_id.not_in(select(keep.c.id))
        )
    )


# A partner's Retry-After moves the next run no sooner than this: one that keeps answering
# "in a second" is not asked again every few seconds.
RETRY_LATER_AT_LEAST = timedelta(minutes=1)


def _retry_at(exc):
    """The moment a partner named in the ``RetryLater`` ``exc`` (or one of its causes), or None."""
    for _depth in range(10):  # a chain of causes is short (and must not loop)
        if exc is None or isinstance(exc, RetryLater):
            break
        exc = exc.__cause__ or exc.__context__
    return exc.retry_at if isinstance(exc, RetryLater) else None


def _succeeded(source, run, new_state, validators):
    db.begin_write()
    now = utcnow()
    if new_state is not None:
        source.state = new_state
    if validators:
        source.etag = validators.get("etag")
        source.last_modified = validators.get("last_modified")
        # Only a run that took every record may stand for the document: one that refused
        # some must try them again (the registry or the hub's rules may have changed since).
        # A held run stands for its document too: the same bytes again change nothing, and the
        # decision on what it held stays with the administrators.
        complete = run.status == "ok" or (run.status == "held" and not run.rejected)
        source.content_digest = validators.get("content_digest") if complete else None
    source.consecutive_failures = 0
    source.last_success_dt = now
    source.next_run_dt = now + timedelta(minutes=source.interval_minutes)
    run.finished_dt = now
    db.session.add_all([source, run])
    _prune_refusals(source.id)
    db.session.commit()


def _failed(source, run, message, retry_at=None):
    """Record the run as failed. When the partner asked to be asked again later (a
    ``RetryLater``, given as ``retry_at`` or being handled now), the next run is at that moment
    and the failure does not count towards pausing the source: the partner is there, and busy."""
    if retry_at is None:
        retry_at = _retry_at(sys.exc_info()[1])
    db.begin_write()
    now = utcnow()
    run = db.session.merge(run)
    source = db.session.merge(source)
    run.status = "failed"
    run.error = message
    run.finished_dt = now
    if retry_at is None:
        source.consecutive_failures += 1
    source.last_error = message
    source.last_error_dt = now
    if retry_at is not None:
        source.next_run_dt = max(retry_at, now + RETRY_LATER_AT_LEAST)
    else:
        source.next_run_dt = now + timedelta(minutes=source.interval_minutes)
    if source.consecutive_failures >= PAUSE_AFTER_FAILURES:
        source.enabled = False
        source.paused_reason = message
    db.session.commit()
