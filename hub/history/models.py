"""The revision table: one row per change of a subject (an entry, a registry fact), never
updated."""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Base, UTCDateTime, utcnow

ACTIONS = ("create", "edit", "text", "translate", "status", "delete", "restore", "revert", "sync")


class Revision(Base):
    """A change of ``subject`` ("entry", or a registry fact: "country", "programme", "source",
    "membership_event", "network") number ``subject_id``. The id is kept as text: entries and
    programmes have numbers, countries have their ISO codes, sources their keys, and one column
    serves them all (as the audit log's ``object_id`` does).

    Who made it: a signed-in user, an API token, or a partner source (with the sync run); at
    most one of the three. None of them: the hub itself (the command line, a job).

    ``changes``: the old values of the fields the change touched, as JSON (dates and times as
    ISO 8601 text); texts are keyed ``field.language`` ("title.vi"). None for a creation, a
    deletion or a restoration, which touch no field the history shows."""

    __tablename__ = "revision"
    __table_args__ = (
        Index("ix_revision_subject", "subject", "subject_id", "id"),
        CheckConstraint(
            "(CASE WHEN user_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN token_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN source_id IS NULL THEN 0 ELSE 1 END) <= 1",
            name="one_actor",
        ),
        CheckConstraint("action IN (" + ", ".join(f"'{a}'" for a in ACTIONS) + ")", name="action"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id"))
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_source.id", ondelete="SET NULL")
    )
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_run.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))
    changes: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))

    user = relationship("User")
    token = relationship("ApiToken")
    source = relationship("PartnerSource")
