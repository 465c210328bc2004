"""Site-wide routes and error pages: the language redirect at ``/``, ``security.txt``, the
headers every answer carries and the error handlers."""

from datetime import UTC, datetime, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.globals import request_ctx
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

from hub.extensions import db
from hub.i18n import current_language

bp = Blueprint("site", __name__)

# Browsers that saw the hub over https keep to https for this long (a year).
HSTS_MAX_AGE = 365 * 24 * 3600
# How far ahead security.txt's Expires lies, from the day it is served (RFC 9116 asks for less
# than a year).
SECURITY_TXT_DAYS = 180

ERROR_TEXTS = {
    400: (
        _l("Bad request"),
        _l("The request could not be understood. Check the address or the form and try again."),
    ),
    401: (_l("Not signed in"), _l("This needs a valid token or a signed-in account.")),
    403: (_l("Not allowed"), _l("You do not have permission to see this page.")),
    404: (
        _l("Page not found"),
        _l("There is no page at this address. It may have moved, or the address may be mistyped."),
    ),
    405: (_l("Method not allowed"), _l("This page cannot be used that way.")),
    413: (_l("Too large"), _l("What was sent is larger than the hub accepts.")),
    429: (
        _l("Too many attempts"),
        _l("Too many requests came from you in a short time. Wait a minute, then try again."),
    ),
    500: (
        _l("Something went wrong"),
        _l(
            "The hub could not complete your request. The error has been logged; "
            "please try again later."
        ),
    ),
}


@bp.route("/")
def root():
    """Send the visitor to the home page in their best language."""
    response = redirect(url_for("registry.home", lang=current_language()))
    response.vary.update(("Accept-Language", "Cookie"))
    return response


@bp.route("/healthz")
def health():
    """Liveness for load balancers: answers without touching the database."""
    return jsonify(status="ok")


@bp.route("/.well-known/security.txt")
def security_txt():
    """Where to report a vulnerability (RFC 9116), from ``HUB_SECURITY_CONTACT``; 404 unset."""
    contacts = current_app.config["SECURITY_CONTACT"]
    if not contacts:
        abort(404)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    expires = today + timedelta(days=SECURITY_TXT_DAYS)
    lines = [f"Contact: {contact}" for contact in contacts]
    lines.append(f"Expires: {expires:%Y-%m-%dT%H:%M:%SZ}")
    lines.append("Preferred-Languages: vi, en, ja")
    if base := current_app.config["BASE_URL"]:
        lines.append(f"Canonical: {base}/.well-known/security.txt")
    return current_app.response_class("\n".join(lines) + "\n", mimetype="text/plain")


@bp.after_app_request
def security_headers(response):
    """Pages load nothing from elsewhere and run no inline code; say so to the browser. Over
    https, or when the hub's address is https, browsers are told to keep to https."""
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    base = current_app.config["BASE_URL"] or ""
    if request.is_secure or base.startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE}")
    return response


@bp.app_errorhandler(HTTPException)
def http_error(exc):
    return _render_error(exc.code or 500, exc)


@bp.app_errorhandler(Exception)
def unhandled_error(exc):
    # Keep the failed transaction from leaking into the next use of the session.
    db.session.rollback()
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    return _render_error(500, InternalServerError())


def _render_error(code, exc):
    title, message = ERROR_TEXTS.get(code, ERROR_TEXTS[500 if code >= 500 else 400])
    message = getattr(exc, "api_message", message)
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        # One error shape for every 4xx and 5xx under /api (hub/api/errors.py).
        from hub.api.errors import api_error

        headers = exc.get_headers() if hasattr(exc, "get_headers") else ()
        # A refusal of the hub's own (hub.request_limits) has a reason and a message to give.
        reason, said = getattr(exc, "api_reason", None), getattr(exc, "api_message", None)
        return api_error(code, said, code=reason, headers=headers)
    if request_ctx.url_adapter is None:
        # The request was refused before routing (an untrusted Host): no page can link anywhere.
        response = current_app.response_class(f"{title}\n{message}\n", mimetype="text/plain")
    else:
        response = current_app.make_response(
            render_template("errors/error.html", code=code, title=title, message=message)
        )
    response.status_code = code
    if hasattr(exc, "get_headers"):
        for key, value in exc.get_headers():
            if key.lower() != "content-type":
                response.headers[key] = value
    return response
