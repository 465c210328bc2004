"""An entry's photos and documents through the API (hub.media.services does the work):

* ``GET /api/v1/<collection>/<id>/media``: its media in order (the cover first). Anyone may
  read those of a published entry, as they read the entry, and sees the ready ones; a token of
  the entry's country reads its drafts' too, with the pending and failed ones (private answers).
* ``POST`` there (a token of the entry's country): ``multipart/form-data`` with the file as
  ``file`` and its alternative texts as ``alt.vi``, ``alt.en``, ``alt.ja``. 202 with the
  medium (``status`` "pending") and its address in ``Location``: the variants are made shortly
  after (the scheduler's ``process-media`` job). A file the hub does not take: 422 (413 when
  too large) with the reason in the caller's language, and nothing stored.
* ``GET /api/v1/<collection>/<id>/media/<media_id>``: one medium (its ``status`` says when it
  is ready).
* ``PATCH`` it (JSON): ``alts`` (``{language: text}``; the languages sent are replaced, an
  empty text or null removes one), ``position`` (0 is the cover), ``cover`` (true: first).
* ``DELETE`` it: removed at once, with its files unless another medium shares them (no trash:
  upload it again to undo).

The same country rules as the entry's writes: another country's token gets a 404.
"""

from flask import abort, g, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from hub.api import bp
from hub.api.auth import bearer_token, token_required
from hub.api.errors import api_error
from hub.api.routes import ApiInputError
from hub.api.writes import TokenActor, _lone_surrogates, json_object_body
from hub.db import ID_RULE
from hub.extensions import db
from hub.i18n import api_language, languages
from hub.media import services as media
from hub.publishing import services as publishing
from hub.publishing.exchange import COLLECTION_KINDS
from hub.publishing.models import Entry
from hub.publishing.queries import public_entry
from hub.request_limits import media_upload

COLLECTIONS = "<any(policies, experiences, fairs, products):collection>"
PATCH_FIELDS = ("alts", "position", "cover")


def _readable(collection, entry_id):
    """``(entry, own)``: the entry if the caller may read it (published, or of the token's
    country; ``own`` then), else a 404."""
    kind = COLLECTION_KINDS[collection]
    token = bearer_token()
    if token is not None:
        entry = db.session.scalar(
            select(Entry).where(
                Entry.id == entry_id,
                Entry.kind == kind,
                Entry.deleted_dt.is_(None),
                Entry.country_code == token.country_code,
            )
        )
        if entry is not None:
            g.private_answer = True
            return entry, True
    entry = public_entry(kind, entry_id)
    if entry is None:
        abort(404)
    return entry, False


def _editable(collection, entry_id):
    """The entry if the request's token may change it (its country), else a 404."""
    try:
        entry = publishing.get_editable(TokenActor(g.api_token), entry_id)
    except publishing.EntryNotFound:
        abort(404)
    if entry.kind != COLLECTION_KINDS[collection]:
        abort(404)
    return entry


def _view(item, entry):
    return media.describe(item, api_language(), entry.source_language)


def _location(collection, entry_id, media_id):
    return url_for("api.media_one", collection=collection, entry_id=entry_id, media_id=media_id)


@bp.route(f"/{COLLECTIONS}/<{ID_RULE}:entry_id>/media")
def media_list(collection, entry_id):
    """The entry's media in order; visitors see the ready ones."""
    entry, own = _readable(collection, entry_id)
    items = media.for_entries([entry.id], ready_only=not own).get(entry.id, [])
    return jsonify(items=[_view(item, entry) for item in items])


@bp.route(f"/{COLLECTIONS}/<{ID_RULE}:entry_id>/media", methods=["POST"])
@token_required
@media_upload
def media_add(collection, entry_id):
    """Upload one file (``file``) with its alternative texts (``alt.<language>``)."""
    entry = _editable(collection, entry_id)
    upload = request.files.get("file")
    errors = {}
    if upload is None:
        errors["file"] = [_("Send the file as the multipart field “file”.")]
    alts = {}
    for name, value in request.form.items(multi=True):
        if not name.startswith("alt."):
            errors[name] = [_("Unknown field.")]
        elif name[4:] not in languages():
            errors[name] = [
                _("“%(language)s” is not one of the hub's languages.", language=name[4:])
            ]
        elif any(_lone_surrogates(value)):
            errors[name] = [_("This text is not valid Unicode (it has a lone surrogate).")]
        else:
            alts[name[4:]] = value
    if errors:
        raise ApiInputError(errors)
    try:
        item = media.add(
            entry.id, upload.filename, upload.stream, alts=alts, actor=TokenActor(g.api_token)
        )
    except media.MediaRefused as exc:
        db.session.rollback()
        field = "file" if exc.reason not in ("alt_language", "alt_too_long") else "alt"
        if exc.reason == "too_large":
            return api_error(413, exc.message, details={field: [exc.message]})
        raise ApiInputError({field: [exc.message]}) from None
    response = jsonify(_view(item, entry))
    response.status_code = 202
    response.headers["Location"] = _location(collection, entry.id, item.id)
    return response


@bp.route(f"/{COLLECTIONS}/<{ID_RULE}:entry_id>/media/<{ID_RULE}:media_id>")
def media_one(collection, entry_id, media_id):
    entry, own = _readable(collection, entry_id)
    item = media.get(media_id, entry.id)
    if item is None or (not own and item.status != "ready"):
        abort(404)
    return jsonify(_view(item, entry))


def _patch_body(item):
    """The PATCH body checked: ``(alts or None, position or None, cover)``; 422 per field."""
    body = json_object_body()
    errors = {}
    for key in body:
        if key not in PATCH_FIELDS:
            errors[key] = [_("Unknown field.")]
    alts = body.get("alts")
    if alts is not None:
        if not isinstance(alts, dict):
            errors["alts"] = [_('An object of texts by language, such as {"vi": "…"}.')]
        else:
            merged = dict(item.alts or {})
            for language, text in alts.items():
                if language not in languages():
                    errors[f"alts.{language}"] = [
                        _("“%(language)s” is not one of the hub's languages.", language=language)
                    ]
                elif text is not None and not isinstance(text, str):
                    errors[f"alts.{language}"] = [_("A text, or null to remove it.")]
                elif len(text or "") > media.MAX_ALT_CHARS:
                    errors[f"alts.{language}"] = [
                        _(
                            "An alternative text has at most %(max)s characters.",
                            max=media.MAX_ALT_CHARS,
                        )
                    ]
                else:
                    merged[language] = text or ""
            alts = merged
    position = body.get("position")
    if position is not None and (
        isinstance(position, bool) or not isinstance(position, int) or position < 0
    ):
        errors["position"] = [_("A whole number from 0 (the cover).")]
        position = None
    cover = body.get("cover")
    if cover is not None and not isinstance(cover, bool):
        errors["cover"] = [_("true or false.")]
    elif cover and position not in (None, 0):
        errors["cover"] = [_("The cover is at position 0: send one of the two.")]
    if errors:
        raise ApiInputError(errors)
    return alts, (0 if cover else position)


@bp.route(
    f"/{COLLECTIONS}/<{ID_RULE}:entry_id>/media/<{ID_RULE}:media_id>",
    methods=["PATCH", "DELETE"],
)
@token_required
def media_change(collection, entry_id, media_id):
    """PATCH: the alternative texts, the position or the cover; DELETE: remove it."""
    entry = _editable(collection, entry_id)
    item = media.get(media_id, entry.id)
    if item is None:
        abort(404)
    if request.method == "DELETE":
        media.remove(item)
        return "", 204
    alts, position = _patch_body(item)
    try:
        if alts is not None:
            media.update(item, alts=alts)
        if position is not None:
            order = [m.id for m in media.for_entries([entry.id]).get(entry.id, [])]
            order.remove(item.id)
            order.insert(min(position, len(order)), item.id)
            media.reorder(entry.id, order)
    except media.MediaRefused as exc:
        db.session.rollback()
        field = "alts" if exc.reason.startswith("alt") else "_body"
        raise ApiInputError({field: [exc.message]}) from None
    db.session.refresh(item)
    return jsonify(_view(item, entry))
