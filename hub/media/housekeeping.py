"""Looking after the media's files (through ``hub.media.services``): ``cleanup_orphans`` (the
scheduler's ``clean-media`` job) removes the media of purged entries, old failed media and files
nobody refers to; ``check`` (``hub media check``) compares the rows with the storage.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, or_, select

from hub.db import utcnow
from hub.extensions import db
from hub.media.edits import changed
from hub.media.models import Media
from hub.media.storage import storage

CLEANUP_SECONDS = 3600  # the scheduler removes orphans this often
ORPHAN_GRACE = timedelta(hours=1)  # a file nobody refers to is removed once this old


def _referenced():
    """Every key a medium refers to, with the first medium's id."""
    referenced = {}
    for media_id, key, variants in db.session.execute(
        select(Media.id, Media.original_key, Media.variants)
    ):
        referenced.setdefault(key, media_id)
        for variant in variants or ():
            referenced.setdefault(variant["key"], media_id)
    return referenced


def cleanup_orphans(now=None):
    """Remove the orphans (the scheduler's ``clean-media`` job, every hour): media whose entry
    was purged (``detach``), media failed ``HUB_MEDIA_FAILED_DAYS`` days ago or more, and files
    no medium refers to that are older than ``ORPHAN_GRACE`` (an upload cut off between its
    file and its row). Returns ``{"media": rows removed, "files": files removed}``."""
    now = now or utcnow()
    failed_before = now - timedelta(days=current_app.config.get("MEDIA_FAILED_DAYS", 7))
    db.begin_write()
    gone = db.session.execute(
        select(Media.id, Media.entry_id).where(
            or_(
                Media.entry_id.is_(None),
                (Media.status == "failed") & (Media.updated_dt <= failed_before),
            )
        )
    ).all()
    if gone:
        db.session.execute(
            delete(Media)
            .where(Media.id.in_([media_id for media_id, _entry in gone]))
            .execution_options(synchronize_session=False)
        )
    changed({entry_id for _media, entry_id in gone})
    db.session.commit()
    db.session.expire_all()
    referenced = _referenced()
    db.session.rollback()
    files = storage()
    removed = 0
    for stored in list(files.files()):
        if stored.key not in referenced and stored.modified_dt <= now - ORPHAN_GRACE:
            files.delete(stored.key)
            removed += 1
    return {"media": len(gone), "files": removed}


@dataclass
class FileReport:
    """What ``check`` found: ``missing`` — (media id, key) a medium refers to that the
    storage lacks; ``unreferenced`` — keys stored that no medium refers to."""

    missing: list = field(default_factory=list)
    unreferenced: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.missing and not self.unreferenced


def check():
    """Compare the media rows with the storage (``hub media check``): a ``FileReport``."""
    referenced = _referenced()
    db.session.rollback()
    stored = {f.key for f in storage().files()}
    return FileReport(
        missing=sorted(
            (media_id, key) for key, media_id in referenced.items() if key not in stored
        ),
        unreferenced=sorted(stored - set(referenced)),
    )
