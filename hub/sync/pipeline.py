"""The ingest pipeline, shared by every connector (and the push endpoint).

Records stream through in batches. Each record is validated (the exchange-format schema, then the
same rules as a coordinator's form); an invalid one is quarantined with its reasons and the rest
go on. Valid records are written keyed by (source, partner id), skipped when their content
fingerprint is unchanged. Each batch commits on its own, so a run that fails later keeps what it
wrote and never deletes anything; the source's state (cursor, HTTP validators) advances only
after the whole run has committed. A source that fails several times in a row is paused.
"""

import hashlib
import json
import operator
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import selectinload

import connectors  # noqa: F401  (registers the built-in kinds)
from connectors.base import ConnectorError, Tombstone, get_connector
from hub.db import utcnow
from hub.extensions import db
from hub.publishing import records
from hub.publishing import services as publishing
from hub.publishing.exchange import COLLECTION_KINDS, RECORD_SCHEMAS, translate_errors
from hub.publishing.fastload import record_loader
from hub.publishing.models import Entry, EntryStatus, EntryTranslation
from hub.sync.fetcher import Fetcher, FetchError
from hub.sync.models import PAUSE_AFTER_FAILURES, PartnerSource, RejectedRecord, SyncRun

BATCH_SIZE = 500
load_record = record_loader(RECORD_SCHEMAS)  # marshmallow only where a record needs it
STALE_FINGERPRINT = "0" * 64
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


def fingerprint(data):
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _make_fetcher():
    config = current_app.config
    return Fetcher(allow=config["FETCH_ALLOW"], deadline=config.get("FETCH_DEADLINE", 60))


def run_source(source_id, fetcher=None, deadline=None, keep_lease=None):
    """Sync one source now; returns its ``SyncRun``. With ``deadline`` (a timedelta), the run
    stops fetching once it has taken that long, and fails. ``keep_lease`` is called in each
    batch's transaction; it raises if the run must stop (the lease was lost)."""
    db.begin_write()
    source = db.session.get(PartnerSource, source_id)
    if source is None:
        raise LookupError(source_id)
    run = SyncRun(source_id=source.id, status="running")
    db.session.add(run)
    db.session.commit()
    own_fetcher = fetcher is None
    fetcher = fetcher or _make_fetcher()
    client = SourceClient(
        fetcher, source, stop_at=None if deadline is None else utcnow() + deadline
    )
    seen = set()
    try:
        connector = get_connector(source.kind)
        client.single_document = connector.single_document
        settings = connector.validate_settings(source.settings or {})
        reader = connector.read(client, {**settings, "url": source.url}, dict(source.state or {}))
        new_state = _consume(reader, source, run, seen, client, keep_lease)
        # A complete snapshot: what the partner no longer lists was deleted there.
        if connector.full_snapshot and new_state.pop("_complete", True):
            run.deleted += _delete_missing(source, seen)
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
        run.status = "partial" if run.rejected else "ok"
        _succeeded(source, run, new_state, client.validators)
    finally:
        client.close()
        if own_fetcher:
            fetcher.close()
    return run


def _consume(reader, source, run, seen, client=None, keep_lease=None):
    batch = []
    while True:
        if client is not None and client.stop_at is not None and utcnow() >= client.stop_at:
            raise FetchError("the run took longer than its deadline")
        try:
            item = next(reader)
        except StopIteration as stop:
            new_state = stop.value or {}
            break
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            ingest(source, batch, run, seen, keep_lease)
            batch = []
    if batch:
        ingest(source, batch, run, seen, keep_lease)
    return new_state


def ingest(source, items, run, seen=None, keep_lease=None):
    """Validate and write one batch of records and tombstones for ``source``; commits."""
    db.begin_write()
    if keep_lease is not None:
        keep_lease()  # in this transaction: the batch commits only while the lease is ours
    ids = list(dict.fromkeys(str(item.partner_id) for item in items))
    # First the fingerprints only: a record that has not changed costs no more than this.
    known = {
        row.partner_id: row
        for row in db.session.execute(
            select(Entry.partner_id, Entry.deleted_dt, Entry.content_fingerprint).where(
                Entry.source_id == source.id, Entry.partner_id.in_(ids)
            )
        )
    }
    digests, load = [], set()
    for item in items:
        partner_id = str(item.partner_id)
        row = known.get(partner_id)
        if isinstance(item, Tombstone):
            digests.append(None)
            if row is not None:
                load.add(partner_id)
            continue
        digest = fingerprint({"collection": item.collection, **dict(item.data)})
        digests.append(digest)
        if row is not None and (row.deleted_dt is not None or row.content_fingerprint != digest):
            load.add(partner_id)
    # Then whole entries, only those that change.
    existing = {}
    if load:
        existing = {
            e.partner_id: e
            for e in db.session.scalars(
                select(Entry)
                .where(Entry.source_id == source.id, Entry.partner_id.in_(load))
                .options(selectinload(Entry.translations))
            )
        }
    seqs = publishing.reserve_change_seqs(len(items))
    now = utcnow()  # the batch's moment: what it creates is stamped with it
    new = {}  # entries this batch creates, inserted together at its end
    for item, digest in zip(items, digests, strict=True):
        run.fetched += 1
        partner_id = str(item.partner_id)
        if seen is not None:
            seen.add(partner_id)
        entry = existing.get(partner_id) or new.get(partner_id)
        if isinstance(item, Tombstone):
            if entry is not None and entry.deleted_dt is None:
                _tombstone(entry, next(seqs))
                run.deleted += 1
            continue
        row = known.get(partner_id)
        if entry is None and row is not None and partner_id not in load:
            run.unchanged += 1
            continue
        outcome = _write(source, item, entry, run, digest, seqs, now)
        if isinstance(outcome, NewEntry):
            new[partner_id] = outcome
        elif isinstance(outcome, Entry):
            existing[partner_id] = outcome
    _insert(new.values())
    db.session.add(run)
    db.session.commit()


@dataclass
class NewEntry:
    """An entry a batch creates: its row and its translations' rows, inserted with the others
    of the batch in a few statements instead of one object and flush each."""

    kind: str
    row: dict
    texts: list

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
        row["change_json"] = records.item_of_rows(row, entry.texts) if stored else None
        row["change_json_seq"] = row["change_seq"] if stored else None
        by_kind.setdefault(entry.kind, []).append(row)
    table = Entry.__table__
    for rows in by_kind.values():  # the same columns in every row of one kind
        _insert_rows(table, rows)
    source_id = new[0].row["source_id"]
    ids = dict(
        db.session.execute(
            select(Entry.partner_id, Entry.id).where(
                Entry.source_id == source_id,
                Entry.partner_id.in_([entry.row["partner_id"] for entry in new]),
            )
        ).all()
    )
    _insert_rows(
        EntryTranslation.__table__,
        [
            {**text, "entry_id": ids[entry.row["partner_id"]]}
            for entry in new
            for text in entry.texts
        ],
    )


def _insert_rows(table, rows):
    """Insert ``rows`` (mappings with the same keys) with the driver's own executemany: each
    value goes through its column type's conversion, as SQLAlchemy would put it, without
    SQLAlchemy's handling of every row's parameters (a fifth of a sync's time)."""
    connection = db.session.connection()
    names = list(rows[0])
    compiled = table.insert().compile(dialect=connection.dialect, column_keys=names)
    dialect = connection.dialect
    order = compiled.positiontup if compiled.positional else names
    if any(compiled.binds[key].key != key for key in order):  # never for a plain insert
        raise RuntimeError("unexpected bind names")
    converts = [
        (index, _remembered(processor))
        for index, name in enumerate(order)
        if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    ]
    get = operator.itemgetter(*order)
    values = []
    for row in rows:
        value = list(get(row)) if len(order) > 1 else [get(row)]
        for index, convert in converts:
            value[index] = convert(value[index])
        values.append(tuple(value))
    if not compiled.positional:
        values = [dict(zip(order, row, strict=True)) for row in values]
    connection.exec_driver_sql(compiled.string, values)


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
    record = json.loads(json.dumps(item.data, default=str)) if isinstance(item.data, dict) else {}
    if len(json.dumps(record)) > MAX_REASON_RECORD:
        record = {"truncated": json.dumps(record)[:MAX_REASON_RECORD]}
    db.session.add(
        RejectedRecord(
            run_id=run.id,
            source_id=source.id,
            partner_id=str(item.partner_id)[:200],
            record=record,
            reasons=reasons,
        )
    )
    run.rejected += 1


def _check(source, kind, item):
    """Validate a record: ``(values, texts, source_language, status, errors)``, the errors
    (``{field: [messages]}``) in the current language."""
    try:
        data = load_record(kind, item.data)
    except ValidationError as exc:
        return None, None, None, None, translate_errors(exc.messages)
    errors, texts = {}, {}
    translations = data.pop("translations")
    stale = {language for language, text in translations.items() if text.get("outdated")}
    for language, text in translations.items():
        texts[language], text_errors = publishing.clean_text(kind, language, text)
        errors.update({f"translations.{language}.{k}": [v] for k, v in text_errors.items()})
    source_language = data.pop("source_language")
    status = data.pop("status")
    if source_language not in texts:
        errors["translations"] = [
            _("There is no text in the source language (%(language)s).", language=source_language)
        ]
    rule_errors = {}
    values = publishing.FIELD_RULES[kind](data, source.country_code, rule_errors)
    errors.update({k: [v] for k, v in rule_errors.items()})
    for language in stale & set(texts):
        texts[language]["_outdated"] = True
    return values, texts, source_language, status, errors


def _write(source, item, entry, run, digest, seqs, now):
    kind = COLLECTION_KINDS.get(item.collection)
    if kind is None:
        _reject(source, item, run, _in_every_language(lambda: {"collection": [
            _("“%(value)s” is not a collection of the hub.", value=item.collection)]}))  # fmt: skip
        return None
    if not item.partner_id or len(str(item.partner_id)) > 200:
        _reject(source, item, run, _in_every_language(lambda: {"id": [
            _("A record needs an id of at most 200 characters.")]}))  # fmt: skip
        return None
    if entry is not None and entry.kind != kind:
        _reject(source, item, run, _in_every_language(lambda: {"collection": [
            _("This id belongs to another collection already.")]}))  # fmt: skip
        return None
    if entry is not None and entry.deleted_dt is None and entry.content_fingerprint == digest:
        run.unchanged += 1
        return entry
    values, texts, source_language, status, errors = _check(source, kind, item)
    if errors:
        _reject(source, item, run, _in_every_language(lambda: _check(source, kind, item)[4]))
        return None
    values.pop("policies", None)
    values.pop("programme_id", None)
    if entry is None or isinstance(entry, NewEntry):
        return _new_entry(
            source, item, entry, run, digest, seqs, values, texts, status, source_language, now
        )
    entry.change_seq = next(seqs)
    entry.updated_dt = utcnow()
    entry.deleted_dt = None
    entry.source_language = source_language
    run.updated += 1
    for key, value in values.items():
        setattr(entry, key, value)
    entry.status = status
    if status == EntryStatus.PUBLISHED and entry.published_dt is None:
        entry.published_dt = utcnow()
    entry.content_fingerprint = digest
    for translation in list(entry.translations):
        if translation.language not in texts:
            entry.translations.remove(translation)
    for language, text, made_from in _with_origins(texts, source_language):
        publishing.apply_text(entry, language, text, None, made_from)
    return entry


def _with_origins(texts, source_language):
    """``(language, text, fingerprint of the source it was made from)`` for an entry's clean
    texts, the source first. A translation the partner marks as outdated stays outdated here:
    it keeps a source fingerprint that matches no version of the text."""
    source = texts.pop(source_language)
    source.pop("_outdated", None)
    current = publishing.fingerprint(source)
    yield source_language, source, None
    for language, text in texts.items():
        yield language, text, STALE_FINGERPRINT if text.pop("_outdated", False) else current


def _new_entry(
    source, item, replaced, run, digest, seqs, values, texts, status, source_language, now
):
    """A new entry (or a second record in the batch for one): its rows, to insert at the end."""
    kind = COLLECTION_KINDS[item.collection]
    row = {
        "kind": kind,
        "country_code": source.country_code,
        "status": status,
        "source_language": source_language,
        "origin": "partner",
        "source_id": source.id,
        "partner_id": str(item.partner_id),
        "content_fingerprint": digest,
        "created_dt": now,
        "updated_dt": now,
        "published_dt": now if status == EntryStatus.PUBLISHED else None,
        "deleted_dt": None,
        "change_seq": next(seqs),
        **values,
    }
    rows = [
        {**publishing.text_values(language, text, None, made_from), "updated_dt": now}
        for language, text, made_from in _with_origins(texts, source_language)
    ]
    if replaced is None:
        run.created += 1
    else:
        run.updated += 1
    return NewEntry(kind, row, rows)


def _tombstone(entry, seq):
    if isinstance(entry, NewEntry):
        entry.row.update(deleted_dt=utcnow(), updated_dt=utcnow(), change_seq=seq)
        return
    entry.deleted_dt = utcnow()
    entry.updated_dt = utcnow()
    entry.change_seq = seq


def _delete_missing(source, seen):
    """After a complete snapshot: what the partner no longer lists is deleted here too. An
    empty snapshot deletes nothing: a partner's glitch must not empty the hub."""
    if not seen:
        return 0
    db.begin_write()
    alive = db.session.execute(
        select(Entry.id, Entry.partner_id).where(
            Entry.source_id == source.id, Entry.deleted_dt.is_(None)
        )
    )
    gone = [row.id for row in alive if row.partner_id not in seen]
    seqs, now = publishing.reserve_change_seqs(len(gone)), utcnow()
    for start in range(0, len(gone), BATCH_SIZE):
        db.session.execute(
            update(Entry),
            [
                {"id": entry_id, "change_seq": next(seqs), "deleted_dt": now, "updated_dt": now}
                for entry_id in gone[start : start + BATCH_SIZE]
            ],
        )
    count = len(gone)
    db.session.commit()
    return count


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
        complete = run.status == "ok"
        source.content_digest = validators.get("content_digest") if complete else None
    source.consecutive_failures = 0
    source.last_success_dt = now
    source.next_run_dt = now + timedelta(minutes=source.interval_minutes)
    run.finished_dt = now
    db.session.add_all([source, run])
    _prune_refusals(source.id)
    db.session.commit()


def _failed(source, run, message):
    db.begin_write()
    now = utcnow()
    run = db.session.merge(run)
    source = db.session.merge(source)
    run.status = "failed"
    run.error = message
    run.finished_dt = now
    source.consecutive_failures += 1
    source.last_error = message
    source.last_error_dt = now
    source.next_run_dt = now + timedelta(minutes=source.interval_minutes)
    if source.consecutive_failures >= PAUSE_AFTER_FAILURES:
        source.enabled = False
        source.paused_reason = message
    db.session.commit()
