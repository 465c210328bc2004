"""Each published entry's item in the changes feed, kept as JSON text beside the entry.

The changes feed serves every published entry with all its translations; building those items
for a page of a thousand entries cost most of its time. So the item is written once, when the
entry changes, into ``entry.change_json`` (the item without its ``id``, which new entries do not
have yet when it is made), together with the change sequence number it was made for
(``change_json_seq``). The feed uses the stored text only while ``change_json_seq`` equals the
entry's ``change_seq``: every write takes a new sequence number, so an item left behind by a
write that did not store one is never served; it is built again instead.

ORM writes store it on commit (``_store_items`` below); the sync, which inserts new entries with
core statements, stores it itself through ``item_of_rows``. ``hub migrate`` fills what older
versions of the hub left empty (``refresh``).
"""

from datetime import UTC
from types import SimpleNamespace

import orjson
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, selectinload

from hub.publishing.exchange import COLLECTION_KINDS, KIND_FIELDS, dump_record
from hub.publishing.models import Entry, EntryStatus

DUE = "hub.records_due"


COLLECTION_OF = {kind: collection for collection, kind in COLLECTION_KINDS.items()}


def _dumps(value):
    # Compact UTF-8 with sorted keys, in a sixth of the time json.dumps(value,
    # ensure_ascii=False, separators=(",", ":"), sort_keys=True) takes; the same bytes but for
    # some floats, written in another form of the same number (1e16 for 1e+16).
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def dumps_bytes(value):
    """``value`` as compact UTF-8 JSON bytes with sorted keys."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def change_json(entry, deleted=False):
    """The entry's item in the changes feed, without its ``id``: compact UTF-8 JSON with sorted
    keys, the record in the exchange format unless ``deleted``."""
    return finish_item(_head(entry, deleted), entry.change_seq, entry.updated_dt)


def _head(entry, deleted):
    item = {
        "collection": COLLECTION_OF[entry.kind],
        "country": entry.country_code,
        "deleted": deleted,
    }
    if not deleted:
        item["record"] = dump_record(entry)
    return _dumps(item)[:-1]


def finish_item(head, seq, updated_dt):
    """An item from its head (``item_head``) and what is known only when it is written. In
    sorted order "seq" and "updated_dt" come after every key of the head, so they close it.
    ``updated_dt`` may be given as ``item_time``'s text already (a batch's one moment)."""
    stamp = updated_dt if isinstance(updated_dt, str) else item_time(updated_dt)
    return f'{head},"seq":{seq:d},"updated_dt":"{stamp}"}}'


def item_time(moment):
    """A moment as the items write it."""
    return moment.astimezone(UTC).isoformat()


def with_id(entry_id, item):
    """A stored item (UTF-8 bytes) with its ``id`` put in front, as the changes feed serves it
    (the feed's query does the same in SQL)."""
    return b'{"id":%d,%s' % (entry_id, item[1:])


def live(status, deleted_dt):
    return status == EntryStatus.PUBLISHED and deleted_dt is None


def _entry_of_rows(row, texts):
    values = {name: None for name in KIND_FIELDS[row["kind"]]}
    values.update(row)
    values["translations"] = sorted(
        (SimpleNamespace(**text) for text in texts), key=lambda t: t.language
    )
    return SimpleNamespace(**values)


def item_of_rows(row, texts):
    """``change_json`` of an entry given as plain values: ``row`` (the entry's columns, a
    mapping) and ``texts`` (its translations' columns, mappings)."""
    return change_json(_entry_of_rows(row, texts), not live(row["status"], row["deleted_dt"]))


def item_head(row, texts):
    """The item of a live entry given as plain values, all but its "seq" and "updated_dt", for
    ``finish_item``: ``row`` needs only the entry's kind, country, status, source language and
    the kind's fields (a synced record's head is made before it is written, see
    ``hub.sync.prepare``)."""
    return _head(_entry_of_rows(row, texts), deleted=False)


@event.listens_for(Session, "before_flush")
def _note_changes(session, _context, _instances):
    due = session.info.setdefault(DUE, set())
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Entry) and inspect(obj).attrs.change_seq.history.has_changes():
            due.add(obj)


@event.listens_for(Session, "before_commit")
def _store_items(session):
    """Before the final flush of a commit: the item of every entry that took a new change
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
        if live(entry.status, entry.deleted_dt) and entry.change_json_seq != entry.change_seq:
            entry.change_json = change_json(entry)
            entry.change_json_seq = entry.change_seq
    session.flush()
    session.info.pop(DUE, None)  # storing the items took no new sequence number


@event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop(DUE, None)


def refresh(session, batch=500):
    """Store the item of every published entry that lacks a current one; the count."""
    from hub.extensions import db

    count, after = 0, 0
    while True:
        db.begin_write()  # each batch read and written in one writing transaction
        entries = session.scalars(
            select(Entry)
            .where(
                Entry.id > after,
                Entry.status == EntryStatus.PUBLISHED,
                Entry.deleted_dt.is_(None),
                Entry.change_json_seq.is_(None) | (Entry.change_json_seq != Entry.change_seq),
            )
            .order_by(Entry.id)
            .limit(batch)
            .options(selectinload(Entry.translations))
        ).all()
        if not entries:
            session.commit()  # the last, empty batch's writing transaction: its lock let go
            return count
        for entry in entries:
            entry.change_json = change_json(entry)
            entry.change_json_seq = entry.change_seq
        after = entries[-1].id
        count += len(entries)
        session.commit()
