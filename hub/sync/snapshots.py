"""What a complete snapshot means (a source that lists its whole dataset in every run): it is
read whole before anything is written, and what it no longer lists is deleted, unless it took
nothing, shrinks the source sharply (then it is held for review) or leaves it out on purpose
(``connectors.base.keep``). See docs/sync.md, "Nothing is deleted unless the partner really
said so"."""

import functools
import pickle
import tempfile
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update

from hub.db import utcnow
from hub.extensions import db
from hub.history import services as history
from hub.publishing import revisions as rv
from hub.publishing import services as publishing
from hub.publishing.models import Entry
from hub.sync.fetcher import FetchError
from hub.sync.models import HeldDeletion, SyncRun
from hub.sync.rows import BATCH_SIZE, insert_rows


def kept_clause(clause):
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


def alive_count(source_id):
    return db.session.scalar(
        select(func.count())
        .select_from(Entry)
        .where(Entry.source_id == source_id, Entry.deleted_dt.is_(None))
    )


AHEAD = 8  # batches prepared while a snapshot is still being read (their answers wait)


def read_whole(reader, client, preparer=None, ahead=None):
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
            if not batch and client.stop_at is not None and utcnow() >= client.stop_at:
                raise FetchError("the run took longer than its deadline", code="run_deadline")
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


def settle_missing(source, run, seen, alive_before, keep_lease=None, kept=(set(), None)):
    """After a complete snapshot: the source's live entries it did not list are deleted, as
    the partner deleted them, unless the run took no record at all (an empty document, or one
    whose every record was refused) or they are more than the source's ``shrink_limit`` per
    cent of what it held: then the run is held, nothing is deleted, and the entries wait for
    the source's administrators to confirm or keep them (``hub.sync.services.decide_held``).
    ``kept``: what the snapshot says it leaves out on purpose (``kept_clause``), never deleted."""
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
        run.deleted += delete_entries(gone, {"source_id": source.id, "run_id": run.id})
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


def delete_entries(entry_ids, actor=None):
    """Tombstone the live entries among ``entry_ids`` (each with a new change number), in
    batches, in the session's transaction, each deletion a revision by ``actor`` (a source
    and its run: ``hub.history.services.actor_columns``); returns how many were deleted."""
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
        history.record_many(
            [
                history.row(rv.SUBJECT, entry_id, "delete", actor, now=now)
                for entry_id in alive[start : start + BATCH_SIZE]
            ],
            insert_rows,
        )
    return len(alive)
