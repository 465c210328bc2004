"""Webhooks: a partner's URL that each change of the changes feed is POSTed to, and the log of
the deliveries (see hub.webhooks.delivery)."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, UTCDateTime, utcnow


class Webhook(Base):
    """A partner's endpoint, and how far through the changes feed its deliveries have come."""

    __tablename__ = "webhook"
    __table_args__ = (Index("ix_webhook_due", "enabled", "next_attempt_dt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(1000))
    # The signing secret, "whsec_" and base64 (Standard Webhooks); shown once, when registered.
    secret: Mapped[str] = mapped_column(String(100))
    # Only this country's changes, or every country's (None).
    country_code: Mapped[str | None] = mapped_column(ForeignKey("country.code"))
    enabled: Mapped[bool] = mapped_column(default=True)
    # Why the hub stopped delivering (too many failures in a row); None when paused by hand.
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    # The change_seq of the last change delivered: the next delivery is the first after it.
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    # Not before this: the backoff after a failure, or the claim of a dispatcher at work.
    next_attempt_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # in a row
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self):
        return f"<Webhook {self.id} {self.url}>"


class WebhookDelivery(Base):
    """One attempt to deliver one message: the log shown on the webhook's page."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_webhook", "webhook_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id", ondelete="CASCADE"))
    msg_id: Mapped[str] = mapped_column(String(64))  # the webhook-id header
    # The changes the message carried (None for a test event).
    first_seq: Mapped[int | None] = mapped_column(BigInteger)
    last_seq: Mapped[int | None] = mapped_column(BigInteger)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    status_code: Mapped[int | None] = mapped_column(Integer)  # the answer, if any
    error: Mapped[str | None] = mapped_column(Text)  # why there was no answer
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def ok(self):
        return self.status_code is not None and 200 <= self.status_code < 300
