"""/api/v1: the changes feed that partners and other hubs follow, and the push endpoint."""

import base64
import functools
import gzip
import re

from flask import abort, current_app, g, jsonify, request
from flask_babel import gettext as _
from isal import igzip
from marshmallow import ValidationError
from sqlalchemy import (
    LargeBinary,
    String,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.orm import selectinload

from hub.api import bp
from hub.api.auth import token_required
from hub.api.errors import api_error
from hub.api.views import country_view, entry_view, programme_view
from hub.cache import cached, served_from_cache
from hub.db import ID_RULE, utcnow
from hub.extensions import csrf, db, limiter
from hub.i18n import current_language
from hub.publishing import records
from hub.publishing import services as publishing
from hub.publishing.exchange import COLLECTION_KINDS, RECORD_SCHEMAS, dump_record, translate_errors
from hub.publishing.models import Entry, EntryStatus, EntryTranslation
from hub.publishing.queries import list_turned_dt, newest_change_dt, public_entry, public_list
from hub.publishing.vocabulary import PRODUCT_GROUPS
from hub.registry.models import STATUS_VALUES, Country, MembershipEvent, Programme
from hub.registry.queries import get_country
from hub.sync.models import PartnerSource, RejectedRecord, SyncRun
from hub.sync.pipeline import ingest
from hub.sync.validate import DocumentError, exchange_items
from hub.urls import base_url, origin_url

csrf.exempt(bp)  # bearer tokens, not cookies: there is no cross-site form to forge
# Every API call counts against the caller's address (Redis shares the counts between
# processes when HUB_RATELIMIT_STORAGE_URL says so); past the limit: 429 with Retry-After.
# Answers served from the cache of public answers are not counted: they cost about what the
# 429 itself would.
limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], exempt_when=served_from_cache)(bp)

MAX_CHANGES = 1000
COUNTRY_CODE = re.compile(r"[A-Z]{2}")


class ApiInputError(Exception):
    """Bad input to the API: answered 422 with per-field details."""

    def __init__(self, details):
        super().__init__(details)
        self.details = details


@bp.errorhandler(ApiInputError)
def _input_error(exc):
    return api_error(422, details=exc.details)


def _country_arg():
    """``?country=``: a two-letter ISO 3166 code, or None. A well-formed code with nothing
    filed under it simply matches nothing."""
    country = request.args.get("country")
    if country and not COUNTRY_CODE.fullmatch(country):
        raise ApiInputError(
            {
                "country": [
                    _("“%(value)s” is not a country code (two capital letters).", value=country)
                ]
            }
        )
    return country or None


def _int_arg(name, default, low, high):
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiInputError(
            {name: [_("A whole number from %(low)s to %(high)s.", low=low, high=high)]}
        )
    return int(raw)


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
    body = b'{"items":[%s],"more":%s,"next_since":%d}' % (items, more, next_since)
    response = current_app.response_class(body, mimetype="application/json")
    return _last_modified(response, [newest_change_dt()])


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
    return [
        made[entry_id]
        if item is None
        else item
        if isinstance(item, bytes)
        else records.with_id(entry_id, item.encode())
        for entry_id, _seq, item in rows
    ]


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


def _push_source(token):
    """The country's push source: one per country, whatever token pushes (a new token must
    go on updating what the old one brought)."""
    source = db.session.scalar(
        select(PartnerSource)
        .where(PartnerSource.kind == "push", PartnerSource.country_code == token.country_code)
        .order_by(PartnerSource.id)
        .limit(1)
    )
    if source is None:
        source = PartnerSource(
            country_code=token.country_code,
            kind="push",
            url=f"push:token-{token.id}",
            token_id=token.id,
            settings={},
        )
        db.session.add(source)
        db.session.commit()
    return source


@bp.route("/ingest", methods=["POST"])
@token_required
def push():
    """A partner's batch of records for its token's country, through the ingest pipeline."""
    try:  # the same reading as POST /api/v1/validate's
        items = exchange_items(request.get_json(silent=True))
    except DocumentError as exc:
        raise ApiInputError(exc.details) from None
    source = _push_source(g.api_token)
    if not source.enabled:
        return api_error(409, code="pushes_paused")
    run = SyncRun(source_id=source.id, status="running", started_by="push")
    db.session.add(run)
    db.session.commit()
    if items:
        ingest(source, items, run)
    run.status = "partial" if run.rejected else "ok"
    run.finished_dt = utcnow()
    db.session.commit()
    rejected = db.session.scalars(
        select(RejectedRecord).where(RejectedRecord.run_id == run.id).order_by(RejectedRecord.id)
    ).all()
    return jsonify(
        run=run.id,
        status=run.status,
        counts={name: getattr(run, name) for name in SyncRun.COUNTS},
        rejected=[
            {"id": r.partner_id, "reasons": r.reasons.get(current_language(), {})} for r in rejected
        ],
    )


@bp.route("/openapi.json")
def openapi():
    """This API described in OpenAPI 3, generated from the marshmallow schemas."""
    from hub.api.openapi import build_spec, spec_modified

    spec = {**build_spec(), "servers": [{"url": base_url()}]}
    return _last_modified(jsonify(spec), [spec_modified()])


@bp.route("/schemas/<any(policy, experience, fair, product):kind>.json")
def record_schema(kind):
    """The JSON Schema of one kind of record in the exchange format."""
    from hub.api.openapi import RECORD_NAMES, build_spec, spec_modified

    components = build_spec()["components"]["schemas"]
    response = jsonify({**components[RECORD_NAMES[kind]], "components": {"schemas": components}})
    return _last_modified(response, [spec_modified()])


GZIP_FROM = 1024  # bytes: smaller answers are not worth compressing
GZIP_FAST_FROM = 256 * 1024


def _compress(response):
    """gzip when the client asks for it; the ETag is then taken from the compressed body, so
    each encoding has its own."""
    response.vary.add("Accept-Encoding")
    if (
        "gzip" not in request.accept_encodings
        or response.direct_passthrough
        or response.content_length is None
        or response.content_length < GZIP_FROM
    ):
        return
    body = response.get_data()
    if len(body) < GZIP_FAST_FROM:
        response.set_data(gzip.compress(body, compresslevel=6))
    else:
        # Pages of the changes feed are megabytes: ISA-L's gzip makes them in a tenth of
        # zlib's time, hardly larger, so that a follower is not held up by the compression.
        response.set_data(igzip.compress(body, compresslevel=2))
    response.headers["Content-Encoding"] = "gzip"
    etag, weak = response.get_etag()
    if etag:  # set by the cache from the plain body: this encoding gets its own
        response.set_etag(f"{etag}-gzip", weak=weak)


def _last_modified(response, moments):
    """Last-Modified from the newest of ``moments`` (If-Modified-Since then gives a 304)."""
    moments = [m for m in moments if m is not None]
    if moments:
        response.last_modified = max(moments)
    return response


def _registry_changed(country_code=None):
    """When the registry (or one country of it) last changed: countries, programmes and
    membership events."""
    moments = []
    for column, country_column in (
        (Country.updated_dt, Country.code),
        (Programme.updated_dt, Programme.country_code),
        (MembershipEvent.recorded_dt, MembershipEvent.country_code),
    ):
        stmt = select(func.max(column))
        if country_code:
            stmt = stmt.where(country_column == country_code)
        moments.append(db.session.scalar(stmt))
    return moments


def _lang():
    lang = request.args.get("lang", "en")
    if lang not in ("vi", "en", "ja", "all"):
        raise ApiInputError({"lang": [_("Use vi, en, ja or all.")]})
    return lang


def _cursor():
    """The opaque cursor from ``?cursor=``, decoded; a malformed one is refused."""
    raw = request.args.get("cursor")
    if not raw:
        return None
    if not all(c.isascii() and (c.isalnum() or c in "-_") for c in raw):
        raise ApiInputError({"cursor": [_("This cursor is not one the API gave.")]})
    try:
        return base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise ApiInputError({"cursor": [_("This cursor is not one the API gave.")]}) from None


def _encode(cursor):
    return base64.urlsafe_b64encode(cursor.encode()).decode().rstrip("=") if cursor else None


def _entry_filters(kind):
    filters = {}
    if country := _country_arg():
        filters["country"] = country
    if kind == "product":
        if group := request.args.get("group"):
            if group not in PRODUCT_GROUPS:
                raise ApiInputError(
                    {"group": [_("“%(value)s” is not one of the options.", value=group)]}
                )
            filters["group"] = group
        if "stars" in request.args:
            filters["stars"] = _int_arg("stars", None, 1, 5)
        filters["valid"] = request.args.get("valid") in ("1", "true")
    if kind == "fair":
        filters["past"] = request.args.get("when") == "past"
    return filters


@bp.route("/<any(policies, experiences, fairs, products):collection>")
@cached
def entry_list(collection):
    """Published entries, newest first (fairs: upcoming soonest first, or ``when=past``)."""
    kind = COLLECTION_KINDS[collection]
    lang = _lang()
    limit = _int_arg("limit", 50, 1, 200)
    filters = _entry_filters(kind)
    page = public_list(kind, cursor=_cursor(), limit=limit, **filters)
    response = jsonify(
        items=[entry_view(e, lang) for e in page.items],
        next_cursor=_encode(page.next_cursor),
    )
    return _last_modified(response, [newest_change_dt(), list_turned_dt(kind, **filters)])


@bp.route(f"/<any(policies, experiences, fairs, products):collection>/<{ID_RULE}:entry_id>")
@cached
def entry_detail(collection, entry_id):
    entry = public_entry(COLLECTION_KINDS[collection], entry_id)
    if entry is None:
        abort(404)
    return _last_modified(jsonify(entry_view(entry, _lang())), [entry.updated_dt])


@bp.route("/countries")
@cached
def country_list():
    lang = _lang()
    stmt = select(Country).options(selectinload(Country.programmes)).order_by(Country.code)
    if status := request.args.get("status"):
        if status not in STATUS_VALUES:
            raise ApiInputError(
                {"status": [_("“%(value)s” is not a membership status.", value=status)]}
            )
        stmt = stmt.where(Country.membership_status == status)
    response = jsonify(
        items=[country_view(c, lang) for c in db.session.scalars(stmt)], next_cursor=None
    )
    return _last_modified(response, _registry_changed())


@bp.route("/countries/<code>")
@cached
def country_detail(code):
    country = get_country(code.upper()) if len(code) == 2 and code.isascii() else None
    if country is None:
        abort(404)
    response = jsonify(country_view(country, _lang(), history=True))
    return _last_modified(response, _registry_changed(country.code))


@bp.route("/programmes")
@cached
def programme_list():
    stmt = select(Programme).order_by(Programme.id)
    if country := _country_arg():
        stmt = stmt.where(Programme.country_code == country)
    response = jsonify(
        items=[programme_view(p) for p in db.session.scalars(stmt)], next_cursor=None
    )
    return _last_modified(response, _registry_changed(country))


@bp.route(f"/programmes/<{ID_RULE}:programme_id>")
@cached
def programme_detail(programme_id):
    programme = db.session.get(Programme, programme_id)
    if programme is None:
        abort(404)
    return _last_modified(jsonify(programme_view(programme)), [programme.updated_dt])


@bp.after_request
def _cacheable(response):
    """Cheap to poll: an ETag on every successful GET (304 on a match), a cache lifetime to
    suit, and cross-origin reads allowed."""
    if request.method in ("GET", "HEAD"):
        response.headers["Access-Control-Allow-Origin"] = "*"
        if response.status_code == 200:
            _compress(response)
            response.add_etag()
            response.cache_control.public = True
            response.cache_control.max_age = 0 if request.endpoint == "api.changes" else 60
            response.vary.add("Accept-Language")
            response.make_conditional(request)
    return response


class TokenActor:
    """The holder of an API token, acting as a coordinator of the token's country: the same
    rules as the web pages apply, through the same services."""

    is_authenticated = True
    is_admin = False
    id = None

    def __init__(self, token):
        self.country_code = token.country_code
        self.token = token


def _record_body(kind, partial_of=None):
    """The request body as an exchange-format record (merged into ``partial_of`` for PATCH),
    loaded by the record schema; 422 with per-field messages in the caller's language."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiInputError({"_body": [_("Send a JSON object.")]})
    if partial_of is not None:
        merged = dict(partial_of)
        for key, value in body.items():
            if key == "translations" and isinstance(value, dict):
                merged["translations"] = {**merged.get("translations", {}), **value}
            else:
                merged[key] = value
        body = merged
    try:
        return RECORD_SCHEMAS[kind].load(body)
    except ValidationError as exc:
        raise ApiInputError(translate_errors(exc.messages)) from None


def _fields_of(kind, data):
    # The origin and the country are not among the kind's fields: an entry written through
    # the API is first published here, in the token's country (create_entry checks it).
    fields = {
        k: v
        for k, v in data.items()
        if k not in ("source_language", "status", "translations", "origin", "country")
    }
    if kind == "experience":
        fields["outcomes"] = [dict(o) for o in fields.get("outcomes", [])]
    return fields


def _texts(data):
    return {
        lang: {k: v for k, v in text.items() if k != "outdated"}
        for lang, text in data["translations"].items()
    }


def _invalid(exc):
    return ApiInputError({field: [message] for field, message in exc.errors.items()})


@bp.route("/<any(policies, experiences, fairs, products):collection>", methods=["POST"])
@token_required
def entry_create(collection):
    """Create an entry for the token's country (a draft unless ``status`` says otherwise)."""
    kind = COLLECTION_KINDS[collection]
    actor = TokenActor(g.api_token)
    data = _record_body(kind)
    texts = _texts(data)
    source = data["source_language"]
    if source not in texts:
        raise ApiInputError(
            {
                "translations": [
                    _("There is no text in the source language (%(language)s).", language=source)
                ]
            }
        )
    try:
        entry = publishing.create_entry(
            actor, kind, source, texts.pop(source), _fields_of(kind, data), data.get("country")
        )
        for language, text in texts.items():
            publishing.save_text(actor, entry.id, language, text)
        if data["status"] != "draft":
            publishing.set_status(actor, entry.id, data["status"])
    except publishing.EntryInvalid as exc:
        db.session.rollback()
        raise _invalid(exc) from None
    entry = db.session.get(Entry, entry.id)
    return jsonify(entry_view(entry, "all")), 201


@bp.route(
    f"/<any(policies, experiences, fairs, products):collection>/<{ID_RULE}:entry_id>",
    methods=["PATCH", "DELETE"],
)
@token_required
def entry_change(collection, entry_id):
    """PATCH: change some fields, texts or the status; DELETE: delete (a tombstone)."""
    kind = COLLECTION_KINDS[collection]
    actor = TokenActor(g.api_token)
    try:
        entry = publishing.get_editable(actor, entry_id)
    except publishing.EntryNotFound:
        abort(404)
    if entry.kind != kind:
        abort(404)
    if request.method == "DELETE":
        publishing.delete_entry(actor, entry_id)
        return "", 204
    raw = request.get_json(silent=True)
    sent = set(raw.get("translations") or {}) if isinstance(raw, dict) else set()
    data = _record_body(kind, partial_of=dump_record(entry))
    if data.get("country") not in (None, entry.country_code):  # an entry stays in its country
        raise ApiInputError({"country": [_("You can publish only for your own country.")]})
    texts = _texts(data)
    # Only the texts sent are written (the source first): an untouched translation keeps its
    # state, outdated or not.
    order = sorted(sent & set(texts), key=lambda language: language != entry.source_language)
    try:
        publishing.update_fields(actor, entry_id, _fields_of(kind, data))
        for language in order:
            publishing.save_text(actor, entry_id, language, texts[language])
        publishing.set_status(actor, entry_id, data["status"])
    except publishing.EntryInvalid as exc:
        db.session.rollback()
        raise _invalid(exc) from None
    return jsonify(entry_view(db.session.get(Entry, entry_id), "all"))


@bp.route("/<path:_rest>")
def not_found(_rest):
    abort(404)
