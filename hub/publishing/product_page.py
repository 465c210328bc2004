"""What a product's page tells a buyer beyond its facts: the rating as one sentence in the
reader's language (scheme, stars, date, validity; expired or withdrawn said), and the
producer's contact details when its coordinator made them public."""

from dataclasses import replace

from flask_babel import format_date, ngettext
from markupsafe import Markup, escape

from hub.publishing import bp


def rating_sentence(product, today=None):
    """``(sentence, state_sentence)``: "Rated 4 stars under … on 3 May 2025, valid until 2 May
    2028." with the issuing programme's name, the stars by the language's plural rules and
    the dates by Babel; ``state_sentence`` says when the rating expired or was withdrawn
    (None while it is valid)."""
    from hub.verification import services as verification

    state = verification.rating_state(product, today)
    _, programme = verification.issuing_programme(product)
    # Every value is escaped here, and the programme's name marked with its language when it is
    # not the page's: the sentence is markup (the catalogues' sentences carry no HTML).
    values = {"date": escape(format_date(product.rated_on, "long"))}
    valid = state == verification.VALID and product.valid_until is not None
    if valid:
        values["until"] = escape(format_date(product.valid_until, "long"))
    if programme is not None:
        name = escape(programme.text)
        if programme.language is not None and programme.language != programme.wanted:
            name = Markup('<span lang="{}">{}</span>').format(programme.language, name)
        values["programme"] = name
        if valid:
            sentence = ngettext(
                "Rated %(num)d star under %(programme)s on %(date)s, valid until %(until)s.",
                "Rated %(num)d stars under %(programme)s on %(date)s, valid until %(until)s.",
                product.stars,
                **values,
            )
        else:
            sentence = ngettext(
                "Rated %(num)d star under %(programme)s on %(date)s.",
                "Rated %(num)d stars under %(programme)s on %(date)s.",
                product.stars,
                **values,
            )
    elif valid:
        sentence = ngettext(
            "Rated %(num)d star on %(date)s, valid until %(until)s.",
            "Rated %(num)d stars on %(date)s, valid until %(until)s.",
            product.stars,
            **values,
        )
    else:
        sentence = ngettext(
            "Rated %(num)d star on %(date)s.",
            "Rated %(num)d stars on %(date)s.",
            product.stars,
            **values,
        )
    return Markup(sentence), _state_sentence(product, state, verification)


def _state_sentence(product, state, verification):
    from flask_babel import gettext as _

    if state == verification.WITHDRAWN:
        return _(
            "This rating was withdrawn on %(date)s. It is no longer valid.",
            date=format_date(product.rating_withdrawn_on, "long"),
        )
    if state == verification.EXPIRED:
        return _(
            "This rating expired on %(date)s. It is no longer valid.",
            date=format_date(product.valid_until, "long"),
        )
    return None


bp.add_app_template_global(rating_sentence, "rating_sentence")


@bp.app_template_global()
def public_contact(product):
    """The producer's contact details to show: ``{"email", "phone", "website"}`` with the
    given ones, only when the coordinator made them public; else an empty dict."""
    if not product.contact_public:
        return {}
    found = {
        "email": product.contact_email,
        "phone": product.contact_phone,
        "website": product.contact_website,
    }
    return {key: value for key, value in found.items() if value}


@bp.app_template_filter()
def isodate(value):
    """A date kept as ``YYYY-MM-DD`` in JSON (a certificate's), as a date; None if not one."""
    from datetime import date

    try:
        return date.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return None


OSM_ZOOM = 12  # OpenStreetMap's zoom for a producer's point: a town and its surroundings


def _degrees(value):
    """Degrees as a URL writes them: at most 5 decimals (about a metre), no trailing zeros."""
    return f"{value:.5f}".rstrip("0").rstrip(".")


@bp.app_template_global()
def producer_map(product):
    """The producer's point on a map of the product's country (``hub.registry.worldmap``):
    ``{"map": PointMap, "osm": its OpenStreetMap address}``, only for a published product
    with both coordinates; else None."""
    from hub.registry.worldmap import point_map

    if product.status != "published" or product.latitude is None or product.longitude is None:
        return None
    lat, lon = _degrees(product.latitude), _degrees(product.longitude)
    return {
        "map": point_map(product.country_code, product.longitude, product.latitude),
        "osm": f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map={OSM_ZOOM}/{lat}/{lon}",
    }


@bp.app_template_global()
def item_label(entry, value):
    """A list item's label (a shop's or a certificate's name) for the reader: given per
    language (``{"vi": …, "en": …}``), a ``hub.texts.core.Shown`` of the reader's language,
    else the entry's source language, else the first given (its fallback shown as every
    text's is); a plain text (a proper name, in the source language) as it is."""
    from types import SimpleNamespace

    from hub.i18n import current_language
    from hub.texts.core import resolve

    if not isinstance(value, dict):
        return value
    versions = [
        SimpleNamespace(language=lang, text=text, source_fingerprint=None)
        for lang, text in value.items()
        if text
    ]
    shown = resolve(versions, entry.source_language, current_language())
    return replace(shown, text=shown.text.text) if shown.text is not None else shown
