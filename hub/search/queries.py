"""Search. Texts are stored folded (lower case, no diacritics: see ``hub.i18n.fold``) next to
the originals, so "viet nam" finds "Việt Nam" and "banh" finds "bánh" on SQLite and PostgreSQL
alike; Japanese, which has no spaces, is found by substring."""

import functools
from dataclasses import dataclass

from babel import Locale
from flask import current_app
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import selectinload

from hub.db import parse_id
from hub.extensions import db
from hub.i18n import fold
from hub.publishing.models import Entry, EntryStatus, EntryTranslation
from hub.registry.models import Country, Programme
from hub.registry.regions import sort_key, territory_name

MAX_QUERY = 100
PAGE_SIZE = 20


@dataclass
class Results:
    countries: list
    programmes: list
    entries: list
    next_cursor: str | None


def _like(folded):
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@functools.cache
def _folded_territory_names(language):
    """``[(code, folded name)]`` of CLDR's countries in ``language``; folded once per process,
    not on every search."""
    return [
        (code, fold(name))
        for code, name in Locale.parse(language).territories.items()
        if len(code) == 2
    ]


def _matching_country_codes(folded):
    """Registry countries whose CLDR name, in any of the hub's languages, or code matches."""
    codes = set()
    for language in current_app.config["LANGUAGES"]:
        codes.update(code for code, name in _folded_territory_names(language) if folded in name)
    if len(folded) == 2:
        codes.add(folded.upper())
    return codes


def search(query, cursor=None, limit=PAGE_SIZE):
    """Countries and programmes (on the first page), then published entries, best first: an
    entry whose title matches before one whose text does, newer before older."""
    # Control characters (NUL among them, which PostgreSQL refuses) are never part of a word.
    cleaned = "".join(c if c.isprintable() else " " for c in query or "")
    folded = " ".join(fold(cleaned).split())[:MAX_QUERY]
    if not folded:
        return Results([], [], [], None)
    pattern = _like(folded)
    countries = programmes = []
    if not cursor:
        codes = _matching_country_codes(folded)
        countries = (
            db.session.scalars(select(Country).where(Country.code.in_(codes))).all()
            if codes
            else []
        )
        countries = sorted(countries, key=lambda c: sort_key(territory_name(c.code)))
        programmes = db.session.scalars(
            select(Programme)
            .where(Programme.search_text.like(pattern, escape="\\"))
            .order_by(Programme.country_code, Programme.id)
            .limit(50)
        ).all()

    t = EntryTranslation
    rank = func.max(case((t.search_title.like(pattern, escape="\\"), 2), else_=1)).label("rank")
    ranked = (
        select(t.entry_id.label("entry_id"), rank)
        .join(Entry, Entry.id == t.entry_id)
        .where(
            Entry.status == EntryStatus.PUBLISHED,
            Entry.deleted_dt.is_(None),
            t.search_text.like(pattern, escape="\\"),
        )
        .group_by(t.entry_id)
        .subquery()
    )
    stmt = select(ranked.c.entry_id, ranked.c.rank)
    if cursor:
        rank_text, _, id_text = cursor.partition("_")
        last_rank = 1 if rank_text == "1" else 2 if rank_text == "2" else None
        last_id = parse_id(id_text)
        if last_rank is not None and last_id is not None:
            stmt = stmt.where(
                or_(
                    ranked.c.rank < last_rank,
                    and_(ranked.c.rank == last_rank, ranked.c.entry_id < last_id),
                )
            )
    rows = db.session.execute(
        stmt.order_by(ranked.c.rank.desc(), ranked.c.entry_id.desc()).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    by_id = {}
    if rows:
        loaded = db.session.scalars(
            select(Entry)
            .where(Entry.id.in_([r.entry_id for r in rows]))
            .options(selectinload(Entry.translations))
        ).all()
        by_id = {e.id: e for e in loaded}
    entries = [by_id[r.entry_id] for r in rows if r.entry_id in by_id]
    next_cursor = f"{rows[-1].rank}_{rows[-1].entry_id}" if more else None
    return Results(countries, programmes, entries, next_cursor)
