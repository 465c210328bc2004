"""Snapshots of source texts, kept by fingerprint so that a translator can be shown what changed
in the original since the version they translated.

A snapshot is written only when a translation is saved or confirmed against the original (the
version it matches), never when the original is edited or synced: most originals never get one.
The same text is stored once per subject however often it is translated.
"""

from datetime import datetime

from sqlalchemy import JSON, Integer, String, UniqueConstraint, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, UTCDateTime, utcnow
from hub.extensions import db

FIELDS = ("title", "summary", "body", "lessons")
_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class TextSnapshot(Base):
    """One version of a subject's source text (``subject`` names the kind of thing, "entry" or
    a registry fact's subject, ``subject_id`` its id), under the fingerprint its owner gave that
    version."""

    __tablename__ = "text_snapshot"
    __table_args__ = (UniqueConstraint("subject", "subject_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    fields: Mapped[dict] = mapped_column(JSON)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def remember(subject, subject_id, fingerprint, text, names=FIELDS):
    """Keep ``text`` (a mapping or an object with the text fields ``names``, an entry's by
    default) as the version ``fingerprint`` of the subject's source text, unless it is kept
    already. One statement that never fails on a snapshot another transaction wrote first."""
    get = text.get if isinstance(text, dict) else lambda name: getattr(text, name, None)
    fields = {name: get(name) or "" for name in names}
    dialect = db.session.get_bind().dialect.name
    statement = (
        _INSERT[dialect](TextSnapshot)
        .values(
            subject=subject,
            subject_id=subject_id,
            fingerprint=fingerprint,
            fields=fields,
            created_dt=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["subject", "subject_id", "fingerprint"])
    )
    db.session.execute(statement)


def recall(subject, subject_id, fingerprint):
    """The fields of the version ``fingerprint`` of the subject's source text, or None when no
    snapshot of it was kept."""
    if not fingerprint:
        return None
    return db.session.scalar(
        select(TextSnapshot.fields).where(
            TextSnapshot.subject == subject,
            TextSnapshot.subject_id == subject_id,
            TextSnapshot.fingerprint == fingerprint,
        )
    )
