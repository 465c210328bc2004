"""The buyer's enquiry form (``/<lang>/products/<id>/enquiry``) and the coordinators' pages
(``/<lang>/manage/enquiries``)."""

from babel import Locale
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from hub.db import ID_RULE
from hub.enquiries import bp, forms, manage_bp, services
from hub.enquiries.models import EnquiryStatus
from hub.extensions import limiter, login_manager
from hub.i18n import current_language
from hub.publishing import services as publishing
from hub.registry.regions import country_choices, is_known_territory


def _world_countries():
    territories = Locale.parse(current_language()).territories
    return country_choices(c for c in territories if is_known_territory(c))


def _enquiry_limit():
    return current_app.config["ENQUIRY_RATE_LIMIT"]


@bp.route(f"/products/<{ID_RULE}:product_id>/enquiry", methods=["GET", "POST"])
@limiter.limit(_enquiry_limit, methods=["POST"])
def enquire(product_id):
    """A trade enquiry about a published product: stored, then shown to the coordinators of
    the product's country. No account is needed; the form carries a CSRF token, a honeypot
    field and a rate limit per address."""
    product = services.enquirable_product(product_id)
    if product is None:
        abort(404)
    form = forms.EnquiryForm()
    form.prepare(_world_countries())
    errors = {}
    if request.method == "POST" and form.validate():
        if form.website.data:
            # A robot filled the hidden field: thanked like a person, and nothing is kept.
            return redirect(url_for(".sent", product_id=product.id))
        values, errors = services.check(form.fields())
        if not errors:
            services.submit(product, values, current_language())
            return redirect(url_for(".sent", product_id=product.id))
        for name, message in errors.items():
            form[name].errors = [message]
    text = publishing.shown(product, current_language())
    status = 400 if request.method == "POST" else 200
    return render_template(
        "enquiries/form.html", form=form, product=product, text=text.text, served=text.language
    ), status


@bp.route(f"/products/<{ID_RULE}:product_id>/enquiry/sent")
def sent(product_id):
    product = services.enquirable_product(product_id)
    if product is None:
        abort(404)
    text = publishing.shown(product, current_language())
    return render_template(
        "enquiries/sent.html", product=product, text=text.text, served=text.language
    )


@manage_bp.before_request
def _signed_in_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@manage_bp.route("/")
def index():
    status = request.args.get("status")
    status = status if status in EnquiryStatus.__members__.values() else None
    page = services.enquiries_page(current_user, status, request.args.get("after"))
    return render_template(
        "enquiries/index.html", page=page, status=status, labels=forms.STATUS_LABELS
    )


@manage_bp.route(f"/<{ID_RULE}:enquiry_id>", methods=["GET", "POST"])
def detail(enquiry_id):
    enquiry = services.get_visible(current_user, enquiry_id)
    if enquiry is None:
        abort(404)
    form = forms.StatusForm(status=enquiry.status)
    form.prepare()
    if request.method == "POST":
        if not form.validate() or form.status.data not in EnquiryStatus.__members__.values():
            abort(400)
        services.set_status(current_user, enquiry_id, form.status.data)
        flash(_("The enquiry's status is saved."), "success")
        return redirect(url_for(".detail", enquiry_id=enquiry_id))
    text = publishing.shown(enquiry.product, current_language())
    return render_template(
        "enquiries/detail.html",
        enquiry=enquiry,
        form=form,
        labels=forms.STATUS_LABELS,
        text=text.text,
        served=text.language,
    )
