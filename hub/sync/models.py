"""Partner sources, their sync runs, and the records a run refused."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Base, UTCDateTime, utcnow

PAUSE_AFTER_FAILURES = 5


class PartnerSource(Base):
    """A partner's dataset the hub pulls on a schedule through a connector."""

    __tablename__ = "partner_source"
    __table_args__ = (Index("ix_partner_source_due", "enabled", "next_run_dt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    country_code: Mapped[str] = mapped_column(ForeignKey("country.code"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # the connector kind, or "push"
    url: Mapped[str] = mapped_column(String(1000))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    interval_minutes: Mapped[int] = mapped_column(Integer, default=60)
    enabled: Mapped[bool] = mapped_column(default=True)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    # What the connector saved after its last complete run, and the HTTP validators.
    state: Mapped[dict] = mapped_column(JSON, default=dict)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    # SHA-256 of the main document of the last run that took every record (single-document
    # connectors): the same bytes again end the next run at once.
    content_digest: Mapped[str | None] = mapped_column(String(64))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    # A complete snapshot that would delete more than this share (per cent) of the source's
    # live entries is held for its owner to review instead of applied.
    shrink_limit: Mapped[int] = mapped_column(Integer, default=50, server_default="50")
    last_success_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_run_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The lease: which scheduler runs this source now, until when (a second one keeps off).
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # For a push source: the API token whose batches it records.
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id", ondelete="SET NULL"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # The database deletes a source's runs and refused records with it (ON DELETE CASCADE).
    runs: Mapped[list["SyncRun"]] = relationship(
        back_populates="source",
        order_by="SyncRun.id.desc()",
        lazy="raise_on_sql",
        passive_deletes=True,
    )

    def __repr__(self):
        return f"<PartnerSource {self.id} {self.kind} {self.country_code}>"


class SyncRun(Base):
    """One run of a source: what it fetched and what became of it."""

    __tablename__ = "sync_run"
    __table_args__ = (Index("ix_sync_run_source", "source_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("partner_source.id", ondelete="CASCADE"))
    started_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # running, ok (nothing refused), partial (some records refused), incomplete (cut short:
    # nothing deleted), held (deletions waiting for the owner's review), failed, interrupted
    # (its process died), not_modified
    status: Mapped[str] = mapped_column(String(16), default="running")
    # Who started it: "scheduler", "cli", "web" or "push"
    started_by: Mapped[str | None] = mapped_column(String(100))
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    # Entries the run would have deleted but held back (see ``HeldDeletion``).
    held: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # For a held run: None while it waits, "confirmed" (deleted) or "kept" once decided.
    review: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    # Why a run was cut short or held, as facts the pages and the CLI put into words in the
    # reader's language (hub.sync.services.run_detail): {"reason": "max_pages", "pages": 3}.
    detail: Mapped[dict | None] = mapped_column(JSON)

    source: Mapped[PartnerSource] = relationship(back_populates="runs")

    COUNTS = ("fetched", "created", "updated", "unchanged", "deleted", "rejected", "held")


class RejectedRecord(Base):
    """A record a run refused, with the reasons, kept for the source's administrators."""

    __tablename__ = "rejected_record"
    __table_args__ = (Index("ix_rejected_record_source", "source_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_run.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("partner_source.id", ondelete="CASCADE"))
    partner_id: Mapped[str | None] = mapped_column(String(200))
    record: Mapped[dict] = mapped_column(JSON, default=dict)
    reasons: Mapped[dict] = mapped_column(JSON, default=dict)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HeldDeletion(Base):
    """An entry a held run would delete: deleted if the source's owner confirms, else kept."""

    __tablename__ = "held_deletion"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("sync_run.id", ondelete="CASCADE"), primary_key=True
    )
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("entry.id", ondelete="CASCADE"), primary_key=True
    )
