"""One batch of a sync run, or of a push to ``POST /api/v1/ingest``, validated and written.

Each record is validated (the exchange-format schema, then the same rules as a coordinator's
form); an invalid one is quarantined with its reasons in every language and the rest go on.
Valid records are written keyed by (source, partner id), skipped when their content fingerprint
is unchanged; the entries a batch creates are inserted together at its end, and what it creates,
changes and deletes keeps its revisions (``hub.history``, the source and run as who), inserted
in one statement with the batch. Each batch commits on its own."""

import json
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from connectors.base import Tombstone
from hub.db import utcnow
from hub.extensions import db
from hub.history import services as history
from hub.publishing import records
from hub.publishing import revisions as rv
from hub.publishing import services as publishing
from hub.publishing.exchange import COLLECTION_KINDS
from hub.publishing.models import Entry, EntryStatus, EntryTranslation
from hub.registry.regions import territory_name
from hub.sync import prepare
from hub.sync.lookups import entries, lookup
from hub.sync.models import RejectedRecord, SyncRun
from hub.sync.origins import countries_of, held_elsewhere, origin_of, skip_by_origin
from hub.sync.rows import insert_numbered, insert_rows

MAX_REASON_RECORD = 4000  # characters of a refused record kept for the administrators


def ingest(source, items, run, seen=None, keep_lease=None, prepared=None, fresh=False):
    """Validate and write one batch of records and tombstones for ``source``; commits.
    ``prepared``: the batch's ``prepare.prepare``, if it was made elsewhere. ``fresh``: the
    source had no entry when its run began, and only the run writes its entries (under its
    lease): an id not in ``seen`` (the ids of the run's batches before this one) has none, and
    is not looked up. A first sync then asks nothing of its entries; were one there after all,
    the unique index on (source, partner id) would fail the batch, and the run, not lose it."""
    db.begin_write()
    if keep_lease is not None:
        keep_lease()  # in this transaction: the batch commits only while the lease is ours
    ids = list(dict.fromkeys(str(i.partner_id) for i in items if prepare.usable_id(i.partner_id)))
    usable = set(ids)
    if fresh and seen is not None:
        ids = [partner_id for partner_id in ids if partner_id in seen]
    # First the fingerprints only: a record that has not changed costs no more than this.
    columns = (Entry.partner_id, Entry.deleted_dt, Entry.content_fingerprint)
    known = {row.partner_id: row for row in lookup(columns, source.id, ids)} if ids else {}
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
    existing = entries(source.id, load)
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
    if ids:
        numbers = sorted(ids.values())
        one_run = numbers[-1] - numbers[0] + 1 == len(numbers)  # SQLite's, as a rule
        created = select(Entry.id).where(
            Entry.id.between(numbers[0], numbers[-1]) if one_run else Entry.id.in_(numbers)
        )
        actor = {"source_id": source.id, "run_id": run.id}
        history.record_each(rv.SUBJECT, created, "create", actor, now)
    for entry in new.values():
        if entry.deleted_dt is not None:
            entry_id = ids[entry.row["partner_id"]]
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
    stamps = {}  # a batch's entries share its moment
    for entry in new:
        row = entry.row
        stored = records.live(row["status"], row["deleted_dt"])
        if stored and (stamp := stamps.get(row["updated_dt"])) is None:
            stamp = stamps[row["updated_dt"]] = records.item_time(row["updated_dt"])
        row["change_json"] = (
            records.finish_item(entry.head, row["change_seq"], stamp) if stored else None
        )
        row["change_json_seq"] = row["change_seq"] if stored else None
        by_kind.setdefault(entry.kind, []).append(row)
    # The same columns in every row of one kind; the ids in the order inserted, or looked up.
    numbers = insert_numbered(Entry.__table__, list(by_kind.values()))
    if numbers is not None:
        inserted = (row["partner_id"] for rows in by_kind.values() for row in rows)
        ids = dict(zip(inserted, numbers, strict=True))
    else:
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
    """Quarantine a record; ``reasons`` is ``{language: {field: [messages]}}``, kept with the
    partner's own names of the record's fields if it gives them (``"columns"``: a CSV's
    headers), for the pages to name the fields so (``hub.sync.messages.reason_lines``)."""
    if columns := getattr(item, "columns", None):
        reasons = {**reasons, "columns": prepare.storable(dict(columns))}
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
    ``elsewhere``: the holders of the batch's origins (``held_elsewhere``), None when no
    record of the batch gives one."""
    if elsewhere is not None and entry is None and skip_by_origin(source, item, elsewhere):
        run.unchanged += 1
        return None
    kind = COLLECTION_KINDS.get(item.collection)
    held_kind = entry.kind if entry is not None else None
    # prepare found the collection and the id usable when it gave the record a kind.
    if (ready.kind is None or held_kind not in (None, kind)) and refusal(
        item, kind, held_kind
    ) is not None:
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
        # Its origin is held from now on, in this batch too.
        if elsewhere is not None and (origin := origin_of(item)) is not None:
            elsewhere.setdefault(origin, set()).add((source.id, str(item.partner_id)))
        return _new_entry(source, item, entry, run, ready, seqs, now)
    if entry.deleted_dt is None and holds(entry, item, ready):
        entry.content_fingerprint = ready.digest  # the same content, sent in another form
        run.unchanged += 1
        return entry
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


def holds(entry, item, ready):
    """Whether ``entry`` holds what ``item`` (``ready``: its ``prepare.Prepared``, valid) would
    write, though their fingerprints differ: the record came in another form (keys in another
    order, spaces the rules trim) or was fingerprinted by an older version of the hub. It
    is then unchanged: no new change number, no revision. A record that lists media is never
    taken as unchanged so: its list (their order) is the partner's, and is not held here."""
    if isinstance(item.data, dict) and "media" in item.data:
        return False
    values = {**ready.values, "status": ready.status, "source_language": ready.source_language}
    if any(getattr(entry, key) != value for key, value in values.items()):
        return False
    held = {t.language: (t.fingerprint, t.source_fingerprint) for t in entry.translations}
    return held == {t["language"]: (t["fingerprint"], t["source_fingerprint"]) for t in ready.texts}


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
