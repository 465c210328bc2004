"""Processing the pending media (through ``hub.media.services``): ``process_pending`` claims
each (``claim``, one conditional UPDATE: two schedulers never process one twice) and makes its
variants (``hub.media.process``); the row becomes ``ready``, or ``failed`` with a reason code.
The scheduler's ``process-media`` job and ``hub media process`` call it.
"""

import logging
import os
import socket
import uuid
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy import update as sql_update

from hub.db import utcnow
from hub.extensions import db
from hub.media import process as processing
from hub.media.edits import changed
from hub.media.items import MIME_TYPES
from hub.media.models import Media
from hub.media.storage import MissingFile, storage, variant_key
from hub.media.validate import MediaRefused

log = logging.getLogger(__name__)

CLAIM_SECONDS = 600  # a claim older than this is a dead process's: another takes the medium over
PROCESS_SECONDS = 5  # the scheduler looks for pending media this often
PROCESS_BATCH = 20


def claim(media_id, owner, now=None):
    """Take pending medium ``media_id`` for ``owner``, if nobody holds a live claim on it: one
    conditional UPDATE (atomic on SQLite and PostgreSQL), committed. True if it is ours."""
    now = now or utcnow()
    db.begin_write()
    result = db.session.execute(
        sql_update(Media)
        .where(
            Media.id == media_id,
            Media.status == "pending",
            or_(
                Media.claimed_dt.is_(None),
                Media.claimed_dt < now - timedelta(seconds=CLAIM_SECONDS),
            ),
        )
        .values(claimed_by=owner, claimed_dt=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def process_pending(limit=PROCESS_BATCH, owner=None):
    """Process up to ``limit`` pending media, oldest first, each claimed first (``claim``: two
    schedulers never process one twice); returns how many were processed (ready or failed)."""
    owner = owner or f"media:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]
    stale = utcnow() - timedelta(seconds=CLAIM_SECONDS)
    candidates = db.session.scalars(
        select(Media.id)
        .where(
            Media.status == "pending",
            or_(Media.claimed_dt.is_(None), Media.claimed_dt < stale),
        )
        .order_by(Media.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    done = 0
    for media_id in candidates:
        if claim(media_id, owner):
            _process(media_id, owner)
            done += 1
    return done


def _process(media_id, owner):
    media = db.session.get(Media, media_id)
    kind, mime, key = media.kind, media.mime, media.original_key
    db.session.rollback()  # no transaction held while the image is worked on
    files = storage()
    result, failure = None, None
    try:
        data = files.get(key)
        if kind == "pdf":
            result = processing.process_pdf(data)
        else:
            result = processing.process_image(data, mime)
        variants = []
        for variant in result.variants:
            sha256 = variant.sha256
            vkey = variant_key(sha256, variant.extension)
            files.put(vkey, variant.data, MIME_TYPES[variant.format])
            variants.append(
                {
                    "key": vkey,
                    "format": variant.format,
                    "width": variant.width,
                    "height": variant.height,
                    "bytes": len(variant.data),
                    "sha256": sha256,
                }
            )
    except MissingFile:
        failure = "missing_original"
    except MediaRefused as exc:
        failure = exc.reason
    except processing.ProcessingFailed as exc:
        failure = exc.reason
    except Exception:
        log.exception("media %s could not be processed", media_id)
        failure = "error"
    db.begin_write()
    values = {"claimed_by": None, "claimed_dt": None, "updated_dt": utcnow()}
    if failure:
        values.update(status="failed", failure=failure)
    else:
        values.update(
            status="ready",
            failure=None,
            variants=variants,
            width=result.width,
            height=result.height,
            pdf_text=result.text,
        )
    outcome = db.session.execute(
        sql_update(Media)
        .where(Media.id == media_id, Media.claimed_by == owner, Media.status == "pending")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if outcome.rowcount == 1 and not failure:
        entry_id = db.session.scalar(select(Media.entry_id).where(Media.id == media_id))
        changed({entry_id})
    db.session.commit()
    db.session.expire_all()
