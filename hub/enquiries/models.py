"""A buyer's trade enquiry about a product, kept for the product's country's coordinators."""

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Base, UTCDateTime, utcnow


class EnquiryStatus(enum.StrEnum):
    NEW = "new"
    ANSWERED = "answered"
    CLOSED = "closed"


class Enquiry(Base):
    __tablename__ = "enquiry"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s.value}'" for s in EnquiryStatus) + ")", name="status"
        ),
        # A country's enquiries newest first (a coordinator's list, keyset by id).
        Index("ix_enquiry_country", "country_code", "id"),
        Index("ix_enquiry_product", "product_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"))
    # The product's country when the enquiry came: whose coordinators see it.
    country_code: Mapped[str] = mapped_column(ForeignKey("country.code"))
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254))
    buyer_country: Mapped[str] = mapped_column(String(2))
    quantity: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))  # the page's, the buyer's language
    status: Mapped[str] = mapped_column(String(16), default=EnquiryStatus.NEW)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    product = relationship("Entry")
