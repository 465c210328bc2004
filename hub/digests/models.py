"""A visitor following a country, a collection, or a country's collection by e-mail (no
account): pending until the address confirms it (double opt-in), then a weekly digest."""

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, UTCDateTime, utcnow


class Subscription(Base):
    __tablename__ = "subscription"
    __table_args__ = (Index("uq_subscription", "email", "country_code", "collection", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(8))  # of the digest: the page's when it was asked
    country_code: Mapped[str] = mapped_column(String(2), default="")  # "": every country
    collection: Mapped[str] = mapped_column(String(16), default="")  # "": every collection
    # SHA-256 of the confirmation link's token (a new one at each ask while pending).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    asked_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # the latest ask
    confirmed_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sent_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
