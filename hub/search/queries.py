"""Search. Texts are stored folded (lower case, no diacritics: see ``hub.i18n.fold``) next to
the originals, so "viet nam" finds "Việt Nam" and "banh" finds "bánh" on SQLite and PostgreSQL
alike; Japanese, which has no spaces, is found by substring. The index (``hub.search.index``)
finds the entries holding every word of the query.

Results come best first, as a reader expects:

* entries before registry pages, unless a country's or programme's name is what was asked for
  (its exact name, or the words of it: "viet nam", "otop"), when those come first;
* among entries, by their title in any language: the title itself (tier 4), the words of the
  query as whole words of the title (3), the start of the title or of one of its words (2),
  anywhere in the title (1), then the entries whose texts hold the words (0); newest first in
  each tier.

Titles are ranked for the newest ``TITLE_CAP`` entries whose title matches (enough for any
reader; older ones follow with the text matches, still newest first). A query of words of one or
two characters only has no trigram to look up: it reads the titles of the newest
``SHORT_WINDOW`` entries (``Results.short`` says so).
"""

import functools
from dataclasses import dataclass

from babel import Locale
from flask import current_app
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import selectinload

from hub.db import parse_id
from hub.extensions import db
from hub.i18n import fold
from hub.publishing.models import Entry, EntryStatus, EntryTranslation
from hub.registry.models import Country, Programme
from hub.registry.regions import sort_key, territory_name
from hub.search import index

MAX_QUERY = 100
MAX_WORDS = 8
PAGE_SIZE = 20
TITLE_CAP = 200
SHORT_WINDOW = 5000
LEADS = 3  # a registry match of this tier or better can come before the entries


@dataclass
class Results:
    countries: list
    programmes: list
    entries: list
    next_cursor: str | None
    registry_first: bool = False
    short: bool = False


def tier(title, phrase):
    """How well a folded ``title`` matches a folded ``phrase`` (the tiers above): the same
    rule as ``_tier_sql``, for the registry's names."""
    if title == phrase:
        return 4
    if f" {phrase} " in f" {title} ":
        return 3
    if f" {title}".find(f" {phrase}") >= 0:
        return 2
    return 1 if phrase in title else 0


def _tier_sql(phrase):
    title = EntryTranslation.search_title
    return case(
        (title == phrase, 4),
        (index.holds(" " + title + " ", f" {phrase} "), 3),
        (index.holds(" " + title, f" {phrase}"), 2),
        else_=1,
    )


@functools.cache
def _folded_territory_names(language):
    """``[(code, folded name)]`` of CLDR's countries in ``language``; folded once per process,
    not on every search."""
    return [
        (code, fold(name))
        for code, name in Locale.parse(language).territories.items()
        if len(code) == 2
    ]


def _country_tiers(phrase):
    """``{code: tier}`` of the countries whose CLDR name in any of the hub's languages holds
    every word of ``phrase``, or whose code it is."""
    terms = index.words(phrase)
    tiers = {}
    for language in current_app.config["LANGUAGES"]:
        for code, name in _folded_territory_names(language):
            if all(word in name for word in terms):
                tiers[code] = max(tiers.get(code, 0), tier(name, phrase))
    if len(phrase) == 2:
        tiers[phrase.upper()] = 4
    return tiers


def _registry(phrase):
    """The countries and programmes that match, with the best tier among them."""
    tiers = _country_tiers(phrase)
    countries = (
        db.session.scalars(select(Country).where(Country.code.in_(tiers))).all() if tiers else []
    )
    countries = sorted(countries, key=lambda c: (-tiers[c.code], sort_key(territory_name(c.code))))
    terms = index.words(phrase)
    programmes = db.session.scalars(
        select(Programme)
        .where(*(index.holds(Programme.search_text, w) for w in terms))
        .order_by(Programme.country_code, Programme.id)
        .limit(50)
    ).all()
    programme_tiers = {
        p.id: max(tier(fold(p.acronym or ""), phrase), min(tier(p.search_text, phrase), 3))
        for p in programmes
    }
    programmes.sort(key=lambda p: -programme_tiers[p.id])
    best = max([0, *(tiers[c.code] for c in countries), *programme_tiers.values()])
    return countries, programmes, best


def _published():
    entry = Entry.__table__.c
    return (entry.status == EntryStatus.PUBLISHED, entry.deleted_dt.is_(None))


def _ranked(rows, cap=None):
    """``[(tier, entry id)]`` best first from ``(entry id, tier)`` rows of translations, newest
    entry first; with ``cap``, rows were cut there (the last entry's other translations may lie
    past it)."""
    best = {}
    for entry_id, found in rows:
        best[entry_id] = max(best.get(entry_id, 0), found)
    if cap is not None and len(rows) == cap:
        best.pop(rows[-1][0])
    return sorted(((found, entry_id) for entry_id, found in best.items()), reverse=True)


def _title_ranked(phrase, terms):
    """``[(tier, entry id)]`` of the newest ``TITLE_CAP`` published entries whose title (in any
    language) holds every word, best first."""
    t = EntryTranslation
    stmt = index.matching("search_title", terms, (t.entry_id, _tier_sql(phrase)), *_published())
    cap = TITLE_CAP * len(index.SLOTS)
    return _ranked(db.session.execute(stmt.limit(cap)).all(), cap)


def _window_ranked(phrase, terms):
    """The same for a query without a word of three characters: every match among the newest
    ``SHORT_WINDOW`` entries, in their titles (ranked) or their texts (tier 0)."""
    t, entry = EntryTranslation, Entry.__table__
    newest = db.session.scalar(select(func.max(entry.c.id))) or 0
    in_title = and_(*(index.holds(t.search_title, w) for w in terms))
    stmt = (
        select(t.entry_id, case((in_title, _tier_sql(phrase)), else_=0))
        .join(entry, entry.c.id == t.entry_id)
        .where(
            t.entry_id > newest - SHORT_WINDOW,
            *_published(),
            *(index.holds(t.search_text, w) for w in terms),
        )
        .order_by(t.entry_id.desc())
    )
    return _ranked(db.session.execute(stmt).all())


def _text_matches(terms, before, skip, need):
    """Up to ``need`` ids of published entries whose texts hold every word, newest first,
    below ``before`` (an id) and not in ``skip`` (those ranked by their title)."""
    t = EntryTranslation
    stmt = index.matching("search_text", terms, (t.entry_id,), *_published(), before=before)
    found = []
    for (entry_id,) in db.session.execute(stmt.limit((need + len(skip)) * len(index.SLOTS))):
        if entry_id in skip or (found and found[-1] == entry_id):
            continue
        found.append(entry_id)
        if len(found) == need:
            break
    return found


def _parse_cursor(cursor):
    """``(tier, entry id)`` of a cursor ``<tier>_<id>``, or None."""
    tier_text, _, id_text = (cursor or "").partition("_")
    last_id = parse_id(id_text)
    if tier_text not in {"0", "1", "2", "3", "4"} or last_id is None:
        return None
    return int(tier_text), last_id


def search(query, cursor=None, limit=PAGE_SIZE):
    """Countries and programmes (on the first page), then published entries, best first (see
    the module's description); paginated by ``(tier, id)``."""
    phrase = index.fold_phrase(query, MAX_QUERY)
    if not phrase:
        return Results([], [], [], None)
    terms = index.words(phrase)[:MAX_WORDS]
    short = not index.indexed_words(terms)
    after = _parse_cursor(cursor)
    ranked = _window_ranked(phrase, terms) if short else _title_ranked(phrase, terms)
    page = [
        (found, entry_id)
        for found, entry_id in ranked
        if after is None or (found, entry_id) < after
    ][: limit + 1]
    if len(page) <= limit and not short:
        before = after[1] if after and after[0] == 0 else None
        skip = {entry_id for _, entry_id in ranked}
        page += [(0, i) for i in _text_matches(terms, before, skip, limit + 1 - len(page))]
    more = len(page) > limit
    page = page[:limit]
    entries = []
    if page:
        loaded = db.session.scalars(
            select(Entry)
            .where(Entry.id.in_([entry_id for _, entry_id in page]))
            .options(selectinload(Entry.translations))
        ).all()
        by_id = {e.id: e for e in loaded}
        entries = [by_id[entry_id] for _, entry_id in page if entry_id in by_id]
    next_cursor = f"{page[-1][0]}_{page[-1][1]}" if more else None
    countries, programmes, registry_first = [], [], False
    if cursor is None:
        countries, programmes, best = _registry(phrase)
        registry_first = best >= LEADS and best >= (page[0][0] if page else 0)
    return Results(countries, programmes, entries, next_cursor, registry_first, short)
