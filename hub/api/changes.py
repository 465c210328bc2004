"""/api/v1/changes: every change to every entry ever published, in change order, that partners
and other hubs follow (``since``, ``epoch``, ``limit``, ``country``, ``exclude_origin``); the
webhooks read the same items (``changes_after``, ``feed_items``).

Every page says the feed's epoch (``hub.ops.epoch``). A cursor of another epoch, or one past the
newest change number this hub has given (another hub's, or this hub's before it was restored
from an older backup), is answered 410 with the baseline to start again from: the epoch, and
``next_since`` 0."""

import functools

from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy import LargeBinary, String, bindparam, case, cast, func, literal, select

from hub.api import bp
from hub.api.errors import api_error
from hub.api.routes import COUNTRY_CODE, ApiInputError, _int_arg, _last_modified
from hub.cache import cached, remembered
from hub.extensions import db
from hub.media import services as media_services
from hub.ops.epoch import EPOCH_PATTERN, feed_epoch
from hub.publishing import records
from hub.publishing.models import ChangeCounter, Entry, EntryStatus, EntryTranslation
from hub.publishing.queries import newest_change_dt
from hub.urls import origin_url

MAX_CHANGES = 1000


@bp.route("/changes")
@cached
def changes():
    """Every change to every entry ever published, in change order: the entry in the exchange
    format, or a tombstone when it was deleted or withdrawn from publication. A client that
    follows ``next_since`` until ``more`` is false holds an exact copy."""
    since = _int_arg("since", 0, 0, 2**62)
    limit = _int_arg("limit", 100, 1, MAX_CHANGES)
    countries = _countries_arg()
    exclude = _exclude_origin_arg()
    asked_epoch = _epoch_arg()
    epoch, newest = _baseline()
    if _foreign(since, asked_epoch, epoch, newest):
        # What is kept may be a moment old (another process wrote since, up to a second
        # ago): a cursor that process gave is not refused for that.
        epoch, newest = _read_baseline()
        if _foreign(since, asked_epoch, epoch, newest):
            return _start_again(epoch)
    # Each entry's item as stored when it was written (hub.publishing.records), its id put
    # in front and read as UTF-8 bytes by the database: a page of a thousand entries is
    # neither built nor encoded here, only joined.
    dialect = db.session.get_bind().dialect.name
    params = {"since": since, "limit": limit + 1}
    if len(countries) == 1:
        params["country"] = countries[0]
    elif countries:
        params["countries"] = countries
    upto = None
    if exclude is not None:
        # What is left out must not be read again by every later call: a last page ends at
        # the newest change there was before it was read, however much of what comes before
        # was left out. Numbers commit in order (ChangeCounter): every change up to that one
        # is in the page's snapshot, taken after.
        params["exclude_origin"] = exclude
        upto = db.session.scalar(select(func.max(Entry.change_seq))) or 0
    rows = db.session.execute(
        _changes_statement(dialect, _country_filter(countries), _exclude_mode(exclude)),
        params,
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = b",".join(feed_items(rows))
    next_since = rows[-1].change_seq if rows else since
    if upto is not None and not more:
        next_since = max(next_since, upto)
    more = b"true" if more else b"false"
    body = b'{"items":[%s],"more":%s,"next_since":%d,"epoch":"%s"}' % (
        items,
        more,
        next_since,
        epoch.encode(),
    )
    response = current_app.response_class(body, mimetype="application/json")
    return _last_modified(response, [newest_change_dt()])


def _baseline():
    """``(epoch, the newest change number given)``: read again only when the data version
    changes (both are part of it), so a page costs no query for them."""
    return remembered("changes.baseline", _read_baseline)


def _foreign(since, asked_epoch, epoch, newest):
    """Whether the cursor is not of this feed's history: another epoch, or a number past the
    newest change given."""
    return (asked_epoch is not None and asked_epoch != epoch) or since > newest


def _read_baseline():
    newest = db.session.scalar(select(ChangeCounter.value).where(ChangeCounter.id == 1)) or 0
    return feed_epoch(), newest


def _epoch_arg():
    """``?epoch=``: the epoch of the pages the client read before (None when not given)."""
    raw = request.args.get("epoch")
    if raw is None or raw == "":
        return None
    if not EPOCH_PATTERN.fullmatch(raw):
        raise ApiInputError(
            {"epoch": [_("Give the epoch as the changes feed said it, or leave it out.")]}
        )
    return raw


def _start_again(epoch):
    """410: the client's cursor is not one of this feed's history; the baseline to start
    again from, beside the error."""
    return api_error(
        410,
        _(
            "This changes feed has started a new history (the hub was restored from a backup, "
            "or the cursor is another hub's): read it again from next_since 0 with the new "
            "epoch, and keep only what it lists."
        ),
        code="feed_restarted",
        extra={"epoch": epoch, "next_since": 0},
    )


def feed_items(rows):
    """The changes feed's items of ``rows`` (``(id, change_seq, item)`` as ``changes_after``
    and the feed's query give them), each as UTF-8 JSON bytes, in order: the stored item, or
    one built here (tombstones, items no write has stored)."""
    made = {}
    if build := [entry_id for entry_id, _seq, item in rows if item is None]:
        # Tombstones, and items no write has stored (an older hub's entries): built here.
        entry_table, text_table = Entry.__table__, EntryTranslation.__table__
        facts = [c for c in entry_table.c if c.name != "change_json"]  # outdated, if any
        entries = db.session.execute(select(*facts).where(entry_table.c.id.in_(build))).mappings()
        entries = {row["id"]: row for row in entries}
        texts = {}
        live = [i for i, row in entries.items() if records.live(row["status"], row["deleted_dt"])]
        columns = [c for c in text_table.c if not c.name.startswith("search_")]
        if live:
            for text in db.session.execute(
                select(*columns).where(text_table.c.entry_id.in_(live))
            ).mappings():
                texts.setdefault(text["entry_id"], []).append(text)
        for entry_id, row in entries.items():
            item = records.item_of_rows(row, texts.get(entry_id, [])).encode()
            made[entry_id] = records.with_id(entry_id, item)
    items = [
        made[entry_id]
        if item is None
        else item
        if isinstance(item, bytes)
        else records.with_id(entry_id, item.encode())
        for entry_id, _seq, item in rows
    ]
    return with_media(rows, items)


RECORD_END = b'},"seq":'  # where an item's record closes (tombstones have none)


def with_media(rows, items):
    """Each live item with its record's ``media`` (``hub.media.services.record_item``, the
    ready ones, an empty list for none), read for the whole page in one query. The stored
    items leave them out: a medium that becomes ready, is removed or reordered gives its entry
    a new change number (``hub.publishing.media_changes``), so the item comes again with them."""
    media = media_services.for_records([entry_id for entry_id, _seq, _item in rows])
    out = []
    for (entry_id, _seq, _item), item in zip(rows, items, strict=True):
        end = item.rfind(RECORD_END)
        if end != -1:
            listed = records.dumps_bytes(media.get(entry_id, []))
            item = b'%s,"media":%s%s' % (item[:end], listed, item[end:])
        out.append(item)
    return out


def changes_after(since, limit, country=None):
    """The changes feed's rows after change ``since``: at most ``limit`` of
    ``(id, change_seq, item)`` in change order, for ``feed_items`` (the webhooks' outbox)."""
    dialect = db.session.get_bind().dialect.name
    return db.session.execute(
        _changes_statement(dialect, _country_filter([country] if country else [])),
        {"since": since, "limit": limit, "country": country},
    ).all()


MAX_FEED_COUNTRIES = 50


def _countries_arg():
    """``?country=``: one two-letter code, or several separated by commas (a hub source that
    may carry entries of other countries follows them all); ``[]`` for every country."""
    raw = request.args.get("country")
    if not raw:
        return []
    codes = list(dict.fromkeys(raw.split(",")))
    if len(codes) > MAX_FEED_COUNTRIES or not all(COUNTRY_CODE.fullmatch(c) for c in codes):
        raise ApiInputError(
            {"country": [_("“%(value)s” is not a country code (two capital letters).", value=raw)]}
        )
    return codes


def _country_filter(countries):
    return None if not countries else "one" if len(countries) == 1 else "many"


MAX_ORIGIN = 500


def _exclude_origin_arg():
    """``?exclude_origin=``: a hub's base URL, whose entries the feed leaves out (a hub that
    follows this one asks for what it did not send itself); None for none."""
    raw = request.args.get("exclude_origin")
    if raw is None or raw == "":
        return None
    if len(raw) > MAX_ORIGIN or not raw.startswith(("http://", "https://")) or "\x00" in raw:
        raise ApiInputError(
            {"exclude_origin": [_("Give the base URL of a hub (http:// or https://).")]}
        )
    return raw.rstrip("/")


def _exclude_mode(exclude):
    """How ``exclude_origin`` filters: None, "other" (another hub's entries), or "here" (this
    hub's own: the entries with no origin of their own, first published here)."""
    if exclude is None:
        return None
    return "here" if exclude == origin_url() else "other"


@functools.cache
def _changes_statement(dialect, by_country, exclude=None):
    """The changes feed's query, built once: ``(id, change_seq, item)`` after ``:since``, the
    item the stored one with ``"id":…`` in front, as UTF-8 bytes (a ``BLOB``, never decoded),
    or NULL where the feed must build it. On PostgreSQL the item is the stored text as it is,
    and the id is put in front here: ``substr`` and ``convert_to`` over a page's 2 MB of
    multi-byte text took ten times as long as reading it (13.6 ms against 1.3 ms)."""
    c = Entry.__table__.c
    stored = (
        (c.change_json_seq == c.change_seq)
        & (c.status == EntryStatus.PUBLISHED)
        & c.deleted_dt.is_(None)
    )
    if dialect == "postgresql":
        item = c.change_json
    else:
        text = literal('{"id":') + cast(c.id, String) + "," + func.substr(c.change_json, 2)
        item = cast(text, LargeBinary)
    stmt = (
        select(c.id, c.change_seq, case((stored, item), else_=None))
        .where(c.change_seq > bindparam("since"), c.published_dt.is_not(None))
        .order_by(c.change_seq)
        .limit(bindparam("limit"))
    )
    if by_country == "one":
        stmt = stmt.where(c.country_code == bindparam("country"))
    elif by_country == "many":
        stmt = stmt.where(c.country_code.in_(bindparam("countries", expanding=True)))
    # Leaving a hub's entries out is a condition on each row read in change order (the
    # origin's entries are spread over the whole feed): the walk stays on the change_seq
    # index; a last page ends at the newest change there was (see ``changes``).
    if exclude == "other":
        stmt = stmt.where(c.origin_hub.is_(None) | (c.origin_hub != bindparam("exclude_origin")))
    elif exclude == "here":
        stmt = stmt.where(c.origin_hub.is_not(None), c.origin_hub != bindparam("exclude_origin"))
    return stmt
