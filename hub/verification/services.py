"""Verifying a product's rating: which products have a verification page, the state of their
rating on a day (valid, expired, withdrawn), the programme that issued it, its signed
attestation, and the country's coordinators withdrawing and reinstating it."""

from datetime import UTC, datetime

from flask import has_app_context, url_for
from sqlalchemy import select

from hub.accounts.services import record
from hub.db import utcnow, utctoday
from hub.extensions import db
from hub.history import services as history
from hub.publishing import revisions as rv
from hub.publishing import services as publishing
from hub.publishing.models import EntryStatus, Product
from hub.registry import facts
from hub.registry.models import Programme
from hub.urls import base_url, origin_url
from hub.verification import jws, keys

VALID, EXPIRED, WITHDRAWN = "valid", "expired", "withdrawn"


class NotRated(Exception):
    """The product is the actor's to change but has no rating to withdraw or reinstate."""


def rated_product(product_id):
    """The published product ``product_id`` with a rating, or None: only those have a
    verification page (a draft, a deleted or an unrated product does not)."""
    return db.session.scalars(
        select(Product).where(
            Product.id == product_id,
            Product.status == EntryStatus.PUBLISHED,
            Product.deleted_dt.is_(None),
            Product.stars.is_not(None),
        )
    ).one_or_none()


def rating_state(product, today=None):
    """``WITHDRAWN``, ``EXPIRED`` (its last valid day is before ``today``, by default today in
    UTC as the lists count) or ``VALID``."""
    if product.rating_withdrawn_on is not None:
        return WITHDRAWN
    return EXPIRED if publishing.is_expired(product, today) else VALID


def issuing_programme(product):
    """The programme of the product's country that gave the rating, with its name for the
    reader: ``(programme, shown name)``; the one whose acronym is the rating scheme's (OCOP,
    OTOP), else the country's first; ``(None, None)`` when the registry has none."""
    programmes = db.session.scalars(
        select(Programme)
        .where(Programme.country_code == product.country_code)
        .order_by(Programme.id)
    ).all()
    if not programmes:
        return None, None
    scheme = (product.rating_scheme or "").upper()
    programme = next((p for p in programmes if p.acronym.upper() == scheme), programmes[0])
    found = facts.programme_texts([programme])
    return programme, facts.fact(found, "programme", programme.id, "name")


def is_issued_here(product):
    """Whether this hub gave the rating and so signs it: a product written here, not one a
    partner source or another hub brought (their attestations are their issuers')."""
    return product.origin == "local" and not product.origin_hub


def verification_url(product_id):
    """The absolute address of the product's verification page, what its QR code encodes."""
    return url_for("verification.page", product_id=product_id, _external=True)


def _source_title(product):
    # Read from the translations themselves: the product may be plain values (the sync's and
    # the changes feed's rows) rather than a model.
    titles = {t.language: t.title for t in product.translations or () if t.title}
    if product.source_language in titles:
        return titles[product.source_language]
    return next(iter(titles.values()), "")


def claims(product, now=None):
    """What the attestation of ``product``'s rating says: JWT's ``iss`` (this hub's address),
    ``sub`` (the product's id) and ``iat``, the product's name (in its source language), its
    producer and country, the scheme, stars and dates, and ``withdrawn_on`` when withdrawn."""
    issued = now or datetime.now(UTC)
    if issued.tzinfo is None:  # a UTC moment as a database without time zones gives it
        issued = issued.replace(tzinfo=UTC)
    result = {
        "iss": base_url(),
        "sub": str(product.id),
        "iat": int(issued.timestamp()),
        "url": verification_url(product.id),
        "name": _source_title(product),
        "producer": product.producer_name,
        "country": product.country_code,
        "scheme": product.rating_scheme,
        "stars": product.stars,
        "rated_on": _iso(product.rated_on),
        "valid_until": _iso(product.valid_until),
    }
    if product.rating_withdrawn_on is not None:
        result["withdrawn_on"] = product.rating_withdrawn_on.isoformat()
    return result


def _iso(day):
    return day.isoformat() if day is not None else None


def attestation(product, now=None):
    """The product's rating signed with the hub's current key: a compact JWS."""
    return jws.sign(claims(product, now), keys.key_ring().current)


def travelling_attestation(product):
    """The attestation a product's record carries in the exchange format: a copy's as its
    issuing hub signed it, unchanged; for a published product rated here, this hub's
    signature, made when the product last changed (so that the record stays the same until
    it changes), and only when ``HUB_BASE_URL`` says where its keys are; else None."""
    # The sync's rows (plain values) say no origin: what it writes was never rated here.
    if getattr(product, "origin_hub", None) or getattr(product, "origin", None) != "local":
        return getattr(product, "rating_attestation", None)
    if (
        product.stars is None
        or product.status != EntryStatus.PUBLISHED
        or product.deleted_dt is not None
        or getattr(product, "id", None) is None
        or not has_app_context()  # records made outside the app (the bench's data set)
        or origin_url() is None
    ):
        return None
    return attestation(product, product.updated_dt)


def stored_attestation(product):
    """The attestation ``/p/<id>/attestation`` answers: this hub's signature for a product
    rated here, the issuing hub's unchanged for a copy that brought one; else None."""
    if is_issued_here(product):
        return attestation(product)
    return product.rating_attestation


def published_keys():
    """The hub's public keys as a JWK set: the current one and every one it signed with."""
    return keys.key_ring().jwks()


def _editable_rated(actor, product_id):
    entry = publishing.get_editable(actor, product_id, lock=True)
    if not isinstance(entry, Product) or entry.stars is None:
        db.session.rollback()
        raise NotRated(product_id)
    return entry


def _changed(entry, actor, action, old):
    entry.change_seq = publishing.next_change_seq()
    entry.updated_dt = utcnow()
    entry.updated_by_id = actor.id
    record(actor, f"product.{action}", "product", entry.id, entry.country_code)
    # In the history, a change of the product's details like any other ("Rating withdrawn on").
    history.record(rv.SUBJECT, entry.id, "edit", actor, old=old)


def withdraw_rating(actor, product_id):
    """Withdraw the product's rating from today (UTC): its verification page and attestation
    say so. Only its country's coordinators (and administrators) may; ``EntryNotFound`` for
    another's, ``NotRated`` for a product without a rating."""
    db.begin_write()
    entry = _editable_rated(actor, product_id)
    if entry.rating_withdrawn_on is None:
        entry.rating_withdrawn_on = utctoday()
        _changed(entry, actor, "withdraw_rating", {"rating_withdrawn_on": None})
    db.session.commit()
    return entry


def reinstate_rating(actor, product_id):
    """Undo a withdrawal: the rating counts again, until its own end of validity."""
    db.begin_write()
    entry = _editable_rated(actor, product_id)
    if entry.rating_withdrawn_on is not None:
        old = {"rating_withdrawn_on": entry.rating_withdrawn_on.isoformat()}
        entry.rating_withdrawn_on = None
        _changed(entry, actor, "reinstate_rating", old)
    db.session.commit()
    return entry


def label_products(actor, producer=None, ids=None):
    """The published rated products of the actor's country (every country's for an
    administrator) to print labels for: a producer's, or those of ``ids``, by name."""
    stmt = publishing.editable_entries(actor).where(
        Product.status == EntryStatus.PUBLISHED, Product.stars.is_not(None)
    )
    stmt = stmt.where(Product.kind == "product")
    if producer:
        stmt = stmt.where(Product.producer_name == producer)
    if ids is not None:
        stmt = stmt.where(Product.id.in_(ids))
    return db.session.scalars(stmt.order_by(Product.id).limit(LABELS_MAX)).all()


def producers(actor):
    """The producers of the actor's published rated products, for the label sheet's choice."""
    stmt = publishing.editable_entries(actor).where(
        Product.kind == "product",
        Product.status == EntryStatus.PUBLISHED,
        Product.stars.is_not(None),
        Product.producer_name.is_not(None),
    )
    names = db.session.scalars(stmt.with_only_columns(Product.producer_name).distinct()).all()
    return sorted(names)


# One A4 sheet holds 24 labels; a sheet of a few pages is the most one print asks for.
LABELS_MAX = 96
