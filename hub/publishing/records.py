"""Each published entry's exchange-format record, kept as JSON text beside the entry.

The changes feed serves every published entry with all its translations; building those
records for a page of a thousand entries cost most of its time. So the record is written once,
when the entry changes, into ``entry.record_json``, together with the change sequence number it
was made for (``record_seq``). The feed uses the stored text only while ``record_seq`` equals the
entry's ``change_seq``: every write takes a new sequence number, so a record left behind by a
write that did not store one is never served; it is built again instead.

ORM writes store it on commit (``_store_records`` below); the sync, which inserts new entries
with core statements, stores it itself through ``record_json``. ``hub refresh-records`` fills
what older versions of the hub left empty.
"""

import json
from types import SimpleNamespace

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, selectinload

from hub.publishing.exchange import KIND_FIELDS, dump_record
from hub.publishing.models import Entry, EntryStatus

DUE = "hub.records_due"


def record_json(entry):
    """The entry's record as the feed writes it: compact UTF-8 JSON with sorted keys."""
    return json.dumps(dump_record(entry), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def live(status, deleted_dt):
    return status == EntryStatus.PUBLISHED and deleted_dt is None


def record_of_rows(row, texts):
    """The record JSON of an entry given as plain values: ``row`` (the entry's columns, a
    mapping) and ``texts`` (its translations' columns, mappings)."""
    values = {name: None for name in KIND_FIELDS[row["kind"]]}
    values.update(row)
    values["translations"] = sorted(
        (SimpleNamespace(**text) for text in texts), key=lambda t: t.language
    )
    return record_json(SimpleNamespace(**values))


@event.listens_for(Session, "before_flush")
def _note_changes(session, _context, _instances):
    due = session.info.setdefault(DUE, set())
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Entry) and inspect(obj).attrs.change_seq.history.has_changes():
            due.add(obj)


@event.listens_for(Session, "before_commit")
def _store_records(session):
    """Before the final flush of a commit: the record of every entry that took a new change
    sequence number in this transaction and is published."""
    pending = (*session.new, *session.dirty)
    if not session.info.get(DUE) and not any(isinstance(o, Entry) for o in pending):
        return
    session.flush()  # every change still pending is noted by _note_changes
    due = session.info.pop(DUE, None)
    if not due:
        return
    for entry in due:
        state = inspect(entry)
        if state.deleted or state.detached or state.was_deleted:
            continue
        if live(entry.status, entry.deleted_dt) and entry.record_seq != entry.change_seq:
            entry.record_json = record_json(entry)
            entry.record_seq = entry.change_seq
    session.flush()
    session.info.pop(DUE, None)  # storing the records took no new sequence number


@event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop(DUE, None)


def refresh(session, batch=500):
    """Store the record of every published entry that lacks a current one; the count."""
    count, after = 0, 0
    while True:
        entries = session.scalars(
            select(Entry)
            .where(
                Entry.id > after,
                Entry.status == EntryStatus.PUBLISHED,
                Entry.deleted_dt.is_(None),
                (Entry.record_seq.is_(None)) | (Entry.record_seq != Entry.change_seq),
            )
            .order_by(Entry.id)
            .limit(batch)
            .options(selectinload(Entry.translations))
        ).all()
        if not entries:
            return count
        for entry in entries:
            entry.record_json = record_json(entry)
            entry.record_seq = entry.change_seq
        after = entries[-1].id
        count += len(entries)
        session.commit()
