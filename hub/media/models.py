"""The media table: one row per photo or document attached to an entry.

* ``position`` orders an entry's media; the one at position 0 is its **cover** (``set_cover``
  moves a medium there). There is no separate cover flag, so an entry has one cover at most and
  always one while it has media.
* ``alts``: the alternative texts, ``{language: text}``, shown through ``hub.texts.core.resolve``
  (``services.describe``) so that a missing language falls back visibly.
* ``variants``: what is served, each ``{"key", "format", "width", "height", "bytes", "sha256"}``;
  images (``webp``, ``jpeg``) in up to three widths, and for a PDF its preview images and the PDF
  itself without metadata (``format`` "pdf", no width or height).
* ``original_key``: the uploaded bytes, kept privately (``o/<sha256>``), never served.
* ``status``: ``pending`` until the scheduler's job (or ``hub media process``) has made the
  variants, then ``ready``, or ``failed`` with ``failure`` (a reason code,
  ``services.failure_message``). ``claimed_by`` and ``claimed_dt`` say which process is working
  on a pending medium: a claim older than ``hub.media.pending.CLAIM_SECONDS`` is taken over.
* ``entry_id`` is None once the entry is purged from the trash (``services.detach``): the
  medium is then an orphan, which ``services.cleanup_orphans`` removes with its files.
"""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, UTCDateTime, utcnow

KINDS = ("image", "pdf")
STATUSES = ("pending", "ready", "failed")


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Media(Base):
    __tablename__ = "media"
    __table_args__ = (
        # An entry's media in order (for_entries, the next position).
        Index("ix_media_entry", "entry_id", "position"),
        # The processing job: the pending media, oldest first; the cleanup: the failed ones.
        Index("ix_media_status", "status", "id"),
        # Files shared by two media (the same photo on two entries) are kept until the last goes.
        Index("ix_media_sha256", "sha256"),
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint(_in("status", STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id", ondelete="SET NULL"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(8))
    mime: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    failure: Mapped[str | None] = mapped_column(String(32))
    alts: Mapped[dict] = mapped_column(JSON, default=dict)
    pdf_text: Mapped[str | None] = mapped_column(Text)
    variants: Mapped[list] = mapped_column(JSON, default=list)
    original_key: Mapped[str] = mapped_column(String(100))
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_by_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_token.id", ondelete="SET NULL")
    )
    created_by_source_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_source.id", ondelete="SET NULL")
    )
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def cover(self):
        """Whether this is its entry's cover (the first in order)."""
        return self.position == 0

    def __repr__(self):
        return f"<Media {self.id} {self.kind} {self.status} entry={self.entry_id}>"
