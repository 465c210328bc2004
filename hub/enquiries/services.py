"""Storing a buyer's enquiry and reading enquiries for those who may see them: the
coordinators of the product's country and the administrators. The authorization is in every
query (``visible_enquiries``): another country's coordinator never reads one, not even by id."""

import re

from flask_babel import gettext as _
from sqlalchemy import select

from hub.accounts import notifications
from hub.accounts.services import record
from hub.db import parse_id, utcnow
from hub.enquiries.models import Enquiry, EnquiryStatus
from hub.extensions import db
from hub.i18n import languages
from hub.publishing.models import EntryStatus, Product
from hub.publishing.plain import short_text
from hub.publishing.queries import Page
from hub.publishing.services import shown
from hub.registry.regions import is_known_territory

PAGE_SIZE = 50
MESSAGE_LIMIT = 5000
# One address: something@domain.tld, no spaces or angle brackets (a coordinator copies it; the
# hub mails the coordinators, never the buyer).
EMAIL = re.compile(r"^[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\"]+\.[^\s@<>()\[\],;:\"]+$")
# Surrogates cannot be stored in UTF-8 (PostgreSQL refuses them): a text with one is refused.
SURROGATE = re.compile(r"[\ud800-\udfff]")


class ProductNotFound(Exception):
    """No published product with this id: nothing to enquire about."""


def enquirable_product(product_id):
    """The published, not deleted product ``product_id``, or None."""
    return db.session.scalars(
        select(Product).where(
            Product.id == product_id,
            Product.kind == "product",
            Product.status == EntryStatus.PUBLISHED,
            Product.deleted_dt.is_(None),
        )
    ).one_or_none()


def _text(value, errors, field, limit, required=False):
    if not isinstance(value, str):
        value = ""
    if SURROGATE.search(value):
        errors[field] = _("This text contains characters that cannot be stored; remove them.")
        return None
    if field == "message":
        value = value.strip()
        if len(value) > limit:
            errors[field] = _("At most %(max)s characters.", max=limit)
        elif re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value):
            errors[field] = _("This text contains control characters; remove them.")
    else:
        value = short_text(value, errors, field, limit)
    if required and not value and field not in errors:
        errors[field] = _("This field is required.")
    return value or ""


def check(fields):
    """The enquiry's checked values and the reasons per field (in the current language)."""
    errors = {}
    values = {
        "name": _text(fields.get("name"), errors, "name", 200, required=True),
        "organisation": _text(fields.get("organisation"), errors, "organisation", 200),
        "email": _text(fields.get("email"), errors, "email", 254, required=True),
        "quantity": _text(fields.get("quantity"), errors, "quantity", 200),
        "message": _text(fields.get("message"), errors, "message", MESSAGE_LIMIT, required=True),
    }
    if values["email"] and "email" not in errors and not EMAIL.match(values["email"]):
        errors["email"] = _("Enter an e-mail address, such as name@example.org.")
    country = fields.get("country")
    country = country.strip().upper() if isinstance(country, str) else ""
    if not country or not is_known_territory(country):
        errors["country"] = _("Choose a country.")
    values["buyer_country"] = country
    return values, errors


def submit(product, values, language):
    """Store the enquiry about ``product`` (checked values); it is its country's to answer."""
    db.begin_write()
    enquiry = Enquiry(
        product_id=product.id, country_code=product.country_code, language=language, **values
    )
    db.session.add(enquiry)
    db.session.flush()
    # Its country's coordinators (and administrators) who asked for it hear of it at once.
    titles = {lang: shown(product, lang).text.title for lang in languages()}
    notifications.notify(
        "enquiries", product.country_code, "mail/enquiries.html",
        link=("enquiries_manage.detail", {"enquiry_id": enquiry.id}),
        enquiry=enquiry, product_titles=titles,
    )  # fmt: skip
    db.session.commit()
    return enquiry


def visible_enquiries(actor):
    """The enquiries ``actor`` may read: every one for an administrator, their country's for a
    coordinator."""
    stmt = select(Enquiry)
    if not actor.is_admin:
        stmt = stmt.where(Enquiry.country_code == actor.country_code)
    return stmt


def enquiries_page(actor, status=None, cursor=None, limit=None):
    """One page of the enquiries ``actor`` may read, newest first; the cursor is the last id."""
    limit = limit or PAGE_SIZE
    stmt = visible_enquiries(actor)
    if status in EnquiryStatus.__members__.values():
        stmt = stmt.where(Enquiry.status == status)
    if (after := parse_id(cursor)) is not None:
        stmt = stmt.where(Enquiry.id < after)
    rows = db.session.scalars(stmt.order_by(Enquiry.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, str(rows[-1].id) if more else None)


def get_visible(actor, enquiry_id, lock=False):
    """The enquiry if ``actor`` may read it, else None (the same for one that does not exist)."""
    stmt = visible_enquiries(actor).where(Enquiry.id == enquiry_id)
    if lock:
        stmt = stmt.with_for_update()
    return db.session.scalars(stmt).one_or_none()


def set_status(actor, enquiry_id, status):
    """Mark the enquiry new, answered or closed; None when ``actor`` may not read it."""
    if status not in EnquiryStatus.__members__.values():
        raise ValueError(status)
    db.begin_write()
    enquiry = get_visible(actor, enquiry_id, lock=True)
    if enquiry is None:
        db.session.rollback()
        return None
    if enquiry.status != status:
        enquiry.status = status
        enquiry.status_dt = utcnow()
        enquiry.status_by_id = actor.id
        record(actor, f"enquiry.{status}", "enquiry", enquiry.id, enquiry.country_code)
    db.session.commit()
    return enquiry
