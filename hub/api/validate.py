"""``POST /api/v1/validate``: what a document would do to the hub, with nothing stored.

The document is the request's body (any content type), its kind and settings in the query
string; or a ``multipart/form-data`` form with the document as the ``document`` file (or text)
and ``kind``, ``settings``, ``source`` as text fields. Kinds: ``exchange`` (the push format of
``/api/v1/ingest``, the default), ``jsonfeed``, ``ical``, ``csv``. ``source=<id>`` takes the
kind and settings of one of the token's country's sources and compares with its entries.

Only bearer tokens: the API is exempt from CSRF because it takes no cookies, and a signed-in
administrator tries a source's own document from its page ("Try it", hub/sync/routes.py).
"""

from flask import current_app, g, jsonify, request
from flask_babel import format_number
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from hub.api import bp
from hub.api.auth import token_required
from hub.api.errors import api_error
from hub.api.routes import ApiInputError
from hub.db import parse_id
from hub.extensions import db
from hub.sync import validate as checker
from hub.sync.models import PartnerSource

FIELDS = ("kind", "settings", "source")


def _too_large(limit):
    message = _("The document is larger than %(max)s bytes.", max=format_number(limit))
    return api_error(413, message)


def _posted():
    """``(fields, document bytes)`` from the request; ``ApiInputError`` for a form that sends
    a file where text is expected, or no document."""
    if request.mimetype != "multipart/form-data":
        fields = {name: request.args.get(name) for name in FIELDS}
        return fields, request.get_data(cache=False)
    if wrong := [name for name in FIELDS if name in request.files]:
        raise ApiInputError(
            {name: [_("Send this as a text field, not as a file.")] for name in wrong}
        )
    fields = {name: request.form.get(name, request.args.get(name)) for name in FIELDS}
    if "document" in request.files:
        return fields, request.files["document"].read()
    if "document" in request.form:
        return fields, request.form["document"].encode("utf-8", "surrogatepass")
    raise ApiInputError({"document": [_("Send the document as the document field.")]})


def _source(raw, country_code):
    """The token's country's source numbered ``raw``: 404 for any other."""
    source_id = parse_id(raw)
    source = db.session.get(PartnerSource, source_id) if source_id else None
    if source is None or source.country_code != country_code:
        return None
    return source


@bp.route("/validate", methods=["POST"])
@token_required
def validate():
    """Check a document as the pipeline would and answer what it would create, update, leave
    unchanged and refuse (with the reasons, per field), storing nothing."""
    limit = current_app.config.get("VALIDATE_MAX_BYTES", checker.MAX_BYTES)
    request.max_content_length = limit
    try:
        fields, content = _posted()
    except RequestEntityTooLarge:
        return _too_large(limit)
    country = g.api_token.country_code
    try:
        if fields["source"]:
            if fields["kind"] or fields["settings"]:
                message = _("Give either a source or a kind and settings, not both.")
                raise ApiInputError({"source": [message]})
            source = _source(fields["source"], country)
            if source is None:
                return api_error(404, _("There is no such source for your country."))
            kind = checker.EXCHANGE if source.kind == "push" else source.kind
            if kind not in checker.POSTED_KINDS:
                message = _(
                    "A %(kind)s source reads several pages: it cannot be checked from one "
                    "posted document.",
                    kind=source.kind,
                )
                raise ApiInputError({"source": [message]})
            settings = checker.check_settings(kind, source.settings or {})
        else:
            kind = fields["kind"] or checker.EXCHANGE
            settings = checker.check_settings(kind, fields["settings"] or "{}")
            source = checker.push_source(country) if kind == checker.EXCHANGE else None
        report = checker.dry_run(kind, settings, country, source, content=content)
    except checker.DocumentError as exc:
        # Refused settings also name what is wrong with a stable code, whatever the language.
        code = {"settings_code": [exc.code]} if exc.code else {}
        raise ApiInputError({**exc.details, **code}) from None
    return jsonify(report.as_json())
