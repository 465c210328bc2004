"""/api/v1: the registry and the entries (lists and records, in a language or all), pushes
with a token, the OpenAPI description and the record schemas; the answers' caching and
compression, the rate limit, the input errors (``ApiInputError``). The writes of entries are in
writes.py, the changes feed in changes.py, an entry's media in media.py."""

import base64
import gzip
import re

from flask import abort, current_app, g, jsonify, request
from flask_babel import gettext as _
from isal import igzip
from sqlalchemy import (
    func,
    select,
)
from sqlalchemy.orm import selectinload

from hub.api import bp
from hub.api.auth import token_required
from hub.api.errors import api_error
from hub.api.views import country_view, entries_media, entry_view, programme_view
from hub.cache import cached, served_from_cache
from hub.db import ID_RULE, utcnow
from hub.extensions import csrf, db, limiter
from hub.i18n import current_language
from hub.publishing.exchange import COLLECTION_KINDS
from hub.publishing.queries import list_turned_dt, newest_change_dt, public_entry, public_list
from hub.publishing.routes import words_arg
from hub.publishing.vocabulary import PRODUCT_GROUPS
from hub.registry.facts import country_texts, programme_texts
from hub.registry.models import STATUS_VALUES, Country, MembershipEvent, Programme
from hub.registry.queries import get_country
from hub.search.lists import matching_countries, matching_programmes
from hub.sync import media as partner_media
from hub.sync import runs
from hub.sync.batches import ingest
from hub.sync.models import PartnerSource, RejectedRecord, SyncRun
from hub.sync.validate import DocumentError, exchange_items
from hub.texts.models import FactText
from hub.urls import base_url

csrf.exempt(bp)  # bearer tokens, not cookies: there is no cross-site form to forge
# Every API call counts against the caller's address (Redis shares the counts between
# processes when HUB_RATELIMIT_STORAGE_URL says so); past the limit: 429 with Retry-After.
# Answers served from the cache of public answers are not counted: they cost about what the
# 429 itself would.
limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], exempt_when=served_from_cache)(bp)

COUNTRY_CODE = re.compile(r"[A-Z]{2}")
VALID_CHOICES = {"1": True, "true": True, "0": False, "false": False}  # ?valid= of products


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
    values = request.args.getlist(name)
    if len(values) > 1:
        raise ApiInputError({name: [_("Give this parameter once.")]})
    if not values:
        return default
    raw = values[0]
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiInputError(
            {name: [_("A whole number from %(low)s to %(high)s.", low=low, high=high)]}
        )
    return int(raw)


def _push_source(token):
    """The country's push source: one per country, whatever token pushes (a new token must
    go on updating what the old one brought)."""
    db.begin_write()  # it may be created here: the read and the insert in one writing transaction
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
    db.begin_write()
    run = SyncRun(source_id=source.id, status="running", started_by="push")
    db.session.add(run)
    db.session.commit()
    if items:
        ingest(source, items, run)
        # The records' photos and documents are fetched off the request, by the scheduler's
        # fetch-pushed-media job (hub.sync.media.fetch_pushed): this answers at once.
        partner_media.defer(source, run, items)
    db.begin_write()
    run.status = "partial" if run.rejected else "ok"
    run.finished_dt = utcnow()
    db.session.commit()
    runs.count(source, run)
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
    from hub.api.openapi import build_spec, spec_modified
    from hub.api.spec_schemas import RECORD_NAMES

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
    """When the registry (or one country of it) last changed: countries, programmes,
    membership events and the facts' texts (any country's, as they are not kept by country)."""
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
    moments.append(db.session.scalar(select(func.max(FactText.updated_dt))))
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


def _words_arg():
    """``?q=``: the words a list is narrowed to (None when absent or blank), else a 422."""
    words, error = words_arg()
    if error:
        raise ApiInputError({"q": [error]})
    return words


def _entry_filters(kind):
    filters = {}
    if country := _country_arg():
        filters["country"] = country
    if q := _words_arg():
        filters["q"] = q
    if kind == "product":
        if (group := request.args.get("group")) is not None:
            if group not in PRODUCT_GROUPS:
                raise ApiInputError(
                    {"group": [_("“%(value)s” is not one of the options.", value=group)]}
                )
            filters["group"] = group
        if "stars" in request.args:
            filters["stars"] = _int_arg("stars", None, 1, 5)
        filters["valid"] = _choice_arg(
            "valid", {"1": True, "true": True, "0": False, "false": False}
        )
    if kind == "fair":
        filters["when"] = (
            _choice_arg("when", {"upcoming": "upcoming", "past": "past"}) or "upcoming"
        )
    return filters


def _choice_arg(name, choices):
    """``?name=``: one of ``choices`` (their values; False when absent), else a 422."""
    raw = request.args.get(name)
    if raw is None:
        return False
    if raw not in choices:
        raise ApiInputError({name: [_("“%(value)s” is not one of the options.", value=raw)]})
    return choices[raw]


@bp.route("/<any(policies, experiences, fairs, products):collection>")
@cached
def entry_list(collection):
    """Published entries, newest first (fairs: upcoming soonest first, or ``when=past``)."""
    kind = COLLECTION_KINDS[collection]
    lang = _lang()
    limit = _int_arg("limit", 50, 1, 200)
    filters = _entry_filters(kind)
    page = public_list(kind, cursor=_cursor(), limit=limit, **filters)
    media = entries_media(page.items)  # one query for the page
    body = {
        "items": [entry_view(e, lang, media) for e in page.items],
        "next_cursor": _encode(page.next_cursor),
    }
    if "q" in filters:  # words of one or two characters only: the newest entries were read
        body["short"] = page.short_window is not None
    response = jsonify(body)
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
    if (status := request.args.get("status")) is not None:
        if status not in STATUS_VALUES:
            raise ApiInputError(
                {"status": [_("“%(value)s” is not a membership status.", value=status)]}
            )
        stmt = stmt.where(Country.membership_status == status)
    countries = db.session.scalars(stmt).all()
    if (q := _words_arg()) is not None:
        countries = matching_countries(countries, q)
    found = programme_texts(p for c in countries for p in c.programmes)
    response = jsonify(items=[country_view(c, lang, found) for c in countries], next_cursor=None)
    return _last_modified(response, _registry_changed())


@bp.route("/countries/<code>")
@cached
def country_detail(code):
    country = get_country(code.upper()) if len(code) == 2 and code.isascii() else None
    if country is None:
        abort(404)
    response = jsonify(country_view(country, _lang(), country_texts(country), history=True))
    return _last_modified(response, _registry_changed(country.code))


@bp.route("/programmes")
@cached
def programme_list():
    lang = _lang()
    stmt = select(Programme).order_by(Programme.id)
    if country := _country_arg():
        stmt = stmt.where(Programme.country_code == country)
    if (q := _words_arg()) is not None:
        stmt = stmt.where(*matching_programmes(q))
    programmes = db.session.scalars(stmt).all()
    found = programme_texts(programmes)
    response = jsonify(items=[programme_view(p, lang, found) for p in programmes], next_cursor=None)
    return _last_modified(response, _registry_changed(country))


@bp.route(f"/programmes/<{ID_RULE}:programme_id>")
@cached
def programme_detail(programme_id):
    lang = _lang()
    programme = db.session.get(Programme, programme_id)
    if programme is None:
        abort(404)
    view = programme_view(programme, lang, programme_texts([programme]))
    return _last_modified(jsonify(view), _registry_changed(programme.country_code))


@bp.after_request
def _cacheable(response):
    """Cheap to poll: an ETag on every successful GET (304 on a match), a cache lifetime to
    suit, and cross-origin reads allowed."""
    if request.method in ("GET", "HEAD"):
        response.headers["Access-Control-Allow-Origin"] = "*"
        if response.status_code == 200:
            _compress(response)
            response.add_etag()
            if g.get("private_answer"):  # a token's own drafts: for it alone
                response.cache_control.private = True
                response.vary.add("Authorization")
            else:
                response.cache_control.public = True
            response.cache_control.max_age = 0 if request.endpoint == "api.changes" else 60
            response.vary.add("Accept-Language")
            response.make_conditional(request)
    return response
