"""Read-side queries of partner sync, for the health pages."""

from dataclasses import dataclass

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import load_only, selectinload

from hub.extensions import db
from hub.i18n import fold
from hub.publishing.models import Entry, EntryTranslation
from hub.sync.models import SyncRun


def activity_by_source(since_dt):
    """``{source id: (runs, refused records)}`` of the runs started at or after ``since_dt``, in
    one aggregate query. Refused records are counted from the runs' own counts: the records
    themselves are kept only for a source's latest runs."""
    rows = db.session.execute(
        select(SyncRun.source_id, func.count(), func.coalesce(func.sum(SyncRun.rejected), 0))
        .where(SyncRun.started_dt >= since_dt)
        .group_by(SyncRun.source_id)
    ).all()
    return {source_id: (runs, int(refused)) for source_id, runs, refused in rows}


ENTRIES_PAGE = 50  # entries of a source listed a page


@dataclass
class SourceEntries:
    """One page of a source's entries, newest first, with the cursor of the next page."""

    items: list
    next_before: int | None


def source_entries_statement(source_id, kind, live, text, before, limit):
    """The query of one page of the entries source ``source_id`` brought, by id from the
    newest, below id ``before``: of one ``kind`` if given, alive (``live`` True), tombstoned
    (False) or both (None); with ``text``, those whose partner id starts with it (in any case)
    or one of whose titles holds it (case and diacritics folded, as search does). Their titles
    come in one more query, and ``ix_entry_source`` (source_id, id) reads the page off in
    order, however many entries the source has (the index is partial on ``kind IS NOT NULL``,
    which the query states for it: see ``hub.publishing.models.Entry``)."""
    stmt = (
        select(Entry)
        .where(Entry.source_id == source_id, Entry.kind.is_not(None))
        .options(
            load_only(
                Entry.id,
                Entry.kind,
                Entry.status,
                Entry.origin,
                Entry.source_language,
                Entry.partner_id,
                Entry.updated_dt,
                Entry.deleted_dt,
            ),
            # What the title shown needs: which language, and whether it is outdated.
            selectinload(Entry.translations).load_only(
                EntryTranslation.language,
                EntryTranslation.title,
                EntryTranslation.fingerprint,
                EntryTranslation.source_fingerprint,
                EntryTranslation.updated_dt,
            ),
        )
    )
    if kind is not None:
        stmt = stmt.where(Entry.kind == kind)
    if live is not None:
        stmt = stmt.where(Entry.deleted_dt.is_(None) if live else Entry.deleted_dt.is_not(None))
    if text:
        titled = exists().where(
            EntryTranslation.entry_id == Entry.id,
            EntryTranslation.search_title.contains(fold(text), autoescape=True),
        )
        by_id = func.lower(Entry.partner_id).startswith(text.lower(), autoescape=True)
        stmt = stmt.where(or_(by_id, titled))
    if before is not None:
        stmt = stmt.where(Entry.id < before)
    return stmt.order_by(Entry.id.desc()).limit(limit + 1)


def source_entries(source_id, kind=None, live=None, text="", before=None, limit=ENTRIES_PAGE):
    """One page of the entries source ``source_id`` brought (``source_entries_statement``)."""
    statement = source_entries_statement(source_id, kind, live, text, before, limit)
    rows = db.session.scalars(statement).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return SourceEntries(rows, rows[-1].id if more else None)


def source_entry_counts(source_id):
    """``{kind: (alive, deleted)}`` of the entries source ``source_id`` brought, in one grouped
    query."""
    deleted = Entry.deleted_dt.is_not(None)
    rows = db.session.execute(
        select(Entry.kind, deleted, func.count())
        .where(Entry.source_id == source_id)
        .group_by(Entry.kind, deleted)
    ).all()
    counts = {}
    for kind, is_deleted, number in rows:
        alive, gone = counts.get(kind, (0, 0))
        counts[kind] = (alive, gone + number) if is_deleted else (alive + number, gone)
    return counts
