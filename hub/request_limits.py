"""What a request may send, checked before its body is read or parsed, so that too much of it
gets a 4xx in the caller's language rather than a 500 or a worker busy for nothing.

* Its size: ``HUB_MAX_CONTENT_LENGTH`` (``MAX_CONTENT_LENGTH``) for every request but the
  documents of ``POST /api/v1/ingest`` and ``POST /api/v1/validate``, which have theirs
  (``document_limit``, 10 MiB).
  A ``Content-Length`` over the limit is a 413 before a byte is read; a body without one is cut
  off at the limit by Werkzeug, a 413 too.
* Media uploads (the views marked ``@media_upload``: the API's and the manage page's) have a
  larger one, ``HUB_MEDIA_MAX_REQUEST_BYTES`` (by default ``HUB_MEDIA_MAX_BYTES``, 20 MiB, and
  1 MiB for the form around the file); ``hub.media`` checks each file against
  ``HUB_MEDIA_MAX_BYTES`` again.
* How deeply its JSON nests: ``MAX_JSON_DEPTH``. The app's JSON provider (``request.get_json``)
  scans the raw text for the depth before parsing it (``too_deep``), with regular expressions
  rather than a recursive parse, so a thousand nested arrays are a 400 (``too_deep``), not a
  RecursionError.
  ``loads`` does the same for JSON read outside ``get_json`` (a posted document, settings).
"""

import json
import re

from flask import current_app, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import format_number
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

MAX_JSON_DEPTH = 64  # an exchange document nests 6 levels; its settings fewer
DOCUMENT_BYTES = 10 * 1024 * 1024  # a pushed or posted document (/api/v1/ingest, /validate)
DOCUMENT_ENDPOINTS = frozenset({"api.push", "api.validate"})

_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_PAIR = re.compile(rb"\[\]|\{\}")


class JsonTooDeep(ValueError):
    """JSON nested deeper than ``MAX_JSON_DEPTH``: refused before it is parsed."""


class TooDeep(BadRequest):
    """A request's JSON nested too deeply: 400 ``too_deep``."""

    api_reason = "too_deep"

    def __init__(self):
        self.api_message = _(
            "The JSON is nested more than %(max)s levels deep.", max=MAX_JSON_DEPTH
        )
        super().__init__()


class TooLarge(RequestEntityTooLarge):
    """A request over its size limit: 413 ``too_large``, its message saying the limit."""

    def __init__(self, limit, document=False, media=False):
        size = format_number(limit)
        if media:
            self.api_message = _(
                "The upload is larger than %(max)s bytes, the most the hub accepts for photos "
                "and documents sent at once.",
                max=size,
            )
        elif document:
            self.api_message = _("The document is larger than %(max)s bytes.", max=size)
        else:
            self.api_message = _(
                "The request is larger than %(max)s bytes, the most the hub accepts.", max=size
            )
        super().__init__()


def too_deep(data):
    """Whether the JSON text ``data`` (str or bytes) nests its arrays and objects deeper than
    ``MAX_JSON_DEPTH``, from its brackets outside strings: each pass takes off the innermost
    pairs. Brackets that do not pair (a malformed text, which its parse refuses) count as
    nesting."""
    brackets = _brackets(data)
    for level in range(MAX_JSON_DEPTH + 1):
        inner = _PAIR.sub(b"", brackets)
        if inner == brackets:
            return level + inner.count(b"[") + inner.count(b"{") > MAX_JSON_DEPTH
        brackets = inner
    return True


def _brackets(data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)


def check_depth(data):
    if too_deep(data):
        raise JsonTooDeep(
            _("The JSON is nested more than %(max)s levels deep.", max=MAX_JSON_DEPTH)
        )


def loads(data):
    """``json.loads`` after the depth check (``JsonTooDeep``, a ValueError, when too deep)."""
    check_depth(data)
    return json.loads(data)


class JSONProvider(DefaultJSONProvider):
    """Flask's provider, refusing too deep a JSON text before parsing it: ``TooDeep``, which
    ``request.get_json(silent=True)`` does not swallow."""

    def loads(self, s, **kwargs):
        if too_deep(s):
            raise TooDeep()
        return super().loads(s, **kwargs)


def document_limit(app):
    return app.config.get("VALIDATE_MAX_BYTES", DOCUMENT_BYTES)


def media_upload(view):
    """Mark ``view`` as one that receives photos and documents: its requests may be as large
    as ``media_limit``."""
    view.media_upload = True
    return view


def media_limit(app):
    """The most a media upload request may send (``HUB_MEDIA_MAX_REQUEST_BYTES``)."""
    return max(app.config.get("MEDIA_MAX_REQUEST_BYTES", 0), app.config["MAX_CONTENT_LENGTH"])


def limit_body():
    """The request's size limit, enforced before anything reads the body."""
    document = request.endpoint in DOCUMENT_ENDPOINTS
    view = current_app.view_functions.get(request.endpoint)
    media = getattr(view, "media_upload", False)
    if media:
        limit = media_limit(current_app)
    elif document:
        limit = document_limit(current_app)
    else:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(limit, document, media)


def init_app(app):
    """Before any other hook (the CSRF check reads the form)."""
    app.before_request(limit_body)
