"""/api/v1 writes with a token: creating an entry (POST), changing or deleting it (PATCH,
DELETE) and taking it out of the trash (restore), through the same services and rules as the
web pages (``TokenActor``); the request body read as an exchange-format record
(``json_object_body``: an object without lone surrogates, 422 per field otherwise)."""

from flask import abort, g, jsonify, request
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from hub.api import bp
from hub.api.auth import token_required
from hub.api.errors import api_error
from hub.api.routes import ApiInputError, _lang
from hub.api.views import entry_view
from hub.db import ID_RULE
from hub.extensions import db
from hub.publishing import services as publishing
from hub.publishing.exchange import COLLECTION_KINDS, RECORD_SCHEMAS, dump_record, translate_errors
from hub.publishing.models import Entry
from hub.sync import prepare


class TokenActor:
    """The holder of an API token, acting as a coordinator of the token's country: the same
    rules as the web pages apply, through the same services."""

    is_authenticated = True
    is_admin = False
    id = None

    def __init__(self, token):
        self.country_code = token.country_code
        self.token = token


def json_object_body():
    """The request's JSON body, an object without lone surrogates; else a 422 saying so per
    field, in the caller's language."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiInputError({"_body": [_("Send a JSON object.")]})
    if found := dict.fromkeys(_lone_surrogates(body)):
        message = _("This text is not valid Unicode (it has a lone surrogate).")
        raise ApiInputError({field: [message] for field in found})
    return body


def _record_body(kind, partial_of=None):
    """The request body as an exchange-format record (merged into ``partial_of`` for PATCH),
    loaded by the record schema; 422 with per-field messages in the caller's language."""
    body = json_object_body()
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


def _lone_surrogates(value, path=""):
    """Where in ``value`` (a request's JSON) a text holds a lone surrogate (``"\\ud800"``, or
    the bytes ED A0 80 that JSON's reading lets through as one): text no database can store.
    Each place as ``translations.vi.title``, itself made printable."""
    if isinstance(value, str):
        if prepare.has_lone_surrogate(value):
            yield path or "_body"
        return
    if isinstance(value, dict):
        pairs = value.items()
    elif isinstance(value, list):
        pairs = enumerate(value)
    else:
        return
    for key, inner in pairs:
        here = prepare.storable(f"{path}.{key}" if path else str(key))
        if isinstance(key, str) and prepare.has_lone_surrogate(key):
            yield here
        else:
            yield from _lone_surrogates(inner, here)


def _fields_of(kind, data):
    # The origin and the country are not among the kind's fields: an entry written through
    # the API is first published here, in the token's country (create_entry checks it).
    fields = {
        k: v
        for k, v in data.items()
        # Media are added through /media (hub.media): a record's list is not written here.
        if k not in ("source_language", "status", "translations", "origin", "country", "media")
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
    sent = raw.get("translations") if isinstance(raw, dict) else None
    sent = set(sent) if isinstance(sent, dict) else set()  # of another type: refused below
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


@bp.route(
    f"/<any(policies, experiences, fairs, products):collection>/<{ID_RULE}:entry_id>/restore",
    methods=["POST"],
)
@token_required
def entry_restore(collection, entry_id):
    """Take a deleted entry of the token's country out of the trash; answers the entry as GET
    gives it (in ``lang``)."""
    lang = _lang()
    kind = db.session.scalar(select(Entry.kind).where(Entry.id == entry_id))
    if kind != COLLECTION_KINDS[collection]:
        return api_error(404, code="not_in_trash")
    try:
        entry = publishing.restore_entry(TokenActor(g.api_token), entry_id)
    except publishing.EntryNotFound:
        return api_error(404, code="not_in_trash")
    except publishing.EntryNotRestorable:
        return api_error(403, code="from_partner")
    except publishing.TrashExpired:
        return api_error(409, code="trash_expired")
    return jsonify(entry_view(db.session.get(Entry, entry.id), lang))
