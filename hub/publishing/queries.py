"""Read-side queries of publishing: public lists and pages, the coordinators' lists and their
translation queue. Lists are paginated by key, never by offset, and load texts in one query."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from flask import current_app
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from hub.cache import remembered
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
MAX_WORDS_LENGTH = 100  # characters of a list's ``q=``, as the search page reads at most


@dataclass
class Page:
    items: list
    next_cursor: str | None
    # With ``q=`` of words of one or two characters only: the number of newest entries they
    # were looked for in (they have no trigram to look up in the index); else None.
    short_window: int | None = None


# Lists narrowed by words (``q=``) read the search index, which is hub.search's: publishing
# imports nothing above it, so hub.search registers its matcher here when it is imported
# (``words_matcher``), as the packages built on the registry register parts of its pages.
_matchers = []


def words_matcher(function):
    """Register ``function(q)``: None when ``q`` holds no word, else the words' matcher, with

    * ``short_window``: None, or the number of newest entries a query of words of one or two
      characters only is looked for in;
    * ``rows(conditions, before, need)``: the statement of ``(entry id,)`` rows, newest entry
      first (an entry's several matching translations one after the other), of the entries
      under ``conditions`` (on ``entry``'s columns) and below the id ``before`` (None: from the
      newest) with a text holding every word, read through the index, limited so that it
      holds ``need`` distinct entries when there are that many;
    * ``ids(conditions)``: the statement of those entries' ids, every one, for ``IN``."""
    _matchers[:] = [function]
    return function


def words(q):
    """The matcher of ``q`` (``words_matcher``), or None when it holds no word."""
    if not q:
        return None
    if not _matchers:
        raise RuntimeError("no words matcher registered: hub.search is not imported")
    return _matchers[0](q)


def _published(model):
    return (
        select(model)
        .where(model.status == EntryStatus.PUBLISHED, model.deleted_dt.is_(None))
        .options(selectinload(model.translations))
    )


def by_id_desc(stmt, model, cursor, limit):
    """``stmt``'s page below the cursor (an id), newest first, and one more row to tell
    whether another page follows: the statement ``_by_id_desc`` reads."""
    if (after := parse_id(cursor)) is not None:
        stmt = stmt.where(model.id < after)
    return stmt.order_by(model.id.desc()).limit(limit + 1)


def _by_id_desc(stmt, model, cursor, limit):
    rows = db.session.scalars(by_id_desc(stmt, model, cursor, limit)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, str(rows[-1].id) if more else None)


def public_list(kind, country=None, cursor=None, limit=PAGE_SIZE, q=None, **filters):
    """One page of published entries of ``kind``, newest first (fairs: by date, see below);
    with ``q``, those whose text (a translation's title, summary, body and lessons together)
    holds every word of it, in the same order."""
    matcher = words(q)
    window = matcher.short_window if matcher else None
    if kind == "fair":
        stmt = public_filtered(kind, country, matcher=matcher, **filters)
        page = _fairs(stmt, filters.get("when") or "upcoming", cursor, limit)
    elif matcher is not None:
        page = _matched_by_id_desc(kind, matcher, country, cursor, limit, **filters)
    else:
        page = _by_id_desc(public_filtered(kind, country, **filters), MODELS[kind], cursor, limit)
    page.short_window = window
    return page


def public_conditions(kind, country=None, **filters):
    """The conditions, on ``entry``'s columns, of the published entries of ``kind`` a public
    list shows with ``filters`` (but ``q``)."""
    entry = Entry.__table__.c
    published = (entry.kind == kind, entry.status == EntryStatus.PUBLISHED)
    return [*published, entry.deleted_dt.is_(None), *_filter_conditions(kind, country, **filters)]


def _filter_conditions(kind, country=None, **filters):
    entry = Entry.__table__.c
    conditions = []
    if country:
        conditions.append(entry.country_code == country)
    if kind == "product":
        if filters.get("group"):
            conditions.append(entry.product_group == filters["group"])
        if filters.get("stars"):
            conditions.append(entry.stars >= filters["stars"])
        if filters.get("valid"):
            conditions.append(entry.valid_until >= utctoday())
    return conditions


def public_filtered(kind, country=None, q=None, matcher=None, **filters):
    """The published entries of ``kind`` a public list shows with ``filters`` (its page and its
    order are ``public_list``'s); with ``q`` (or its ``matcher``), those whose text holds every
    word of it, as a subquery of the index's matches (the lists newest first read the index
    in their own order instead: ``public_matches``)."""
    model = MODELS[kind]
    stmt = _published(model).where(*_filter_conditions(kind, country, **filters))
    if matcher is None:
        matcher = words(q)
    if matcher is not None:
        conditions = public_conditions(kind, country, **filters)
        stmt = stmt.where(model.id.in_(matcher.ids(conditions)))
    return stmt


def public_matches(kind, matcher, country=None, cursor=None, limit=PAGE_SIZE, **filters):
    """The statement of a page of a list newest first narrowed by words, read off the index in
    that order below the cursor: ``(entry id,)`` rows holding ``limit`` entries and one more
    when there are (an entry may come once per language: ``_matched_by_id_desc`` reads them)."""
    conditions = public_conditions(kind, country, **filters)
    return matcher.rows(conditions, parse_id(cursor), limit + 1)


def _matched_by_id_desc(kind, matcher, country, cursor, limit, **filters):
    ids = []
    for (entry_id,) in db.session.execute(
        public_matches(kind, matcher, country, cursor, limit, **filters)
    ):
        if not ids or ids[-1] != entry_id:
            ids.append(entry_id)
    more = len(ids) > limit
    ids = ids[:limit]
    model = MODELS[kind]
    found = db.session.scalars(_published(model).where(model.id.in_(ids))).all() if ids else []
    rows = sorted(found, key=lambda entry: entry.id, reverse=True)
    return Page(rows, str(ids[-1]) if more else None)


@dataclass
class FairPage(Page):
    """A page of fairs: the upcoming ones (soonest first), then the past ones (latest first)."""

    upcoming: list = field(default_factory=list)
    past: list = field(default_factory=list)


PAST_CURSOR = "p"  # a cursor into the past fairs starts so; "p" alone is their first page


def _fairs_after(stmt, past, after):
    """``stmt`` restricted to the fairs after ``after`` (start instant, id) in its order."""
    if after is None:
        return stmt
    key = (Fair.starts_utc, Fair.id)
    if past:
        return stmt.where(or_(key[0] < after[0], and_(key[0] == after[0], key[1] < after[1])))
    return stmt.where(or_(key[0] > after[0], and_(key[0] == after[0], key[1] > after[1])))


def fair_rows(stmt, past, after, now, limit):
    """The statement of up to ``limit`` of ``stmt``'s fairs after ``after`` (start instant, id):
    the upcoming ones at ``now`` soonest first, or the past ones (``past``) latest first."""
    if past:
        stmt = stmt.where(Fair.ends_utc <= now)
        order = (Fair.starts_utc.desc(), Fair.id.desc())
    else:
        stmt = stmt.where(Fair.ends_utc > now)
        order = (Fair.starts_utc.asc(), Fair.id.asc())
    return _fairs_after(stmt, past, after).order_by(*order).limit(limit)


def _fair_rows(stmt, past, after, now, limit):
    return db.session.scalars(fair_rows(stmt, past, after, now, limit)).all()


def _fair_cursor(fair, past):
    return f"{PAST_CURSOR if past else ''}{fair.starts_utc.isoformat()}_{fair.id}"


def _fairs(stmt, when, cursor, limit):
    """Fairs by date, paginated by key: ``when`` is ``"upcoming"`` (not yet over, soonest
    first), ``"past"`` (latest first) or ``"all"`` (the upcoming ones, then the past ones, one
    list). A fair is over when its closing instant has passed (``hub.publishing.fairs``). The
    cursor is the last fair's start instant and id, marked ``p`` in the past ones."""
    now = utcnow()
    marked = bool(cursor and cursor.startswith(PAST_CURSOR))
    in_past = when == "past" or (when == "all" and marked)
    after = _instant_and_id(cursor[len(PAST_CURSOR) :] if marked else cursor)
    upcoming, past = [], []
    if not in_past:
        upcoming = _fair_rows(stmt, False, after, now, limit + 1)
        after = None  # the past ones, if this page reaches them, are read from their start
    if len(upcoming) <= limit and (in_past or when == "all"):
        past = _fair_rows(stmt, True, after, now, limit + 1 - len(upcoming))
    rows = [*upcoming, *past]
    page, count = rows[:limit], len(upcoming)
    next_cursor = None
    if len(rows) > limit:
        last_is_past, next_is_past = limit > count, limit >= count
        if last_is_past:
            next_cursor = _fair_cursor(page[-1], True)
        elif next_is_past:  # the upcoming fairs end on this page, the past ones come next
            next_cursor = PAST_CURSOR
        else:
            next_cursor = _fair_cursor(page[-1], False)
    upcoming, past = page[:count], page[count:]
    return FairPage(page, next_cursor, upcoming=upcoming, past=past)


def public_entry(kind, entry_id):
    model = MODELS[kind]
    stmt = _published(model).where(model.id == entry_id)
    if kind == "experience":
        stmt = stmt.options(
            selectinload(Experience.programme),
            selectinload(Experience.policies).selectinload(Policy.translations),
        )
    if kind == "fair":
        stmt = stmt.options(selectinload(Fair.exhibitors).selectinload(Product.translations))
    return db.session.scalars(stmt).one_or_none()


def latest_for_country(country, limit=5):
    """Each kind's latest published entries of one country: ``{kind: [entries]}``."""
    result = {}
    for kind, model in MODELS.items():
        stmt = _published(model).where(model.country_code == country).order_by(model.id.desc())
        result[kind] = db.session.scalars(stmt.limit(limit)).all()
    return result


def featured_products(candidates=12):
    """The newest published products, the rated ones still valid first: the home page's
    candidates for its featured products (it shows those with a photo)."""
    stmt = _published(Product).order_by(
        (Product.valid_until >= utctoday()).is_(True).desc(), Product.id.desc()
    )
    return db.session.scalars(stmt.limit(candidates)).all()


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
    return _by_id_desc(manage_filtered(actor, kind, status), Entry, cursor, limit)


def manage_filtered(actor, kind=None, status=None):
    """The entries ``actor`` may edit, of ``kind`` and ``status`` when given (unpaged)."""
    stmt = editable_entries(actor).options(selectinload(Entry.translations))
    if kind in MODELS:
        stmt = stmt.where(Entry.kind == kind)
    if status:
        stmt = stmt.where(Entry.status == status)
    return stmt


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
    rows = db.session.scalars(trash_page(actor, cursor, limit)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = f"{rows[-1].deleted_dt.isoformat()}_{rows[-1].id}" if more else None
    return Page(rows, cursor)


def trash_page(actor, cursor=None, limit=PAGE_SIZE):
    """The statement of ``trash``'s page: one more row than ``limit``, to tell whether another
    page follows."""
    stmt = trashed_entries(actor).options(selectinload(Entry.translations))
    if (after := _instant_and_id(cursor)) is not None:
        stmt = stmt.where(
            or_(
                Entry.deleted_dt < after[0],
                and_(Entry.deleted_dt == after[0], Entry.id < after[1]),
            )
        )
    order = (Entry.deleted_dt.desc(), Entry.id.desc())
    return stmt.order_by(*order).limit(limit + 1)


def translation_queue(actor, cursor=None, limit=PAGE_SIZE):
    """Entries of ``actor`` that lack a language, or whose translation was made from an older
    version of the source text."""
    return _by_id_desc(translation_queue_filtered(actor), Entry, cursor, limit)


def translation_queue_filtered(actor):
    """The entries ``translation_queue`` lists (unpaged)."""
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
    return (
        editable_entries(actor)
        .where(Entry.status != EntryStatus.ARCHIVED, or_(with_title < languages, stale))
        .options(selectinload(Entry.translations))
    )


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
    statement = list_turned_statement(kind, valid, keep)
    if statement is None:
        return None
    if kind == "product":
        # The newest rating past its last day reads every valid product's date (no index of
        # them: it would cost every product a sync writes); it changes with the data or the
        # date only, so a process reads it once for both.
        key = ("list_turned_dt", kind, utctoday())
        last = remembered(key, lambda: db.session.scalar(statement))
    else:
        last = db.session.scalar(statement)
    if kind == "fair":
        return last + keep if last is not None and keep else last
    if last is not None:
        return datetime.combine(last + timedelta(days=1), time(0), UTC)
    return None


def list_turned_statement(kind, valid=False, keep=None):
    """The query of ``list_turned_dt``: the latest fair's end up to ``keep`` ago, or the latest
    last day of a rating before today (None when time does not change the list)."""
    model = MODELS[kind]
    published = (model.status == EntryStatus.PUBLISHED, model.deleted_dt.is_(None))
    if kind == "fair":
        since = utcnow() - (keep or timedelta(0))
        return select(func.max(Fair.ends_utc)).where(*published, Fair.ends_utc <= since)
    if kind == "product" and valid:
        return select(func.max(Product.valid_until)).where(
            *published, Product.valid_until < utctoday()
        )
    return None
