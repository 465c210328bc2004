"""The mail outbox: one row per message, written with what caused it, sent by the scheduler."""

import enum
from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, UTCDateTime, utcnow


class MailStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENT = "sent"  # accepted by the relay, or written to the outbox folder
    FAILED = "failed"  # not accepted for HUB_MAIL_GIVE_UP_HOURS: an administrator sees why


class MailMessage(Base):
    """One message to one recipient, rendered when it was queued (in the recipient's language)
    and kept as it was sent; its Message-ID is the same at every attempt."""

    __tablename__ = "mail_message"
    # The due messages (pending, oldest first) and each status's page, newest first.
    __table_args__ = (Index("ix_mail_message_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # "invitation", "test", … (docs/mail.md)
    recipient: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(500))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)  # without its < >
    # List-Unsubscribe (with one-click unsubscription, RFC 8058) for what a reader subscribed to.
    unsubscribe_url: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16), default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Not before this: the wait after a failure, or the claim of a delivery run at work.
    next_attempt_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Tried until then (HUB_MAIL_GIVE_UP_HOURS after it was queued, or sent again by hand).
    give_up_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self):
        return f"<MailMessage {self.id} {self.kind} {self.status}>"
