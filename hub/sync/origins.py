"""Entries' origins and countries in a sync: a record that comes back to the hub it was first
published on, or whose origin another live entry holds already, is left aside; a hub source
files entries only under the countries it may carry."""

import functools

from sqlalchemy import bindparam

from connectors.base import Tombstone
from hub.extensions import db
from hub.publishing.models import Entry
from hub.sync.lookups import each_of
from hub.urls import origin_url


def origin_of(item):
    """``(hub, id)``: the origin a record gives (``"origin"`` in the exchange format), or None."""
    data = getattr(item, "data", None)  # a tombstone has none
    origin = data.get("origin") if isinstance(data, dict) else None
    if not isinstance(origin, dict):
        return None
    hub, origin_id = origin.get("hub"), origin.get("id")
    if not isinstance(hub, str) or not isinstance(origin_id, str) or not hub or not origin_id:
        return None
    return hub.rstrip("/"), origin_id


def skip_by_origin(source, item, elsewhere):
    """Whether a record the source's entries do not hold yet is left aside for its origin:
    first published here (it came back round a ring of hubs), or held already by another of
    the hub's live entries (it reached the hub by another way first, or under another id of
    the same source: that entry stays the one, and what brought it keeps it up to date)."""
    if isinstance(item, Tombstone) or (origin := origin_of(item)) is None:
        return False
    if origin[0] == origin_url():
        return True
    return bool(elsewhere.get(origin, set()) - {(source.id, str(item.partner_id))})


def held_elsewhere(source, items):
    """``{origin: {(source id, partner id) of each live entry holding it}}`` for the origins
    that ``items`` give: one query for each hub they name, through ``ix_entry_origin``. None
    when no item gives an origin (a CSV's, an iCal's): the batch need not look again."""
    by_hub = {}
    for item in items:
        if (origin := origin_of(item)) is not None:
            by_hub.setdefault(origin[0], set()).add(origin[1])
    if not by_hub:
        return None
    held = {}
    statement = by_origins(db.session.get_bind().dialect.name) if by_hub else None
    for hub, ids in by_hub.items():
        for row in db.session.execute(statement, {"hub": hub, "ids": sorted(ids)}):
            held.setdefault((hub, row.origin_id), set()).add((row.source_id, row.partner_id))
    return held


MAX_HOLDERS = 100


@functools.cache
def by_origins(dialect):
    """The live entries whose origin is the ``hub`` parameter and one of the ``ids``, built
    once for each dialect (``lookups.each_of``). The LIMIT keeps each id a lookup on
    PostgreSQL; an origin is held by one entry, a few at most."""
    columns = (Entry.origin_id, Entry.source_id, Entry.partner_id)
    conditions = (Entry.origin_hub == bindparam("hub"), Entry.deleted_dt.is_(None))
    return each_of(dialect, columns, Entry.origin_id, conditions, limit=MAX_HOLDERS)


def countries_of(source):
    """The countries a source's entries may be filed under: its own, and for a hub source
    those its ``countries`` setting lists."""
    extra = (source.settings or {}).get("countries") if source.kind == "hub" else None
    extra = extra if isinstance(extra, list) else ()
    return {source.country_code, *(c.upper() for c in extra if isinstance(c, str))}
