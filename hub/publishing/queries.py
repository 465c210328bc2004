"""Read-side queries of publishing: public lists and pages, the coordinators' lists and their
translation queue. Lists are paginated by key, never by offset, and load texts in one query."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from flask import current_app
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from hub.db import parse_id, utcnow, utctoday
from hub.extensions import db
from hub.publishing.models import (
    Entry,
    EntryStatus,
    EntryTranslation,
    Experience,
    Fair,
    Policy,
    Product,
)
from hub.publishing.services import MODELS, editable_entries, trashed_entries

PAGE_SIZE = 20


@dataclass
class Page:
    items: list
    next_cursor: str | None


def _published(model):
    return (
        select(model)
        .where(model.status == EntryStatus.PUBLISHED, model.deleted_dt.is_(None))
        .options(selectinload(model.translations))
    )


def _by_id_desc(stmt, model, cursor, limit):
    if (after := parse_id(cursor)) is not None:
        stmt = stmt.where(model.id < after)
    rows = db.session.scalars(stmt.order_by(model.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, str(rows[-1].id) if more else None)


def public_list(kind, country=None, cursor=None, limit=PAGE_SIZE, **filters):
    """One page of published entries of ``kind``, newest first (fairs: by date, see below)."""
    model = MODELS[kind]
    stmt = _published(model)
    if country:
        stmt = stmt.where(model.country_code == country)
    if kind == "product":
        if filters.get("group"):
            stmt = stmt.where(Product.product_group == filters["group"])
        if filters.get("stars"):
            stmt = stmt.where(Product.stars >= filters["stars"])
        if filters.get("valid"):
            stmt = stmt.where(Product.valid_until >= utctoday())
    if kind == "fair":
        return _fairs(stmt, filters.get("past", False), cursor, limit)
    return _by_id_desc(stmt, model, cursor, limit)


def _fairs(stmt, past, cursor, limit):
    """Upcoming fairs (not yet over) soonest first; past ones latest first. The cursor is the
    last fair's start instant and id."""
    now = utcnow()
    key = (Fair.starts_utc, Fair.id)
    if past:
        stmt = stmt.where(Fair.ends_utc < now)
        order = (Fair.starts_utc.desc(), Fair.id.desc())
    else:
        stmt = stmt.where(Fair.ends_utc >= now)
        order = (Fair.starts_utc.asc(), Fair.id.asc())
    after = None
    if cursor and "_" in cursor:
        instant, _, last_id = cursor.rpartition("_")
        try:
            moment = datetime.fromisoformat(instant)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None and parse_id(last_id):
            after = (moment, parse_id(last_id))
        if after is not None:
            compare = (
                or_(key[0] < after[0], and_(key[0] == after[0], key[1] < after[1]))
                if past
                else or_(key[0] > after[0], and_(key[0] == after[0], key[1] > after[1]))
            )
            stmt = stmt.where(compare)
    rows = db.session.scalars(stmt.order_by(*order).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = f"{rows[-1].starts_utc.isoformat()}_{rows[-1].id}" if more else None
    return Page(rows, cursor)


def public_entry(kind, entry_id):
    model = MODELS[kind]
    stmt = _published(model).where(model.id == entry_id)
    if kind == "experience":
        stmt = stmt.options(
            selectinload(Experience.programme),
            selectinload(Experience.policies).selectinload(Policy.translations),
        )
    return db.session.scalars(stmt).one_or_none()


def latest_for_country(country, limit=5):
    """Each kind's latest published entries of one country: ``{kind: [entries]}``."""
    result = {}
    for kind, model in MODELS.items():
        stmt = _published(model).where(model.country_code == country).order_by(model.id.desc())
        result[kind] = db.session.scalars(stmt.limit(limit)).all()
    return result


def product_counts(country):
    """A country's published products counted by product group and by stars, in one aggregate
    query: ``(by_group, by_stars)``, each ``{value: count}`` without the empty ones; the stars
    of an unrated product are ``None``."""
    rows = db.session.execute(
        select(Product.product_group, Product.stars, func.count())
        .where(
            Product.country_code == country,
            Product.status == EntryStatus.PUBLISHED,
            Product.deleted_dt.is_(None),
        )
        .group_by(Product.product_group, Product.stars)
    ).all()
    by_group, by_stars = {}, {}
    for group, stars, count in rows:
        by_group[group] = by_group.get(group, 0) + count
        by_stars[stars] = by_stars.get(stars, 0) + count
    return by_group, by_stars


def manage_list(actor, kind=None, status=None, cursor=None, limit=PAGE_SIZE):
    """One page of the entries ``actor`` may edit."""
    stmt = editable_entries(actor).options(selectinload(Entry.translations))
    if kind in MODELS:
        stmt = stmt.where(Entry.kind == kind)
    if status:
        stmt = stmt.where(Entry.status == status)
    return _by_id_desc(stmt, Entry, cursor, limit)


def _instant_and_id(cursor):
    """A cursor ``<ISO instant>_<id>`` read back, or None when it is not one."""
    if not cursor or "_" not in cursor:
        return None
    instant, _, last_id = cursor.rpartition("_")
    try:
        moment = datetime.fromisoformat(instant)
    except ValueError:
        return None
    if moment.tzinfo is None or parse_id(last_id) is None:
        return None
    return moment, parse_id(last_id)


def trash(actor, cursor=None, limit=PAGE_SIZE):
    """One page of ``actor``'s trash (``trashed_entries``), the latest deletion first; the
    cursor is the last entry's deletion instant and id."""
    stmt = trashed_entries(actor).options(selectinload(Entry.translations))
    if (after := _instant_and_id(cursor)) is not None:
        stmt = stmt.where(
            or_(
                Entry.deleted_dt < after[0],
                and_(Entry.deleted_dt == after[0], Entry.id < after[1]),
            )
        )
    order = (Entry.deleted_dt.desc(), Entry.id.desc())
    rows = db.session.scalars(stmt.order_by(*order).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = f"{rows[-1].deleted_dt.isoformat()}_{rows[-1].id}" if more else None
    return Page(rows, cursor)


def translation_queue(actor, cursor=None, limit=PAGE_SIZE):
    """Entries of ``actor`` that lack a language, or whose translation was made from an older
    version of the source text."""
    source = aliased(EntryTranslation)
    other = aliased(EntryTranslation)
    languages = len(current_app.config["LANGUAGES"])
    with_title = (
        select(func.count())
        .select_from(other)
        .where(other.entry_id == Entry.id, other.title != "")
        .scalar_subquery()
    )
    stale = exists().where(
        other.entry_id == Entry.id,
        other.language != Entry.source_language,
        source.entry_id == Entry.id,
        source.language == Entry.source_language,
        other.source_fingerprint != source.fingerprint,
    )
    stmt = (
        editable_entries(actor)
        .where(Entry.status != EntryStatus.ARCHIVED, or_(with_title < languages, stale))
        .options(selectinload(Entry.translations))
    )
    return _by_id_desc(stmt, Entry, cursor, limit)


def newest_change_dt():
    """When the newest change to any entry was made (None before the first). Anything built
    from entries — a list, a feed, a page of the changes feed — changes through a change (an
    entry leaving a list is one too) or, for the lists that depend on the date, through the
    passing of time (``list_turned_dt``); with it this is a Last-Modified that never calls an
    answer unchanged when it is not, where the newest of the items shown would miss an item
    that left."""
    entry = Entry.__table__.c  # a core query: no ORM set-up for one value on every answer
    return db.session.scalar(select(entry.updated_dt).order_by(entry.change_seq.desc()).limit(1))


def list_turned_dt(kind, valid=False, keep=None, **_filters):
    """The latest moment, not after now, at which the passing of time alone changed a public
    list of ``kind`` (None if it never did): a fair ending leaves the upcoming fairs for the
    past ones; a rating's last day ending (in UTC) takes its product off the "still valid"
    ones; with ``keep`` (the calendar's), a fair that ended that long ago leaves the calendar.
    Part of the lists' Last-Modified, so that If-Modified-Since is not answered 304 then."""
    model = MODELS[kind]
    published = (model.status == EntryStatus.PUBLISHED, model.deleted_dt.is_(None))
    if kind == "fair":
        since = utcnow() - (keep or timedelta(0))
        ended = db.session.scalar(
            select(func.max(Fair.ends_utc)).where(*published, Fair.ends_utc < since)
        )
        return ended + keep if ended is not None and keep else ended
    if kind == "product" and valid:
        last_day = db.session.scalar(
            select(func.max(Product.valid_until)).where(
                *published, Product.valid_until < utctoday()
            )
        )
        if last_day is not None:
            return datetime.combine(last_day + timedelta(days=1), time(0), UTC)
    return None
