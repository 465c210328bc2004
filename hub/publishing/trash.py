"""Purging the entries' trash (``hub.history.trash``, which runs it with every package's purge):
an entry deleted ``HUB_TRASH_DAYS`` days ago or more loses its texts and its content for good, in
bounded batches (the scheduler's job ``purge-trash`` and ``hub trash purge``).

What stays is a minimal tombstone: the row's id, kind, country, status, provenance (origin,
partner source and partner id, first publishing hub and id there), its times, who last changed
it and its change sequence number. The changes feed keeps reporting the deletion from it exactly
as before (its item is unchanged: no new sequence number is taken, no cache goes stale), a hub
source that brings the entry back finds the row under its partner id, and ids are never given
to another entry. Restoring, listing and the pages show deleted entries only while they still
have texts (``services.trashed_entries``), so a purged tombstone is nobody's to restore.
"""

from sqlalchemy import delete, exists, select, update

from hub.accounts.services import record
from hub.extensions import db
from hub.history import trash
from hub.media.services import detach
from hub.publishing.models import Entry, EntryTranslation, experience_policy

BATCH = 500
MAX_BATCHES = 20  # one run purges at most 10 000 entries; the next run goes on

# The columns a tombstone keeps; every other one (the kinds' facts, the partner's metadata,
# the stored feed item, the content fingerprint) is emptied.
KEPT = frozenset(
    {
        "id",
        "kind",
        "country_code",
        "status",
        "source_language",
        "origin",
        "source_id",
        "partner_id",
        "origin_hub",
        "origin_id",
        "created_dt",
        "updated_dt",
        "published_dt",
        "deleted_dt",
        "change_seq",
        "created_by_id",
        "updated_by_id",
    }
)


def purgeable(now=None):
    """The ids of the entries due to be purged: deleted ``HUB_TRASH_DAYS`` days before ``now``
    or earlier, texts not yet dropped; the oldest deletions first."""
    return (
        select(Entry.id)
        .where(
            Entry.deleted_dt <= trash.cutoff(now),
            exists().where(EntryTranslation.entry_id == Entry.id),
        )
        .order_by(Entry.deleted_dt, Entry.id)
    )


@trash.purger
def purge(now=None, batch=BATCH, max_batches=None):
    """Purge what the trash no longer keeps (``purgeable``), ``batch`` entries per transaction,
    at most ``max_batches`` transactions (``MAX_BATCHES`` unless given); returns how many
    entries were purged. Each batch is
    five statements, whatever its size, and one audit event with its count. The entries' media
    become orphans (``hub.media.services.detach``), removed with their files by the cleanup."""
    emptied = {
        column.name: None
        for column in Entry.__table__.c
        if column.name not in KEPT and column.nullable
    }
    entry = Entry.__table__
    purged = 0
    for _batch in range(max_batches or MAX_BATCHES):
        db.begin_write()
        ids = db.session.scalars(purgeable(now).limit(batch)).all()
        if not ids:
            db.session.rollback()
            break
        db.session.execute(
            delete(EntryTranslation.__table__).where(EntryTranslation.__table__.c.entry_id.in_(ids))
        )
        db.session.execute(
            delete(experience_policy).where(
                experience_policy.c.experience_id.in_(ids) | experience_policy.c.policy_id.in_(ids)
            )
        )
        db.session.execute(update(entry).where(entry.c.id.in_(ids)).values(**emptied))
        detach(ids)
        record(None, "trash.purge", "trash", "entries", count=len(ids))
        db.session.commit()
        db.session.expire_all()  # entries loaded before still hold what was emptied
        purged += len(ids)
        if len(ids) < batch:
            break
    return purged
