"""Published entries: policies, experiences, trade fairs and rated products.

All four kinds share one table and one core (single-table inheritance): the owning country, a
status, per-language text in ``entry_translation``, provenance, UTC times, a tombstone instead
of a hard delete, and the change sequence number the changes feed is ordered by. The columns of
one kind are empty on the others.
"""

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Table,
    Text,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub import cache
from hub.db import Base, UTCDateTime, utcnow

# ``origin = 'local'`` as a literal, as ``ix_entry_local``'s condition says it: SQLite uses a
# partial index only for a query that states its condition, a bound value does not.
LOCAL = literal_column("'local'")


class EntryKind(enum.StrEnum):
    POLICY = "policy"
    EXPERIENCE = "experience"
    FAIR = "fair"
    PRODUCT = "product"


class EntryStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


experience_policy = Table(
    "experience_policy",
    Base.metadata,
    Column("experience_id", ForeignKey("entry.id", ondelete="CASCADE"), primary_key=True),
    Column("policy_id", ForeignKey("entry.id", ondelete="CASCADE"), primary_key=True),
)

# The products a trade fair shows (its exhibitors): a product of any country may exhibit at a
# fair; it is listed on the fair's page while both are published.
fair_exhibitor = Table(
    "fair_exhibitor",
    Base.metadata,
    Column("fair_id", ForeignKey("entry.id", ondelete="CASCADE"), primary_key=True),
    Column("product_id", ForeignKey("entry.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class ChangeCounter(Base):
    """One row: the last change sequence number given out. Taking the next one locks the row
    until the transaction ends, so numbers are committed in the order they are given and a
    client following the changes feed never skips one that commits late."""

    __tablename__ = "change_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Entry(Base):
    __tablename__ = "entry"
    __table_args__ = (
        CheckConstraint(_in("kind", [k.value for k in EntryKind]), name="kind"),
        CheckConstraint(_in("status", [s.value for s in EntryStatus]), name="status"),
        Index("uq_entry_partner", "source_id", "partner_id", unique=True),
        # The entries written here (not a partner's: the sync's rows never enter it), of a country,
        # newest first: a coordinator's own list and translation queue (an administrator's, every
        # country's: ``ix_entry_local_newest``). Live ones only: the trash keeps to its own
        # indexes. Queries state ``origin = 'local'`` as a literal (``LOCAL``), which SQLite
        # needs to know the partial index serves them.
        Index(
            "ix_entry_local",
            "country_code",
            "id",
            sqlite_where=text("origin = 'local' AND deleted_dt IS NULL"),
            postgresql_where=text("origin = 'local' AND deleted_dt IS NULL"),
        ),
        # The same entries of every country, newest first: an administrator's list and queue.
        Index(
            "ix_entry_local_newest",
            "id",
            sqlite_where=text("origin = 'local' AND deleted_dt IS NULL"),
            postgresql_where=text("origin = 'local' AND deleted_dt IS NULL"),
        ),
        # A source's entries newest first, as its administrators' page lists them. Partial on a
        # condition true of every entry that only that page states (hub.sync.queries): the sync's
        # lookups by partner id never consider it, and take ``uq_entry_partner`` even before
        # PostgreSQL has statistics (with none, it took this one and filtered a source's entries).
        Index(
            "ix_entry_source",
            "source_id",
            "id",
            sqlite_where=text("kind IS NOT NULL"),
            postgresql_where=text("kind IS NOT NULL"),
        ),
        # Only entries first published elsewhere have an origin of their own: the others (most,
        # and every one a partner's dataset brings) stay out of the index and cost it nothing.
        Index(
            "ix_entry_origin",
            "origin_hub",
            "origin_id",
            sqlite_where=text("origin_hub IS NOT NULL"),
            postgresql_where=text("origin_hub IS NOT NULL"),
        ),
        # The trash, latest deletion first (an administrator's, every country's), and the purge,
        # oldest first; only deleted entries are in these indexes, so they cost live ones nothing.
        # A coordinator's trash has its own, by country: off the first, a page of one country's
        # would walk past every other country's deletions of the last HUB_TRASH_DAYS days
        # (partners' too: one source withdrawing 10 000 products), for every page.
        Index(
            "ix_entry_deleted",
            "deleted_dt",
            "id",
            sqlite_where=text("deleted_dt IS NOT NULL"),
            postgresql_where=text("deleted_dt IS NOT NULL"),
        ),
        Index(
            "ix_entry_country_deleted",
            "country_code",
            "deleted_dt",
            "id",
            sqlite_where=text("deleted_dt IS NOT NULL"),
            postgresql_where=text("deleted_dt IS NOT NULL"),
        ),
    )
    # Every kind's columns are in this one table: load them all with the entry, not one query
    # per entry when they are first read.
    __mapper_args__ = {"polymorphic_on": "kind", "with_polymorphic": "*"}

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    country_code: Mapped[str] = mapped_column(ForeignKey("country.code"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=EntryStatus.DRAFT)
    source_language: Mapped[str] = mapped_column(String(8))
    # Provenance: written here ("local"), or brought by a partner source with its own id.
    origin: Mapped[str] = mapped_column(String(16), default="local")
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_source.id", ondelete="SET NULL")
    )
    partner_id: Mapped[str | None] = mapped_column(String(200))
    # Where the entry was first published, as the hubs that pass it on know it: that hub's base
    # URL and its id there (an entry from a partner's dataset: the dataset's URL and the
    # partner's id). Both empty: the entry was first published here, as (this hub, its id).
    # See docs/exchange-format.md, "Origin".
    origin_hub: Mapped[str | None] = mapped_column(String(500))
    origin_id: Mapped[str | None] = mapped_column(String(200))
    # For a synced entry: the fingerprint of the partner's record, to skip unchanged ones.
    content_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # What the partner says beyond the hub's fields (the exchange format's partner_metadata:
    # true language tag, dates, authors, tags, files and licence), cleaned, as shown.
    partner_metadata: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the tombstone
    change_seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    # The published entry's item in the changes feed, as JSON without its id, and the change
    # it was made for: used while change_json_seq == change_seq (see hub.publishing.records).
    change_json: Mapped[str | None] = mapped_column(Text, deferred=True)
    change_json_seq: Mapped[int | None] = mapped_column(BigInteger)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    translations: Mapped[list["EntryTranslation"]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", order_by="EntryTranslation.language"
    )

    def text_in(self, language):
        """The translation in ``language`` with a title, or None."""
        for translation in self.translations:
            if translation.language == language and translation.title:
                return translation
        return None

    def __repr__(self):
        return f"<{type(self).__name__} {self.id} {self.country_code} {self.status}>"


class Policy(Entry):
    __mapper_args__ = {"polymorphic_identity": EntryKind.POLICY.value}

    instrument: Mapped[str | None] = mapped_column(String(32), use_existing_column=True)
    reference_number: Mapped[str | None] = mapped_column(String(100), use_existing_column=True)
    issuing_body: Mapped[str | None] = mapped_column(String(300), use_existing_column=True)
    issued_on: Mapped[date | None] = mapped_column(Date, use_existing_column=True)
    link: Mapped[str | None] = mapped_column(String(500), use_existing_column=True)


class Experience(Entry):
    __mapper_args__ = {"polymorphic_identity": EntryKind.EXPERIENCE.value}

    programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("programme.id", ondelete="SET NULL"), use_existing_column=True
    )
    # [{"metric": "producers", "value": 1200, "unit": "households"}, …]
    outcomes: Mapped[list | None] = mapped_column(JSON, use_existing_column=True)

    programme = relationship("Programme")
    policies: Mapped[list[Policy]] = relationship(
        secondary=experience_policy,
        primaryjoin="Experience.id == experience_policy.c.experience_id",
        secondaryjoin="Policy.id == experience_policy.c.policy_id",
    )


class Fair(Entry):
    """A trade fair, dated in the venue's calendar: local dates and times plus an IANA zone;
    the UTC instants are derived from them for ordering."""

    __mapper_args__ = {"polymorphic_identity": EntryKind.FAIR.value}

    venue: Mapped[str | None] = mapped_column(String(300), use_existing_column=True)
    city: Mapped[str | None] = mapped_column(String(200), use_existing_column=True)
    location_country: Mapped[str | None] = mapped_column(String(2), use_existing_column=True)
    starts_local: Mapped[datetime | None] = mapped_column(DateTime, use_existing_column=True)
    ends_local: Mapped[datetime | None] = mapped_column(DateTime, use_existing_column=True)
    all_day: Mapped[bool | None] = mapped_column(use_existing_column=True)
    timezone: Mapped[str | None] = mapped_column(String(64), use_existing_column=True)
    starts_utc: Mapped[datetime | None] = mapped_column(UTCDateTime, use_existing_column=True)
    ends_utc: Mapped[datetime | None] = mapped_column(UTCDateTime, use_existing_column=True)
    fair_status: Mapped[str | None] = mapped_column(String(16), use_existing_column=True)
    previous_starts_local: Mapped[datetime | None] = mapped_column(
        DateTime, use_existing_column=True
    )
    previous_ends_local: Mapped[datetime | None] = mapped_column(DateTime, use_existing_column=True)
    organiser: Mapped[str | None] = mapped_column(String(300), use_existing_column=True)
    website: Mapped[str | None] = mapped_column(String(500), use_existing_column=True)
    product_groups: Mapped[list | None] = mapped_column(JSON, use_existing_column=True)
    registration_deadline: Mapped[date | None] = mapped_column(Date, use_existing_column=True)
    # The countries exhibiting, as alpha-2 codes, beside those of the exhibiting products.
    exhibitor_countries: Mapped[list | None] = mapped_column(JSON, use_existing_column=True)

    exhibitors: Mapped[list["Product"]] = relationship(
        secondary=fair_exhibitor,
        primaryjoin="Fair.id == fair_exhibitor.c.fair_id",
        secondaryjoin="Product.id == fair_exhibitor.c.product_id",
        order_by="Product.id",
    )


class Product(Entry):
    __mapper_args__ = {"polymorphic_identity": EntryKind.PRODUCT.value}

    producer_name: Mapped[str | None] = mapped_column(String(300), use_existing_column=True)
    producer_type: Mapped[str | None] = mapped_column(String(16), use_existing_column=True)
    locality: Mapped[str | None] = mapped_column(String(300), use_existing_column=True)
    # Where the producer is, in WGS 84 degrees (both or neither): a marker on the product's page,
    # shown once the product is published (the locality is public already).
    latitude: Mapped[float | None] = mapped_column(Float, use_existing_column=True)
    longitude: Mapped[float | None] = mapped_column(Float, use_existing_column=True)
    product_group: Mapped[str | None] = mapped_column(String(32), use_existing_column=True)
    rating_scheme: Mapped[str | None] = mapped_column(String(32), use_existing_column=True)
    stars: Mapped[int | None] = mapped_column(SmallInteger, use_existing_column=True)
    rated_on: Mapped[date | None] = mapped_column(Date, use_existing_column=True)
    valid_until: Mapped[date | None] = mapped_column(Date, use_existing_column=True)
    # The day the country's coordinator withdrew the rating (hub.verification): its /p/<id>
    # page and attestation say so from then on. Empty: not withdrawn.
    rating_withdrawn_on: Mapped[date | None] = mapped_column(Date, use_existing_column=True)
    # A copy's rating as its issuing hub signed it (a compact JWS, hub.verification), kept
    # unchanged as the exchange format brought it. Empty for the products rated here (this hub
    # signs them when asked) and for copies that came without one.
    rating_attestation: Mapped[str | None] = mapped_column(Text, use_existing_column=True)
    # The producer's contact details, shown on the product's page (and in the exchange format)
    # only when its country's coordinator made them public; private by default.
    contact_email: Mapped[str | None] = mapped_column(String(254), use_existing_column=True)
    contact_phone: Mapped[str | None] = mapped_column(String(40), use_existing_column=True)
    contact_website: Mapped[str | None] = mapped_column(String(500), use_existing_column=True)
    contact_public: Mapped[bool | None] = mapped_column(use_existing_column=True)
    # Where buyers find it: [{"name": "…", "url": "https://…", "address": "…"}, …] (a shop, a
    # market stall or an online shop; a name and a link or an address). A name that is a
    # description rather than a proper name may be given per language instead:
    # {"vi": "…", "en": "…"} (any of the hub's languages), as a certificate's name may.
    where_to_buy: Mapped[list | None] = mapped_column(JSON, use_existing_column=True)
    # [{"name": "…", "issuer": "…", "issued_on": "YYYY-MM-DD", "url": "https://…"}, …]
    certificates: Mapped[list | None] = mapped_column(JSON, use_existing_column=True)


class EntryTranslation(Base):
    """An entry's text in one language. The source language's text carries the entry's
    ``fingerprint``; a translation keeps the fingerprint of the source text it was made from,
    so that a translation of an older version shows as outdated."""

    __tablename__ = "entry_translation"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("entry.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    lessons: Mapped[str] = mapped_column(Text, default="")
    fingerprint: Mapped[str] = mapped_column(String(64))
    source_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # Case- and diacritic-folded text for search on every database (see hub.i18n.fold): the
    # title alone (title matches rank first), and all the texts together.
    # Folded copies for search, read only by SQL: not loaded with the translation.
    search_title: Mapped[str] = mapped_column(String(300), default="", deferred=True)
    search_text: Mapped[str] = mapped_column(Text, default="", deferred=True)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    entry: Mapped[Entry] = relationship(back_populates="translations")


# Indexes and checks on the columns of one kind, added to the shared table once all are declared.
Index("ix_entry_fair_dates", Entry.kind, Entry.status, Fair.starts_utc, Entry.id)
# Lists newest first: by kind and status alone, of a country, or of a product group. The filters
# the key leaves (stars, still valid, not deleted, the country or the group) follow ``id``: a
# list walks the index in id order and tests each entry there, and reads from the table only
# those it shows (migration 0029).
Index(
    "ix_entry_public",
    Entry.kind,
    Entry.status,
    Entry.country_code,
    Entry.id,
    Product.product_group,
    Product.stars,
    Product.valid_until,
    Entry.deleted_dt,
)
Index(
    "ix_entry_listing",
    Entry.kind,
    Entry.status,
    Entry.id,
    Product.stars,
    Product.valid_until,
    Entry.deleted_dt,
)
Index(
    "ix_entry_product_group",
    Entry.kind,
    Entry.status,
    Product.product_group,
    Entry.id,
    Entry.country_code,
    Product.stars,
    Product.valid_until,
    Entry.deleted_dt,
)
Entry.__table__.append_constraint(
    CheckConstraint("stars IS NULL OR stars BETWEEN 1 AND 5", name="stars")
)


@cache.version_part
def _data_version():
    # Every write to an entry, its texts or its media takes a new change number.
    return [select(ChangeCounter.value).where(ChangeCounter.id == 1).scalar_subquery()]
