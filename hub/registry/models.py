"""The registry: countries, their programmes and their dated membership history."""

import enum
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub import cache
from hub.db import Base, UTCDateTime, utcnow


class MembershipStatus(enum.StrEnum):
    PROSPECTIVE = "prospective"
    APPLICANT = "applicant"
    MEMBER = "member"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


STATUS_VALUES = tuple(s.value for s in MembershipStatus)
_STATUS_CHECK = "{} IN (" + ", ".join(f"'{s}'" for s in STATUS_VALUES) + ")"


class Country(Base):
    """A country of the network, keyed by its ISO 3166-1 alpha-2 code.

    Its name in every language comes from CLDR (``hub.registry.names``), never from this table.
    ``membership_status`` and ``status_since_on`` repeat the newest ``MembershipEvent`` so that
    lists can filter and sort on them with an index; only ``services.change_membership`` and the
    seed write them, together with the event.
    """

    __tablename__ = "country"
    __table_args__ = (CheckConstraint(_STATUS_CHECK.format("membership_status"), name="status"),)

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    region: Mapped[str] = mapped_column(String(3), index=True)  # UN M49 sub-region code
    membership_status: Mapped[str] = mapped_column(String(16), index=True)
    status_since_on: Mapped[date]
    # Joined at the network's launch; whether a public source confirms that is kept beside it.
    founding_member: Mapped[bool] = mapped_column(default=False)
    founding_verified: Mapped[bool] = mapped_column(default=False)
    # Provenance of the registry facts: what confirms them, and whether anything does. The
    # English ``note`` here is the seed's; pages read every language's from ``fact_text``.
    verified: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    sources: Mapped[list] = mapped_column(JSON, default=list)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # Programmes of no known start year last, on both databases (SQLite would put them first,
    # PostgreSQL last): a hub restored into the other answers in the same order.
    programmes: Mapped[list["Programme"]] = relationship(
        back_populates="country", order_by="Programme.start_year.asc().nulls_last(), Programme.id"
    )
    membership_events: Mapped[list["MembershipEvent"]] = relationship(
        back_populates="country",
        order_by="MembershipEvent.effective_on.desc(), MembershipEvent.id.desc()",
    )

    def __repr__(self):
        return f"<Country {self.code} {self.membership_status}>"


class MembershipEvent(Base):
    """One dated change of a country's membership status; the history is never rewritten."""

    __tablename__ = "membership_event"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK.format("status"), name="status"),
        Index("ix_membership_event_country_history", "country_code", "effective_on", "id"),
        Index("ix_membership_event_status_date", "status", "effective_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    country_code: Mapped[str] = mapped_column(ForeignKey("country.code", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    previous_status: Mapped[str | None] = mapped_column(String(16))
    effective_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    country: Mapped[Country] = relationship(back_populates="membership_events")

    def __repr__(self):
        return f"<MembershipEvent {self.country_code} {self.status} {self.effective_on}>"


class Programme(Base):
    """A One-Village-One-Product-family programme run by a country (OVOP, OTOP, OCOP, ODOP…)."""

    __tablename__ = "programme"
    __table_args__ = (Index("uq_programme_country_name", "country_code", "name", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed by uq_programme_country_name, whose first column it is.
    country_code: Mapped[str] = mapped_column(ForeignKey("country.code", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    local_name: Mapped[str | None] = mapped_column(String(200))
    acronym: Mapped[str] = mapped_column(String(16), index=True)
    start_year: Mapped[int | None]
    lead_agency: Mapped[str | None] = mapped_column(String(300))
    website: Mapped[str | None] = mapped_column(String(500))
    rating_scheme: Mapped[str | None] = mapped_column(String(200))
    # Folded name, local name, acronym and agency, for search (see hub.i18n.fold).
    search_text: Mapped[str] = mapped_column(Text, default="")
    verified: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    sources: Mapped[list] = mapped_column(JSON, default=list)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    country: Mapped[Country] = relationship(back_populates="programmes")

    def __repr__(self):
        return f"<Programme {self.country_code} {self.acronym}>"


@cache.version_part
def _data_version():
    return [
        select(func.max(Country.updated_dt)).scalar_subquery(),
        select(func.max(Programme.updated_dt)).scalar_subquery(),
        select(func.count(Programme.id)).scalar_subquery(),
        select(func.max(MembershipEvent.id)).scalar_subquery(),
    ]
