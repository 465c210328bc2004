"""The rules of each kind of entry's fields, the same for a coordinator's form, the API and a
partner's record: ``FIELD_RULES[kind](fields, country_code, errors)`` gives the checked values,
and puts a reason per field in ``errors`` in the current language."""

import functools
import math
import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.lists import format_list
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from hub.db import latest_possible_date, parse_id
from hub.extensions import db
from hub.i18n import current_language
from hub.publishing import partner_metadata
from hub.publishing import vocabulary as v
from hub.publishing.models import EntryStatus, Policy, Product
from hub.publishing.plain import CONTROL as _CONTROL
from hub.publishing.plain import short_text as _short
from hub.registry.models import Programme
from hub.registry.regions import is_known_territory


def _url(value, errors, field):
    value = (value or "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 500:
        errors[field] = _("Enter a web address starting with http:// or https://.")
    return value


def _choice(value, vocabulary, errors, field, required=False):
    value = (value or "").strip() or None
    if value is None:
        if required:
            errors[field] = _("Choose one of the options.")
        return None
    if value not in vocabulary:
        errors[field] = _("“%(value)s” is not one of the options.", value=value)
    return value


FIRST_YEAR, LAST_YEAR = 1900, 2200


def _dates_in_range(fields, errors, names):
    """Refuse dates no entry can have (year 9999 overflows the time-zone arithmetic)."""
    for name in names:
        day = fields.get(name)
        if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
            errors[name] = _(
                "Enter a date between %(first)s and %(last)s.", first=FIRST_YEAR, last=LAST_YEAR
            )


@functools.cache
def _zone_names():
    # The IANA zones, less the system's aliases ("localtime" is the server's own zone).
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if name not in ("localtime", "posixrules", "Factory")
        and not name.startswith(("posix/", "right/"))
    )


def _not_future(day, errors, field):
    """Refuse a date that has not come anywhere on Earth yet: the same rule as a membership
    change's, whatever the server's own time zone."""
    if day and field not in errors and day > latest_possible_date():
        errors[field] = _("This date is in the future.")


def _policy_fields(fields, country_code, errors):
    _dates_in_range(fields, errors, ("issued_on",))
    values = {
        "instrument": _choice(fields.get("instrument"), v.INSTRUMENTS, errors, "instrument"),
        "reference_number": _short(fields.get("reference_number"), errors, "reference_number", 100),
        "issuing_body": _short(fields.get("issuing_body"), errors, "issuing_body"),
        "issued_on": fields.get("issued_on"),
        "link": _url(fields.get("link"), errors, "link"),
    }
    _not_future(values["issued_on"], errors, "issued_on")
    return values


def _outcomes(rows, errors):
    outcomes = []
    for index, row in enumerate(rows or []):
        metric, value, unit = row.get("metric"), row.get("value"), (row.get("unit") or "").strip()
        if not metric and value in (None, "") and not unit:
            continue  # an empty row of the form
        field = f"outcomes-{index}"
        if metric not in v.OUTCOME_METRICS:
            errors[field] = _("Choose what the figure measures.")
            continue
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            errors[field] = _("The figure must be a number, zero or more.")
            continue
        if len(unit) > 40 or _CONTROL.search(unit):
            errors[field] = _("The unit is at most 40 characters.")
            continue
        outcomes.append({"metric": metric, "value": value, "unit": unit})
    return outcomes


def _experience_fields(fields, country_code, errors):
    programme_id = parse_id(fields.get("programme_id"))
    if fields.get("programme_id") and programme_id is None:
        errors["programme_id"] = _("Choose one of your country's programmes.")
    if programme_id is not None:
        programme = db.session.get(Programme, programme_id)
        if programme is None or programme.country_code != country_code:
            errors["programme_id"] = _("Choose one of your country's programmes.")
    policy_ids = [i for i in map(parse_id, fields.get("policy_ids") or []) if i]
    policies = []
    if policy_ids:
        policies = db.session.scalars(
            select(Policy).where(
                Policy.id.in_(policy_ids),
                Policy.deleted_dt.is_(None),
                Policy.country_code == country_code,
            )
        ).all()
        if len(policies) != len(set(policy_ids)):
            errors["policy_ids"] = _("Choose among your country's policies.")
    return {
        "programme_id": programme_id,
        "outcomes": _outcomes(fields.get("outcomes"), errors),
        "policies": policies,
    }


def _zone(name, errors):
    name = (name or "").strip()
    if not name:
        errors["timezone"] = _("Choose the time zone of the venue.")
        return None, None
    if name not in _zone_names():  # "localtime" would be the server's own zone
        errors["timezone"] = _(
            "“%(value)s” is not a time zone (such as Asia/Ho_Chi_Minh).", value=name
        )
        return None, None
    return name, ZoneInfo(name)


MAX_EXHIBITORS = 500


def _exhibitors(ids, country_code, errors):
    """The products of ``ids`` that may exhibit at a fair of ``country_code``: the country's
    own products (drafts too: they show once published) and other countries' published ones."""
    wanted = []
    for value in ids:
        product_id = value if isinstance(value, int) and not isinstance(value, bool) else None
        if product_id is None:
            product_id = parse_id(value)
        if product_id is None:
            errors["exhibitors"] = _("Exhibitors are given by product ids.")
            return []
        wanted.append(product_id)
    wanted = list(dict.fromkeys(wanted))
    if len(wanted) > MAX_EXHIBITORS:
        errors["exhibitors"] = _(
            "A fair lists at most %(count)s exhibiting products.", count=MAX_EXHIBITORS
        )
        return []
    if not wanted:
        return []
    found = {
        p.id: p
        for p in db.session.scalars(
            select(Product).where(Product.id.in_(wanted), Product.deleted_dt.is_(None))
        )
        if p.country_code == country_code or p.status == EntryStatus.PUBLISHED
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        errors["exhibitors"] = _(
            "No product can exhibit under these ids: %(ids)s. Choose your country's products "
            "or other countries' published ones.",
            ids=format_list([str(i) for i in missing[:10]], locale=current_language()),
        )
        return []
    return [found[i] for i in wanted]


def _exhibitor_countries(codes, errors):
    codes = [str(c or "").strip().upper() for c in codes or ()]
    codes = list(dict.fromkeys(c for c in codes if c))
    if any(not is_known_territory(c) for c in codes):
        errors["exhibitor_countries"] = _("Choose countries of the list.")
    return sorted(codes) or None  # none: as a fair saved before exhibitors were kept


def _fair_fields(fields, country_code, errors):
    _dates_in_range(fields, errors, ("start_date", "end_date", "registration_deadline"))
    name, zone = _zone(fields.get("timezone"), errors)
    all_day = bool(fields.get("all_day"))
    start_day, end_day = (
        fields.get("start_date"),
        fields.get("end_date") or fields.get("start_date"),
    )
    start_time, end_time = fields.get("start_time"), fields.get("end_time")
    if start_day is None:
        errors["start_date"] = _("The first day of the fair is required.")
    if not all_day and (start_time is None or end_time is None):
        errors["start_time"] = _("Give the opening and closing times, or mark the fair as all-day.")
    starts = ends = None
    if start_day and end_day:
        starts = datetime.combine(start_day, time(0) if all_day else (start_time or time(0)))
        ends = datetime.combine(end_day, time(0) if all_day else (end_time or time(0)))
        # A timed fair may end when it starts: given by its opening alone, as an iCalendar
        # event with no end (RFC 5545 3.6.1: it takes no time).
        if ends < starts:
            errors["end_date"] = _("The fair must end after it starts.")
    location = (fields.get("location_country") or "").strip().upper() or None
    if location and not is_known_territory(location):
        errors["location_country"] = _("Choose a country.")
    groups = list(dict.fromkeys(fields.get("product_groups") or []))
    if any(g not in v.PRODUCT_GROUPS for g in groups):
        errors["product_groups"] = _("Choose among the six product groups.")
    deadline = fields.get("registration_deadline")
    if deadline and start_day and deadline > start_day:
        errors["registration_deadline"] = _("Registration must close before the fair starts.")
    values = {
        "venue": _short(fields.get("venue"), errors, "venue"),
        "city": _short(fields.get("city"), errors, "city", 200),
        "location_country": location,
        "starts_local": starts,
        "ends_local": ends,
        "all_day": all_day,
        "timezone": name,
        "fair_status": _choice(
            fields.get("fair_status") or "scheduled", v.FAIR_STATUSES, errors, "fair_status"
        ),
        "organiser": _short(fields.get("organiser"), errors, "organiser"),
        "website": _url(fields.get("website"), errors, "website"),
        "product_groups": groups,
        "registration_deadline": deadline,
        "exhibitor_countries": _exhibitor_countries(fields.get("exhibitor_countries"), errors),
    }
    # Absent (or null): the record says nothing of the exhibiting products, which stay.
    if fields.get("exhibitors") is not None:
        values["exhibitors"] = _exhibitors(fields["exhibitors"], country_code, errors)
    if zone is not None and starts is not None and ends is not None and not errors:
        values["starts_utc"] = starts.replace(tzinfo=zone).astimezone(UTC)
        # An all-day fair lasts until the end of its last day in the venue's zone.
        last = ends + timedelta(days=1) if all_day else ends
        values["ends_utc"] = last.replace(tzinfo=zone).astimezone(UTC)
    return values


def add_months(day, months):
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


MAX_PLACES = 20  # shops and links where to buy a product, and its certificates
_EMAIL = re.compile(r"^[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\"]+\.[^\s@<>()\[\],;:\"]+$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{4,40}$")


def _rows(value, errors, field):
    """A list of objects (where to buy, certificates), or the field's error."""
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        errors[field] = _("Give a list, one item per line.")
        return []
    if len(value) > MAX_PLACES:
        errors[field] = _("At most %(max)s items.", max=MAX_PLACES)
        return []
    return value


def languages():
    """The languages a label may be given in: the hub's."""
    return current_app.config["LANGUAGES"]


def _label(value, errors, field, limit=200):
    """A label of a list's item (a shop's or a certificate's name): a text, or its texts per
    language ``{"vi": …, "en": …}`` (any of the hub's languages, the empty ones left out);
    None when empty."""
    if value is None or isinstance(value, str):
        return _short(value, errors, field, limit)
    if not isinstance(value, dict):
        errors[field] = _("Give a text, or a text per language.")
        return None
    wanted = languages()
    unknown = [str(key) for key in value if key not in wanted]
    if unknown or not all(text is None or isinstance(text, str) for text in value.values()):
        errors[field] = _(
            "Give a text, or a text per language: %(languages)s.",
            languages=format_list(list(wanted), locale=current_language()),
        )
        return None
    texts = {}
    for language in wanted:
        if (text := _short(value.get(language), errors, field, limit)) is not None:
            texts[language] = text
    return texts or None


def _where_to_buy(value, errors):
    places = []
    for row in _rows(value, errors, "where_to_buy"):
        row_errors = {}
        place = {
            "name": _label(row.get("name"), row_errors, "name"),
            "url": _url(_str(row.get("url")), row_errors, "url"),
            "address": _short(_str(row.get("address")), row_errors, "address", 300),
        }
        if not place["name"] and not place["url"]:
            row_errors["name"] = _("Give each place a name or a web address.")
        if row_errors:
            errors["where_to_buy"] = next(iter(row_errors.values()))
            return []
        places.append({key: val for key, val in place.items() if val})
    return places


def _certificates(value, errors):
    certificates = []
    for row in _rows(value, errors, "certificates"):
        row_errors = {}
        issued = row.get("issued_on")
        if isinstance(issued, str) and issued.strip():
            try:
                issued = date.fromisoformat(issued.strip())
            except ValueError:
                row_errors["issued_on"] = _("Write the date as YYYY-MM-DD.")
        if isinstance(issued, date) and not FIRST_YEAR <= issued.year <= LAST_YEAR:
            row_errors["issued_on"] = _(
                "Enter a date between %(first)s and %(last)s.", first=FIRST_YEAR, last=LAST_YEAR
            )
        certificate = {
            "name": _label(row.get("name"), row_errors, "name"),
            "issuer": _short(_str(row.get("issuer")), row_errors, "issuer", 200),
            "issued_on": issued.isoformat() if isinstance(issued, date) else None,
            "url": _url(_str(row.get("url")), row_errors, "url"),
        }
        if not certificate["name"] and "name" not in row_errors:
            row_errors["name"] = _("Give each certificate its name.")
        if row_errors:
            errors["certificates"] = next(iter(row_errors.values()))
            return []
        certificates.append({key: val for key, val in certificate.items() if val})
    return certificates


def _str(value):
    return value if isinstance(value, str) else None


def _contact(fields, errors):
    email = _short(_str(fields.get("contact_email")), errors, "contact_email", 254)
    if email and "contact_email" not in errors and not _EMAIL.match(email):
        errors["contact_email"] = _("Enter an e-mail address, such as name@example.org.")
    phone = _short(_str(fields.get("contact_phone")), errors, "contact_phone", 40)
    if phone and "contact_phone" not in errors and not _PHONE.match(phone):
        errors["contact_phone"] = _("Enter a phone number: digits, spaces and + ( ) - . only.")
    return {
        "contact_email": email,
        "contact_phone": phone,
        "contact_website": _url(_str(fields.get("contact_website")), errors, "contact_website"),
        # Private unless the coordinator says otherwise.
        "contact_public": fields.get("contact_public") is True,
    }


def _degrees(value, errors, field, limit):
    """A latitude or longitude in degrees (a number, or a text a form gave: a decimal comma is
    read as a point), within ±``limit``; None when not given."""
    if isinstance(value, str):
        value = value.strip().replace(",", ".")
        if not value:
            return None
    if value is None:
        return None
    degrees = None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            degrees = float(value)
        except (ValueError, OverflowError):
            degrees = None
    if degrees is None or not math.isfinite(degrees):
        errors[field] = _("Enter a number of degrees, such as 21.59.")
        return None
    if not -limit <= degrees <= limit:
        errors[field] = _(
            "Enter a number of degrees between %(min)s and %(max)s.", min=-limit, max=limit
        )
        return None
    return degrees


def _location(fields, errors):
    """Where the producer is: latitude and longitude, both or neither."""
    latitude = _degrees(fields.get("latitude"), errors, "latitude", 90)
    longitude = _degrees(fields.get("longitude"), errors, "longitude", 180)
    if (latitude is None) != (longitude is None) and not {"latitude", "longitude"} & set(errors):
        missing = "longitude" if longitude is None else "latitude"
        errors[missing] = _("Give the latitude and the longitude together, or leave both empty.")
    if "latitude" in errors or "longitude" in errors:
        return {"latitude": None, "longitude": None}
    return {"latitude": latitude, "longitude": longitude}


def _product_fields(fields, country_code, errors):
    _dates_in_range(fields, errors, ("rated_on", "valid_until"))
    values = {
        "producer_name": _short(fields.get("producer_name"), errors, "producer_name"),
        "producer_type": _choice(
            fields.get("producer_type"), v.PRODUCER_TYPES, errors, "producer_type"
        ),
        "locality": _short(fields.get("locality"), errors, "locality"),
        **_location(fields, errors),
        "product_group": _choice(
            fields.get("product_group"), v.PRODUCT_GROUPS, errors, "product_group", required=True
        ),
        "rating_scheme": _choice(
            fields.get("rating_scheme"), v.RATING_SCHEMES, errors, "rating_scheme"
        ),
        "stars": fields.get("stars"),
        "rated_on": fields.get("rated_on"),
        "valid_until": fields.get("valid_until"),
        **_contact(fields, errors),
        "where_to_buy": _where_to_buy(fields.get("where_to_buy"), errors) or None,
        "certificates": _certificates(fields.get("certificates"), errors) or None,
    }
    stars = values["stars"]
    if stars is not None and (
        isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5
    ):
        errors["stars"] = _("A rating has 1 to 5 stars.")
    rated = values["rated_on"] is not None or stars is not None
    if rated:
        if values["rating_scheme"] is None and "rating_scheme" not in errors:
            errors["rating_scheme"] = _("Say which scheme gave the rating.")
        if stars is None and "stars" not in errors:
            errors["stars"] = _("A rating has 1 to 5 stars.")
        if values["rated_on"] is None:
            errors["rated_on"] = _("Give the date of the rating.")
    _not_future(values["rated_on"], errors, "rated_on")
    months = v.RATING_VALIDITY_MONTHS.get(values["rating_scheme"])
    if values["rated_on"] and values["valid_until"] is None and months and "rated_on" not in errors:
        values["valid_until"] = add_months(values["rated_on"], months)
    if values["rated_on"] and values["valid_until"] and values["valid_until"] <= values["rated_on"]:
        errors["valid_until"] = _("A rating stays valid until a date after it was given.")
    return values


FIELD_RULES = {
    "policy": _policy_fields,
    "experience": _experience_fields,
    "fair": _fair_fields,
    "product": _product_fields,
}


def _keeping_partner_metadata(rule):
    """``rule``, and the record's ``partner_metadata`` checked and kept when the fields carry
    one (records of the exchange format do; a coordinator's form does not, and leaves it)."""

    @functools.wraps(rule)
    def checked(fields, country_code, errors):
        values = rule(fields, country_code, errors)
        if "partner_metadata" in fields:
            values["partner_metadata"] = partner_metadata.clean(fields["partner_metadata"], errors)
        return values

    return checked


FIELD_RULES = {kind: _keeping_partner_metadata(rule) for kind, rule in FIELD_RULES.items()}
