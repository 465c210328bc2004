"""Media changes are entry changes: when a photo or document becomes ready, is removed,
reordered or gets new alternative texts, its entry takes a new change sequence number.

``hub.media`` calls the hook registered here (``hub.media.services.on_change``) inside the
transaction that changes the media, before it commits. The new number moves everything that
follows the entries: the changes feed (the entry's item comes again, with its ``media``), the
webhooks that read it, the answer cache (its data version includes the change counter), the
entries' ``updated_dt`` and so the answers' Last-Modified. The entry's stored changes-feed item
is made again on commit (``hub.publishing.records``).
"""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hub.db import utcnow
from hub.extensions import db
from hub.media import services as media_services
from hub.publishing.models import Entry
from hub.publishing.services import reserve_change_seqs


def entries_changed(entry_ids):
    """Give each of ``entry_ids`` (those that still exist) a new change sequence number and
    ``updated_dt``, in the current transaction."""
    entries = db.session.scalars(
        select(Entry)
        .where(Entry.id.in_(sorted(entry_ids)))
        .order_by(Entry.id)
        .options(selectinload(Entry.translations))
    ).all()
    if not entries:
        return
    seqs = reserve_change_seqs(len(entries))
    now = utcnow()
    for entry in entries:
        entry.change_seq = next(seqs)
        entry.updated_dt = now


def init_app(app):
    media_services.on_change(app, entries_changed)
