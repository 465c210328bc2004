"""Following by e-mail, for visitors (hub.digests.follow): the form, the confirmation link and
the link that stops a digest."""

from flask import current_app, render_template, request, url_for
from flask_babel import gettext as _

from hub.digests import bp, follow
from hub.extensions import csrf, db, limiter
from hub.forms import HubForm
from hub.i18n import current_language
from hub.registry.models import Country


def _follow_limit():
    return current_app.config["FOLLOW_RATE_LIMIT"]


def _what(values):
    """``(country_code, collection, errors)`` of the form's or the link's values."""
    country = (values.get("country") or "").strip().upper()
    collection = (values.get("collection") or "").strip().lower()
    errors = {}
    if country and (len(country) != 2 or db.session.get(Country, country) is None):
        errors["country"], country = _("Choose a country of the registry."), ""
    if collection and collection not in follow.COLLECTIONS:
        errors["collection"], collection = _("Choose one of the options."), ""
    return country, collection, errors


@bp.route("", methods=["GET", "POST"])
@limiter.limit(_follow_limit, methods=["POST"])
def follow_page():
    country, collection, errors = _what(request.values)
    email = ""
    if request.method == "POST":
        if not HubForm().validate_on_submit():
            return render_template("digests/follow.html", country=country,
                                   collection=collection, errors=errors, email=""), 400  # fmt: skip
        email = (request.form.get("email") or "")[:300]
        address = follow.valid_address(email)
        if address is None:
            errors["email"] = _("“%(value)s” is not an e-mail address.", value=email[:100])
        if not errors:
            follow.ask(address, current_language(), country, collection)
            return _done("asked", country, collection)
    status = 422 if errors and request.method == "POST" else 200
    return render_template(
        "digests/follow.html", country=country, collection=collection, errors=errors,
        email=email,
    ), status  # fmt: skip


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token):
    """A button first: a mail program that opens links to scan them confirms nothing."""
    row = follow.pending(token)
    if row is None:
        return _invalid()
    form = HubForm()
    if form.validate_on_submit():
        follow.confirm(row)
        return _done("confirmed", row.country_code, row.collection)
    return render_template("digests/follow_confirm.html", row=row)


@bp.route("/stop/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the proof; mail programs post one-click (RFC 8058) bare
def stop(token):
    row = follow.read_stop_token(token)
    if row is None:  # a forged link, or one already used (the subscription is gone)
        return _invalid()
    if request.method == "POST":
        follow.stop(row)
        return _done("stopped")
    return render_template("digests/follow_stop.html", row=row)


def _done(state, country="", collection=""):
    return render_template(
        "digests/follow_done.html", state=state, country=country, collection=collection,
        days=follow.CONFIRM_DAYS,
    )  # fmt: skip


def _invalid():
    again = [(url_for(".follow_page"), _("Follow by e-mail"))]
    return render_template("link_invalid.html", again=again), 410
