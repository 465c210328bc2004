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

Results can be narrowed by kind, country, product group and stars (at least that many, as in
the product lists): ``Filters``, conditions on the entry that every query of the index carries.
Registry pages are not entries: with a filter they are left out.

The page shows the number of results and their facets (kind, country, product group, stars) from
the index too, never by reading every entry: ``facets`` counts the newest ``COUNT_CAP`` matching
entries, and says when there are more (the page then reads "more than 1,000"). A query with no
result at all gets a close term that has some (``hub.search.suggest``).
"""

import functools
from collections import Counter
from dataclasses import dataclass, field

from babel import Locale
from flask import current_app
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import selectinload

from hub.db import parse_id
from hub.extensions import db
from hub.i18n import fold
from hub.publishing.models import Entry, EntryStatus, EntryTranslation
from hub.publishing.vocabulary import PRODUCT_GROUPS
from hub.registry.models import Country, Programme
from hub.registry.regions import sort_key, territory_name
from hub.search import index, suggest

MAX_QUERY = 100
MAX_WORDS = 8
PAGE_SIZE = 20
TITLE_CAP = 200
SHORT_WINDOW = 5000
LEADS = 3  # a registry match of this tier or better can come before the entries
COUNT_CAP = 1000  # matching entries counted for the result count and the facets
TITLE_ROWS = TITLE_CAP * len(index.SLOTS)  # a translation row each
FACET_ROWS = (COUNT_CAP + 1) * len(index.SLOTS)
KINDS = ("product", "policy", "experience", "fair")  # the kind facet's order
GROUP_ORDER = {group: n for n, group in enumerate(PRODUCT_GROUPS)}  # among equal counts


@dataclass(frozen=True)
class Filters:
    """What the results are narrowed to: a kind of entry, a country (its code), a product
    group, a number of stars (at least that many, as in the product lists). None: any."""

    kind: str | None = None
    country: str | None = None
    group: str | None = None
    stars: int | None = None

    def conditions(self):
        """The filters as conditions on the entry (``Entry.__table__``'s columns)."""
        entry = Entry.__table__.c
        conditions = []
        if self.kind:
            conditions.append(entry.kind == self.kind)
        if self.country:
            conditions.append(entry.country_code == self.country)
        if self.group:
            conditions.append(entry.product_group == self.group)
        if self.stars:
            conditions.append(entry.stars >= self.stars)
        return conditions

    def args(self, **changes):
        """The filters as a query string's values, with ``changes`` (a value of None removes
        that filter)."""
        values = {
            "kind": self.kind,
            "country": self.country,
            "group": self.group,
            "stars": self.stars,
            **changes,
        }
        return {name: value for name, value in values.items() if value}

    def __bool__(self):
        return bool(self.args())


NO_FILTERS = Filters()


@dataclass
class Results:
    countries: list
    programmes: list
    entries: list
    next_cursor: str | None
    registry_first: bool = False
    short: bool = False
    suggestion: str | None = None  # a close query that finds something, when this one finds nothing
    # The newest matching entries (``matched_entries``), when the page read them: its facets
    # count them again without reading the index a second time.
    matched: list | None = None


@dataclass
class Facets:
    """The result count and the facets, each ``[(value, count)]``: counted over the newest
    ``COUNT_CAP`` matching entries, ``capped`` when there are more. ``stars``: ``(n, entries
    with at least n stars)``, five first, for each n some entry has."""

    count: int
    capped: bool
    kinds: list = field(default_factory=list)
    countries: list = field(default_factory=list)
    groups: list = field(default_factory=list)
    stars: list = field(default_factory=list)


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


def title_statement(phrase, terms, conditions=()):
    """The statement of ``_title_ranked``: ``(entry id, tier)`` of the translations whose title
    holds every word, newest entry first, as far as ``TITLE_CAP`` entries."""
    t = EntryTranslation
    columns = (t.entry_id, _tier_sql(phrase))
    stmt = index.matching("search_title", terms, columns, *_published(), *conditions)
    return stmt.limit(TITLE_ROWS)


def _title_ranked(phrase, terms, conditions=()):
    """``[(tier, entry id)]`` of the newest ``TITLE_CAP`` published entries whose title (in any
    language) holds every word, best first."""
    with index.newest(title_statement(phrase, terms, conditions), TITLE_ROWS) as rows:
        return _ranked([tuple(row) for row in rows], TITLE_ROWS)


def window_statement(terms, columns, conditions=(), before=None):
    """``select(*columns)`` of the translations of the newest ``SHORT_WINDOW`` entries, published
    and under ``conditions``, whose texts hold every word (of any length), newest first, below
    the entry id ``before`` when given: read by key, for a query without a word the index can
    look up (the search page's and the lists')."""
    t, entry = EntryTranslation, Entry.__table__
    newest = db.session.scalar(select(func.max(entry.c.id))) or 0
    # The window's bounds on both tables' keys: PostgreSQL does not carry a range across a
    # join, and reads the entries' indexes by it.
    bounds = [key > newest - SHORT_WINDOW for key in (t.entry_id, entry.c.id)]
    if before is not None:
        bounds += [key < before for key in (t.entry_id, entry.c.id)]
    return (
        select(*columns)
        .select_from(t)
        .join(entry, entry.c.id == t.entry_id)
        .where(
            *bounds,
            *_published(),
            *conditions,
            *(index.holds(t.search_text, w) for w in terms),
        )
        .order_by(entry.c.id.desc())  # the lists' own indexes, read backwards
    )


def _window_ranked(phrase, terms, conditions=()):
    """The same for a query without a word of three characters: every match among the newest
    ``SHORT_WINDOW`` entries, in their titles (ranked) or their texts (tier 0)."""
    t = EntryTranslation
    in_title = and_(*(index.holds(t.search_title, w) for w in terms))
    columns = (t.entry_id, case((in_title, _tier_sql(phrase)), else_=0))
    return _ranked(db.session.execute(window_statement(terms, columns, conditions)).all())


def text_statement(terms, conditions=(), before=None):
    """``(entry id)`` of the translations of published entries under ``conditions`` whose texts
    hold every word, newest first, below the entry id ``before``."""
    t = EntryTranslation
    return index.matching(
        "search_text", terms, (t.entry_id,), *_published(), *conditions, before=before
    )


def _text_matches(terms, before, skip, need, conditions=()):
    """Up to ``need`` ids of published entries whose texts hold every word, newest first,
    below ``before`` (an id) and not in ``skip`` (those ranked by their title)."""
    stmt = text_statement(terms, conditions, before)
    found = []
    with index.newest(stmt, (need + len(skip)) * len(index.SLOTS)) as rows:
        for (entry_id,) in rows:
            if entry_id in skip or (found and found[-1] == entry_id):
                continue
            found.append(entry_id)
            if len(found) == need:
                break
    return found


def parse_cursor(cursor):
    """``(tier, entry id)`` of a cursor ``<tier>_<id>``, or None."""
    tier_text, _, id_text = (cursor or "").partition("_")
    last_id = parse_id(id_text)
    if tier_text not in {"0", "1", "2", "3", "4"} or last_id is None:
        return None
    return int(tier_text), last_id


def terms_of(query):
    """``(phrase, terms)``: the query folded as the index reads it, and its words."""
    phrase = index.fold_phrase(query, MAX_QUERY)
    return phrase, index.words(phrase)[:MAX_WORDS]


def search(query, cursor=None, limit=PAGE_SIZE, filters=NO_FILTERS):
    """Countries and programmes (on the first page, without ``filters``), then published
    entries under ``filters``, best first (see the module's description); paginated by ``(tier,
    id)``. A query that finds nothing comes with a ``suggestion`` when a close one finds some."""
    phrase, terms = terms_of(query)
    if not phrase:
        return Results([], [], [], None)
    conditions = filters.conditions()
    short = not index.indexed_words(terms)
    after = parse_cursor(cursor)
    if short:
        ranked = _window_ranked(phrase, terms, conditions)
    else:
        ranked = _title_ranked(phrase, terms, conditions)
    page = [
        (found, entry_id)
        for found, entry_id in ranked
        if after is None or (found, entry_id) < after
    ][: limit + 1]
    matched = None
    if len(page) <= limit and not short:
        before = after[1] if after and after[0] == 0 else None
        skip = {entry_id for _, entry_id in ranked}
        need = limit + 1 - len(page)
        found = None
        if after is None:
            # The first page: the newest matches the facets count hold the ones it needs.
            matched = matched_entries(terms, conditions)
            found = [row[0] for row in matched if row[0] not in skip][:need]
            if len(found) < need and len(matched) > COUNT_CAP:
                found = None  # past the newest COUNT_CAP: read on
        if found is None:
            found = _text_matches(terms, before, skip, need, conditions)
        page += [(0, i) for i in found]
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
    countries, programmes, registry_first, suggestion = [], [], False, None
    if cursor is None and not filters:
        countries, programmes, best = _registry(phrase)
        registry_first = best >= LEADS and best >= (page[0][0] if page else 0)
    if cursor is None and not (entries or countries or programmes):
        suggestion = suggest.suggestion(
            query,
            finds=lambda folded: _finds(folded, conditions, registry=not filters),
            known=lambda folded: _finds(folded, ()),
        )
    return Results(
        countries, programmes, entries, next_cursor, registry_first, short, suggestion, matched
    )


def _finds(phrase, conditions, registry=True):
    """Whether a search for the folded ``phrase`` (its words) finds anything under
    ``conditions``: an entry, or (with ``registry``) a country or a programme. Through the
    index, one row at most; a phrase of short words only is looked for in the same window of
    the newest entries as ``search``."""
    terms = index.words(phrase)[:MAX_WORDS]
    if not terms:
        return False
    if registry and _registry_holds(phrase, terms):
        return True
    t = EntryTranslation
    if index.indexed_words(terms):
        stmt = text_statement(terms, conditions)
    else:
        stmt = window_statement(terms, (t.entry_id,), conditions)
    return db.session.execute(stmt.limit(1)).first() is not None


def _registry_holds(phrase, terms):
    if _country_tiers(phrase):
        return True
    found = select(Programme.id).where(*(index.holds(Programme.search_text, w) for w in terms))
    return db.session.execute(found.limit(1)).first() is not None


def facet_statement(terms, conditions=()):
    """``(entry id, kind, country, product group, stars)`` of the translations of published
    entries under ``conditions`` whose texts hold every word, newest entry first, as many as
    ``COUNT_CAP`` entries and one more can have; through the index (or, for a query of short
    words only, the window ``search`` reads)."""
    t, entry = EntryTranslation, Entry.__table__.c
    columns = (t.entry_id, entry.kind, entry.country_code, entry.product_group, entry.stars)
    if index.indexed_words(terms):
        stmt = index.matching("search_text", terms, columns, *_published(), *conditions)
    else:
        stmt = window_statement(terms, columns, conditions)
    return stmt.limit(FACET_ROWS)


def matched_entries(terms, conditions=()):
    """``[(entry id, kind, country, product group, stars)]`` of the newest published entries
    under ``conditions`` whose texts hold every word, newest first, one row each, as many as
    ``COUNT_CAP`` and one more when there are (``facet_statement``, read as it comes)."""
    rows, seen = [], set()
    with index.newest(facet_statement(terms, conditions), FACET_ROWS) as result:
        for row in result:
            if row[0] in seen:
                continue
            seen.add(row[0])
            rows.append(tuple(row))
            if len(rows) > COUNT_CAP:
                break
    return rows


def facets(query, filters=NO_FILTERS, matched=None):
    """The number of published entries the query finds under ``filters`` and their facets
    (``Facets``), counted over the newest ``COUNT_CAP`` of them; None for an empty query.
    ``matched``: the query's ``matched_entries`` under ``filters``, when already read (the
    first page's ``Results.matched``)."""
    phrase, terms = terms_of(query)
    if not phrase:
        return None
    if matched is None:
        matched = matched_entries(terms, filters.conditions())
    capped = len(matched) > COUNT_CAP
    counted = matched[:COUNT_CAP]
    kinds, countries, groups, stars = Counter(), Counter(), Counter(), Counter()
    for _entry_id, kind, country, group, rating in counted:
        kinds[kind] += 1
        countries[country] += 1
        if group:
            groups[group] += 1
        if rating:
            stars[rating] += 1
    # "n stars or more" for each n some entry has exactly: the others would repeat a count.
    at_least = [(n, sum(stars[k] for k in range(n, 6))) for n in range(5, 0, -1) if stars[n]]
    return Facets(
        count=len(counted),
        capped=capped,
        kinds=[(kind, kinds[kind]) for kind in KINDS if kinds[kind]],
        countries=sorted(
            countries.items(), key=lambda item: (-item[1], sort_key(territory_name(item[0])))
        ),
        groups=sorted(groups.items(), key=lambda item: (-item[1], GROUP_ORDER.get(item[0], 99))),
        stars=at_least,
    )
