"""The API's error answers: one shape for every refusal under /api, in the reader's language.

``{"error": {"code": 422, "reason": "invalid_input", "message": "…", "details": {…}}}``:
``code`` is the HTTP status (as it always was in v1), ``reason`` a stable machine-readable name
that never changes with the language, ``message`` a sentence in the language asked for and
``details`` the messages per field (empty when the refusal is not about fields).

The language (``hub.i18n.api_language``): ``?lang=`` when it names one of the hub's languages,
else the best of ``Accept-Language``, else the default (English). Signed-in preferences and the
language cookie are a browser's, not a client program's: they do not count here.
"""

from flask import jsonify
from flask_babel import lazy_gettext as _l

# status: (stable code, what it means — the message when the refusal gives none of its own)
ERRORS = {
    400: ("bad_request", _l("The request could not be understood.")),
    401: ("unauthorized", _l("This needs a valid token or a signed-in account.")),
    403: ("forbidden", _l("This token or account may not do this.")),
    404: ("not_found", _l("There is nothing at this address.")),
    405: ("method_not_allowed", _l("This address does not take this method.")),
    409: ("conflict", _l("The request conflicts with the state of the hub.")),
    413: ("too_large", _l("The request is larger than the hub accepts.")),
    415: ("unsupported_media_type", _l("The hub cannot read this type of content.")),
    422: ("invalid_input", _l("The request is not valid.")),
    429: ("rate_limited", _l("Too many requests in a short time: wait, then try again.")),
    500: ("server_error", _l("The hub could not complete the request. The error is logged.")),
    503: ("unavailable", _l("The hub cannot answer just now: try again later.")),
}
# Codes more precise than their status's, for refusals that a client may want to tell apart.
SPECIFIC = {
    "pushes_paused": (409, _l("Pushes for this country are paused by an administrator.")),
    "not_in_trash": (404, _l("This entry is not in your country's trash.")),
    "from_partner": (
        403,
        _l("A partner source brought this entry: it comes back only when the partner sends it."),
    ),
    "too_deep": (400, _l("The JSON is nested too deeply.")),
    "trash_expired": (
        409,
        _l("This entry was deleted too long ago to be restored: it has left the trash."),
    ),
    "feed_restarted": (
        410,
        _l("This changes feed has started a new history: read it again from the start."),
    ),
}

ERROR_CODES = sorted({code for code, _text in ERRORS.values()} | set(SPECIFIC))


def error_code(status):
    if status in ERRORS:
        return ERRORS[status][0]
    return "server_error" if status >= 500 else "bad_request"


def api_error(status, message=None, details=None, code=None, headers=None, extra=None):
    """The JSON error answer: ``status`` and its stable ``code`` (or a more precise ``code``
    of ``SPECIFIC``), ``message`` (the status's own when None) and ``details``; ``extra``:
    members beside ``error`` (the changes feed's baseline to start again from)."""
    if code in SPECIFIC:
        status, default = SPECIFIC[code]
    else:
        code = error_code(status)
        default = ERRORS.get(status, ERRORS[500 if status >= 500 else 400])[1]
    body = {
        "code": status,
        "reason": code,
        "message": str(message if message is not None else default),
        "details": details or {},
    }
    response = jsonify(error=body, **(extra or {}))
    response.status_code = status
    for key, value in headers or ():
        if key.lower() != "content-type":
            response.headers[key] = value
    # The message is in the language asked for: caches must keep one per language.
    response.vary.add("Accept-Language")
    return response
