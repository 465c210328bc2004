"""schema.org descriptions of the hub's things, as JSON-LD objects (dicts) for the pages.

* the hub itself: ``Organization`` and a searchable ``WebSite`` (home page);
* a product: ``Product`` with its producer as ``brand`` and ``manufacturer`` (with its
  ``location``, a ``Place`` with ``geo`` coordinates, when given), its photos, its
  country of origin and its rating as ``hasCertification`` (a ``Certification`` with a
  ``Rating`` of 1 to 5 stars, its dates, its state and the programme that issued it). A rating
  is one programme's verdict, not an aggregate of reviews: no ``aggregateRating``. No
  ``offers``: the hub has no prices;
* a fair: ``ExhibitionEvent`` with its dates in the venue's zone, its place, organiser and
  ``eventStatus`` from the fair's status;
* a policy or an experience: ``Article``;
* a country: ``Country``; every detail page: ``BreadcrumbList``.

Every address is absolute, under ``HUB_BASE_URL`` (``url_for(..., _external=True)``).
"""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from hub.i18n import current_language
from hub.publishing import vocabulary as v
from hub.registry.regions import territory_name

CONTEXT = "https://schema.org"

# A fair's status as schema.org's EventStatusType. A fair that took place ("held") has no
# status of its own there: it was, and stays, as scheduled.
EVENT_STATUSES = {
    "scheduled": "https://schema.org/EventScheduled",
    "held": "https://schema.org/EventScheduled",
    "postponed": "https://schema.org/EventPostponed",
    "rescheduled": "https://schema.org/EventRescheduled",
    "cancelled": "https://schema.org/EventCancelled",
}


def with_context(thing):
    return {"@context": CONTEXT, **thing}


def _clean(thing):
    """``thing`` without its empty values (None, "", [], {}), nested objects too."""
    if isinstance(thing, dict):
        cleaned = {key: _clean(value) for key, value in thing.items()}
        return {key: value for key, value in cleaned.items() if value not in (None, "", [], {})}
    if isinstance(thing, list):
        return [item for item in map(_clean, thing) if item not in (None, "", [], {})]
    return thing


def hub_name():
    return _("OCOP Exchange Hub")


def hub_organization():
    home = url_for("registry.home", _external=True)
    return _clean(
        {
            "@type": "Organization",
            "@id": home + "#hub",
            "name": hub_name(),
            "url": home,
            "logo": url_for("static", filename="logo.svg", _external=True),
            "description": _(
                "The registry and exchange platform of the global One Village One Product network."
            ),
        }
    )


def website():
    home = url_for("registry.home", _external=True)
    return {
        "@type": "WebSite",
        "name": hub_name(),
        "url": home,
        "inLanguage": current_language(),
        "publisher": {"@id": home + "#hub"},
        "potentialAction": {
            "@type": "SearchAction",
            "target": url_for("search.search", _external=True) + "?q={search_term_string}",
            "query-input": "required name=search_term_string",
        },
    }


def breadcrumbs(crumbs):
    """``BreadcrumbList`` of ``[(name, absolute url)]``, from the home page down."""
    return {
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": n, "name": str(name), "item": url}
            for n, (name, url) in enumerate(crumbs, start=1)
        ],
    }


def country(found, name, here, description):
    return {
        "@type": "Country",
        "name": name,
        "url": here,
        "identifier": found.code,
        "description": description,
    }


def _country_ref(code):
    return {"@type": "Country", "name": territory_name(code), "identifier": code} if code else None


def entry(found, text, language, here, description, images):
    """The schema.org object of a published entry whose shown ``text`` is in ``language``."""
    common = {
        "name": text.title,
        "url": here,
        "description": description,
        "inLanguage": language,
        "image": [picture.src for picture in images],
    }
    if found.kind == "product":
        thing = {"@type": "Product", **common, **_product(found)}
    elif found.kind == "fair":
        thing = {"@type": "ExhibitionEvent", **common, **_fair(found)}
    else:
        thing = {
            "@type": "Article",
            **common,
            "headline": text.title[:110],
            "datePublished": (found.published_dt or found.created_dt).isoformat(),
            "dateModified": found.updated_dt.isoformat(),
            "publisher": _publisher(),
            "about": _country_ref(found.country_code),
            "articleSection": str(v.KIND_NAMES[found.kind][1]),
        }
    return _clean(thing)


def _publisher():
    home = url_for("registry.home", _external=True)
    return {"@type": "Organization", "@id": home + "#hub", "name": hub_name(), "url": home}


def _label(vocabulary, value):
    return v.label(vocabulary, value) if value else None


def _product(product):
    from hub.verification import services as verification

    producer = None
    if product.producer_name:
        producer = {
            "@type": "Organization",
            "name": product.producer_name,
            "address": {
                "@type": "PostalAddress",
                "addressLocality": product.locality,
                "addressCountry": product.country_code,
            },
        }
        # Where the producer is, as the product's page shows it: once published.
        if product.status == "published" and None not in (product.latitude, product.longitude):
            producer["location"] = {
                "@type": "Place",
                "geo": {
                    "@type": "GeoCoordinates",
                    "latitude": product.latitude,
                    "longitude": product.longitude,
                },
            }
    thing = {
        "category": _label(v.PRODUCT_GROUPS, product.product_group),
        "brand": {"@type": "Brand", "name": product.producer_name} if producer else None,
        "manufacturer": producer,
        "countryOfOrigin": _country_ref(product.country_code),
    }
    if product.stars:
        state = verification.rating_state(product)
        programme, programme_name = verification.issuing_programme(product)
        scheme = (
            product.rating_scheme.upper()
            if product.rating_scheme in ("ocop", "otop")
            else (
                programme.acronym if programme else _label(v.RATING_SCHEMES, product.rating_scheme)
            )
        )
        thing["hasCertification"] = {
            "@type": "Certification",
            "name": ngettext(
                "%(scheme)s rating: %(num)s star",
                "%(scheme)s rating: %(num)s stars",
                product.stars,
                scheme=scheme,
            ),
            "url": url_for("verification.page", product_id=product.id, _external=True),
            "certificationRating": {
                "@type": "Rating",
                "ratingValue": product.stars,
                "bestRating": 5,
                "worstRating": 1,
            },
            "certificationStatus": "https://schema.org/"
            + ("CertificationActive" if state == verification.VALID else "CertificationInactive"),
            "validFrom": product.rated_on.isoformat() if product.rated_on else None,
            "expires": product.valid_until.isoformat() if product.valid_until else None,
            "issuedBy": {
                "@type": "Organization",
                "name": " · ".join(
                    part
                    for part in (programme.acronym, getattr(programme_name, "text", None))
                    if part
                ),
            }
            if programme
            else None,
            "validIn": _country_ref(product.country_code),
        }
    return thing


def _moment(local, zone, all_day):
    """A fair's start or end as schema.org reads it: a date for an all-day fair, else the
    venue's wall-clock time with its UTC offset."""
    if local is None:
        return None
    if all_day:
        return local.date().isoformat()
    try:
        return local.replace(tzinfo=ZoneInfo(zone)).isoformat()
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return local.isoformat()


def _fair(fair):
    thing = {
        "startDate": _moment(fair.starts_local, fair.timezone, fair.all_day),
        "endDate": _moment(fair.ends_local, fair.timezone, fair.all_day),
        "eventStatus": EVENT_STATUSES.get(fair.fair_status or "scheduled"),
        "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        "location": {
            "@type": "Place",
            "name": fair.venue
            or fair.city
            or territory_name(fair.location_country or fair.country_code),
            "address": {
                "@type": "PostalAddress",
                "addressLocality": fair.city,
                "addressCountry": fair.location_country or fair.country_code,
            },
        },
        "organizer": {"@type": "Organization", "name": fair.organiser} if fair.organiser else None,
        "sameAs": fair.website,
    }
    if fair.fair_status in ("postponed", "rescheduled") and fair.previous_starts_local:
        thing["previousStartDate"] = _moment(
            fair.previous_starts_local, fair.timezone, fair.all_day
        )
    return thing
