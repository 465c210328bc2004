"""The verification pages: ``/p/<id>`` (the rating, confirmed in the visitor's language), its QR
codes, its signed attestation, the hub's public keys, and for coordinators the label sheet and
withdrawing or reinstating a rating."""

import io
from urllib.parse import urlencode

from flask import (
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from hub.db import ID_RULE, parse_id, utctoday
from hub.extensions import login_manager
from hub.i18n import current_language, languages
from hub.publishing import forms
from hub.publishing import services as publishing
from hub.verification import bp, issuers, services

# A QR code of the page's address only changes with HUB_BASE_URL: browsers and proxies may keep
# it a day. One that carries the attestation changes when the rating does: five minutes.
QR_MAX_AGE = 24 * 3600
ATTESTATION_MAX_AGE = 300
KEYS_MAX_AGE = 3600
# Pixels per module of the PNG: a 33-module code (with its border) is about 330 pixels wide.
PNG_SCALE = 8


@bp.before_request
def _language_from_query():
    """The pages without a language prefix speak ``?lang=`` when it names one of the hub's
    languages; otherwise the visitor's, as ``/`` chooses it (account, cookie, browser)."""
    lang = request.args.get("lang")
    if request.endpoint == "verification.page" and lang in languages():
        g.lang = lang


def _rated_or_404(product_id):
    product = services.rated_product(product_id)
    if product is None:
        abort(404)
    return product


@bp.route(f"/p/<{ID_RULE}:product_id>")
def page(product_id):
    """The rating of a product, confirmed: scheme, stars, dates, the programme that gave it, and
    whether it has expired or been withdrawn."""
    product = _rated_or_404(product_id)
    here = url_for(".page", product_id=product_id, _external=True)
    g.alternate_urls = {code: f"{here}?{urlencode({'lang': code})}" for code in languages()}
    programme, programme_name = services.issuing_programme(product)
    found = publishing.shown(product, current_language())
    response = current_app.make_response(
        render_template(
            "verification/page.html",
            product=product,
            text=found.text,
            served=found.language,
            state=services.rating_state(product),
            programme=programme,
            programme_name=programme_name,
            signed=services.is_issued_here(product),
            issuer=issuers.check(product) if product.origin_hub else None,
            attested=services.stored_attestation(product) is not None,
            today=utctoday(),
        )
    )
    response.vary.update(("Accept-Language", "Cookie"))
    response.cache_control.no_cache = True  # a withdrawal shows at once
    return response


def _qr(product):
    """The QR code of the product's page; with ``?offline=1``, of the page's address followed
    by ``#`` and the attestation, which an inspector's app verifies without a connection (a
    phone's camera opens the page: browsers do not send what follows the ``#``)."""
    payload = services.verification_url(product.id)
    offline = request.args.get("offline") == "1"
    if offline:
        if (signed := services.stored_attestation(product)) is None:
            abort(404)
        payload = f"{payload}#{signed}"
    import segno  # with the first QR code, not with the app

    return segno.make_qr(payload, error="m"), offline


def _cacheable(response, max_age):
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    return response


@bp.route(f"/p/<{ID_RULE}:product_id>/qr.svg")
def qr_svg(product_id):
    code, offline = _qr(_rated_or_404(product_id))
    buffer = io.BytesIO()
    code.save(buffer, kind="svg", scale=4, border=4, xmldecl=False, svgns=True, light="#fff")
    response = current_app.response_class(buffer.getvalue(), mimetype="image/svg+xml")
    response.add_etag()
    return _cacheable(response, ATTESTATION_MAX_AGE if offline else QR_MAX_AGE).make_conditional(
        request
    )


@bp.route(f"/p/<{ID_RULE}:product_id>/qr.png")
def qr_png(product_id):
    code, offline = _qr(_rated_or_404(product_id))
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=PNG_SCALE, border=4)
    response = current_app.response_class(buffer.getvalue(), mimetype="image/png")
    response.add_etag()
    return _cacheable(response, ATTESTATION_MAX_AGE if offline else QR_MAX_AGE).make_conditional(
        request
    )


@bp.route(f"/p/<{ID_RULE}:product_id>/attestation")
def attestation(product_id):
    """The rating signed by this hub, as a compact JWS (``application/jose``); for a product
    copied from another hub, the attestation that hub signed, unchanged (404 when it came
    without one, or from a partner that signs none)."""
    product = _rated_or_404(product_id)
    if (signed := services.stored_attestation(product)) is None:
        abort(404)
    response = current_app.response_class(signed, mimetype="application/jose")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return _cacheable(response, ATTESTATION_MAX_AGE)


@bp.route("/.well-known/hub-keys.json")
def hub_keys():
    """The public keys this hub signs attestations with, as a JWK set (RFC 7517)."""
    response = jsonify(services.published_keys())
    response.mimetype = "application/jwk-set+json"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.add_etag()
    return _cacheable(response, KEYS_MAX_AGE).make_conditional(request)


# ---------------------------------------------------------------------------------------------
# Coordinators: the label sheet, withdrawing and reinstating a rating.


def _signed_in():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.route("/<lang>/manage/labels")
def labels():
    """A printable sheet (A4) of QR labels: a producer's products, or the products chosen."""
    if (refusal := _signed_in()) is not None:
        return refusal
    producer = request.args.get("producer") or None
    ids = [i for i in map(parse_id, request.args.getlist("id")) if i] or None
    products = []
    if producer or ids:
        products = services.label_products(current_user, producer, ids)
    return render_template(
        "verification/labels.html",
        products=products,
        producer=producer,
        producers=services.producers(current_user),
        today=utctoday(),
    )


def _rating_change(entry_id, change, message):
    if not forms.HubForm().validate_on_submit():
        abort(400)
    try:
        change(current_user, entry_id)
    except (publishing.EntryNotFound, services.NotRated):
        abort(404)
    flash(message, "success")
    return redirect(url_for("manage.entry", entry_id=entry_id))


@bp.route(f"/<lang>/manage/entries/<{ID_RULE}:entry_id>/rating/withdraw", methods=["POST"])
def withdraw(entry_id):
    if (refusal := _signed_in()) is not None:
        return refusal
    return _rating_change(
        entry_id,
        services.withdraw_rating,
        _("The rating is withdrawn: its verification page and QR codes say so."),
    )


@bp.route(f"/<lang>/manage/entries/<{ID_RULE}:entry_id>/rating/reinstate", methods=["POST"])
def reinstate(entry_id):
    if (refusal := _signed_in()) is not None:
        return refusal
    return _rating_change(
        entry_id,
        services.reinstate_rating,
        _("The rating is reinstated: its verification page shows it as valid again."),
    )


@bp.app_template_global()
def rating_state(product):
    """The state of a product's rating today, for the coordinators' page."""
    return services.rating_state(product)
