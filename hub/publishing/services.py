"""Publishing rules: who may write which entry, what a valid entry is, and what each change
does (change sequence, audit). Pages, the API and tests all go through these functions."""

import functools
import hashlib
import zoneinfo
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from hub.accounts.services import record
from hub.db import latest_possible_date, parse_id, utcnow, utctoday
from hub.extensions import db
from hub.i18n import fold
from hub.publishing import partner_metadata
from hub.publishing import vocabulary as v
from hub.publishing.models import (
    ChangeCounter,
    Entry,
    EntryKind,
    EntryStatus,
    EntryTranslation,
    Experience,
    Fair,
    Policy,
    Product,
)
from hub.publishing.plain import CONTROL as _CONTROL
from hub.publishing.plain import short_text as _short
from hub.registry.models import Country, Programme
from hub.registry.regions import is_known_territory

MODELS = {"policy": Policy, "experience": Experience, "fair": Fair, "product": Product}
TEXT_LIMITS = {"title": 300, "summary": 2_000, "body": 50_000, "lessons": 20_000}


class EntryNotFound(Exception):
    """No entry with that id that this user may change (another country's is "not found" too)."""


class EntryInvalid(Exception):
    """Bad input: ``errors`` maps each field to a message in the requester's language."""

    def __init__(self, errors):
        super().__init__("; ".join(f"{k}: {m}" for k, m in errors.items()))
        self.errors = errors


# ---------------------------------------------------------------------------------------------
# Authorization: in the query, always.


def editable_entries(actor):
    """The entries ``actor`` may change: their country's (every country's for an administrator),
    local ones only (synced entries belong to their partner), never tombstoned ones."""
    stmt = select(Entry).where(Entry.deleted_dt.is_(None), Entry.origin == "local")
    if actor is None or not actor.is_authenticated:
        return stmt.where(False)
    if not actor.is_admin:
        stmt = stmt.where(Entry.country_code == actor.country_code)
    return stmt


def get_editable(actor, entry_id, lock=False):
    """The entry if ``actor`` may change it; else ``EntryNotFound``."""
    stmt = editable_entries(actor).where(Entry.id == entry_id)
    stmt = stmt.options(selectinload(Entry.translations))
    if lock:
        stmt = stmt.with_for_update(of=Entry)
    entry = db.session.scalars(stmt).one_or_none()
    if entry is None:
        raise EntryNotFound(entry_id)
    return entry


# ---------------------------------------------------------------------------------------------
# Change bookkeeping.


def next_change_seq():
    """The next change sequence number. The counter row stays locked until the transaction
    ends, so sequence numbers become visible in the order they were given out."""
    return db.session.execute(
        update(ChangeCounter)
        .where(ChangeCounter.id == 1)
        .values(value=ChangeCounter.value + 1)
        .returning(ChangeCounter.value)
    ).scalar_one()  # the row is made by migration 0003


def reserve_change_seqs(count):
    """``count`` change sequence numbers in one statement, for a batch of writes: an iterator
    over them in order. Numbers the batch does not use are gaps, which followers of the
    changes feed do not mind (they ask for what comes after a number)."""
    last = db.session.execute(
        update(ChangeCounter)
        .where(ChangeCounter.id == 1)
        .values(value=ChangeCounter.value + count)
        .returning(ChangeCounter.value)
    ).scalar_one()
    return iter(range(last - count + 1, last + 1))


def _touch(entry, actor):
    entry.change_seq = next_change_seq()
    entry.updated_dt = utcnow()
    entry.updated_by_id = actor.id if actor else None


def fingerprint(text):
    get = text.get
    joined = "\x1f".join(
        (get("title") or "", get("summary") or "", get("body") or "", get("lessons") or "")
    )
    return hashlib.sha256(joined.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Validation.


def clean_text(kind, language, text):
    errors = {}
    clean = {}
    if language not in current_app.config["LANGUAGES"]:
        errors["language"] = _("“%(value)s” is not a language of the hub.", value=language)
    for field in v.TEXT_FIELDS[kind]:
        value = (text.get(field) or "").strip().replace("\r\n", "\n")
        if _CONTROL.search(value):
            errors[field] = _("This text contains control characters; remove them.")
        elif len(value) > TEXT_LIMITS[field]:
            errors[field] = _(
                "This text is too long: %(count)s characters, at most %(max)s.",
                count=len(value),
                max=TEXT_LIMITS[field],
            )
        clean[field] = value
    if not clean.get("title") and "title" not in errors:
        errors["title"] = (
            _("A title is required.") if kind != "product" else _("The product name is required.")
        )
    for field in ("summary", "body", "lessons"):
        clean.setdefault(field, "")
    return clean, errors


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
    }
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


def _product_fields(fields, country_code, errors):
    _dates_in_range(fields, errors, ("rated_on", "valid_until"))
    values = {
        "producer_name": _short(fields.get("producer_name"), errors, "producer_name"),
        "producer_type": _choice(
            fields.get("producer_type"), v.PRODUCER_TYPES, errors, "producer_type"
        ),
        "locality": _short(fields.get("locality"), errors, "locality"),
        "product_group": _choice(
            fields.get("product_group"), v.PRODUCT_GROUPS, errors, "product_group", required=True
        ),
        "rating_scheme": _choice(
            fields.get("rating_scheme"), v.RATING_SCHEMES, errors, "rating_scheme"
        ),
        "stars": fields.get("stars"),
        "rated_on": fields.get("rated_on"),
        "valid_until": fields.get("valid_until"),
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


# ---------------------------------------------------------------------------------------------
# Writes.


def text_values(language, text, actor, source_fingerprint, own_fingerprint=None, now=None):
    """The column values of a translation holding ``text`` (clean, see ``clean_text``);
    ``own_fingerprint`` is ``fingerprint(text)`` when the caller has it already."""
    return {
        **text,
        "language": language,
        "fingerprint": own_fingerprint or fingerprint(text),
        "source_fingerprint": source_fingerprint,
        "search_title": fold(text["title"]),
        "search_text": fold(
            " ".join((text["title"], text["summary"], text["body"], text["lessons"]))
        ),
        "updated_dt": now or utcnow(),
        "updated_by_id": actor.id if actor else None,
    }


def apply_text(entry, language, text, actor, source_fingerprint):
    return apply_text_values(entry, text_values(language, text, actor, source_fingerprint))


def apply_text_values(entry, values):
    """Set the entry's translation in ``values["language"]`` (made if missing) to ``values``,
    a ``text_values`` result."""
    language = values["language"]
    translation = next((t for t in entry.translations if t.language == language), None)
    if translation is None:
        translation = EntryTranslation(language=language)
        entry.translations.append(translation)
    for field, value in values.items():
        setattr(translation, field, value)
    return translation


def _country_for(actor, country_code):
    if actor is None or not actor.is_authenticated:
        raise EntryNotFound(None)
    if not actor.is_admin:
        if country_code and country_code != actor.country_code:
            raise EntryInvalid({"country": _("You can publish only for your own country.")})
        return actor.country_code
    country_code = (country_code or "").strip().upper()
    if db.session.get(Country, country_code) is None:
        raise EntryInvalid({"country": _("Choose a country of the registry.")})
    return country_code


def create_entry(actor, kind, language, text, fields, country_code=None):
    """Create a draft entry of ``kind`` written in ``language``, for the actor's country."""
    if kind not in MODELS:
        raise EntryNotFound(kind)
    db.begin_write()
    country_code = _country_for(actor, country_code)
    text, errors = clean_text(kind, language, text)
    values = FIELD_RULES[kind](fields, country_code, errors)
    if errors:
        db.session.rollback()
        raise EntryInvalid(errors)
    entry = MODELS[kind](
        country_code=country_code,
        status=EntryStatus.DRAFT,
        source_language=language,
        created_by_id=actor.id,
        updated_by_id=actor.id,
        change_seq=next_change_seq(),  # taken before the entry joins the session
        **values,
    )
    db.session.add(entry)
    apply_text(entry, language, text, actor, None)
    db.session.flush()
    record(actor, f"{kind}.create", kind, entry.id, country_code, language=language)
    db.session.commit()
    return entry


def update_fields(actor, entry_id, fields):
    """Change the facts of an entry (everything but its texts)."""
    db.begin_write()
    entry = get_editable(actor, entry_id, lock=True)
    errors = {}
    values = FIELD_RULES[entry.kind](fields, entry.country_code, errors)
    if errors:
        db.session.rollback()
        raise EntryInvalid(errors)
    if isinstance(entry, Fair):
        moved = (entry.starts_local, entry.ends_local) != (
            values["starts_local"],
            values["ends_local"],
        )
        if moved and values["fair_status"] in ("postponed", "rescheduled") and entry.starts_local:
            values["previous_starts_local"] = entry.starts_local
            values["previous_ends_local"] = entry.ends_local
    changed = [key for key, value in values.items() if getattr(entry, key) != value]
    for key in changed:
        setattr(entry, key, values[key])
    if changed:
        _touch(entry, actor)
        record(
            actor,
            f"{entry.kind}.update",
            entry.kind,
            entry.id,
            entry.country_code,
            fields=sorted(changed),
        )
    db.session.commit()
    return entry


def save_text(actor, entry_id, language, text):
    """Write the entry's text in ``language``: its source text, or a translation of it (which
    remembers the version of the source it was made from)."""
    db.begin_write()
    entry = get_editable(actor, entry_id, lock=True)
    text, errors = clean_text(entry.kind, language, text)
    if errors:
        db.session.rollback()
        raise EntryInvalid(errors)
    if language == entry.source_language:
        source_fingerprint = None
    else:
        source_fingerprint = entry.text_in(entry.source_language).fingerprint
    current = entry.text_in(language)
    if (
        current is not None
        and current.fingerprint == fingerprint(text)
        and (current.source_fingerprint == source_fingerprint)
    ):
        db.session.rollback()
        return current  # nothing changed
    translation = apply_text(entry, language, text, actor, source_fingerprint)
    _touch(entry, actor)
    action = "text" if source_fingerprint is None else "translate"
    record(
        actor, f"{entry.kind}.{action}", entry.kind, entry.id, entry.country_code, language=language
    )
    db.session.commit()
    return translation


def set_status(actor, entry_id, status):
    """Publish, archive, or return an entry to draft."""
    status = EntryStatus(status)
    db.begin_write()
    entry = get_editable(actor, entry_id, lock=True)
    if entry.status != status:
        entry.status = status
        if status == EntryStatus.PUBLISHED and entry.published_dt is None:
            entry.published_dt = utcnow()
        _touch(entry, actor)
        record(actor, f"{entry.kind}.{status.value}", entry.kind, entry.id, entry.country_code)
    db.session.commit()
    return entry


def delete_entry(actor, entry_id):
    """Delete an entry: it leaves every page and list, and stays as a tombstone so that
    partners following the changes feed learn of the deletion."""
    db.begin_write()
    entry = get_editable(actor, entry_id, lock=True)
    entry.deleted_dt = utcnow()
    _touch(entry, actor)
    record(actor, f"{entry.kind}.delete", entry.kind, entry.id, entry.country_code)
    db.session.commit()
    return entry


# ---------------------------------------------------------------------------------------------
# Reading helpers.


def outdated(entry, translation):
    """Whether ``translation`` was made from an older version of the entry's source text."""
    if translation.language == entry.source_language or translation.source_fingerprint is None:
        return False
    source = entry.text_in(entry.source_language)
    return source is not None and translation.source_fingerprint != source.fingerprint


def outdated_against(entry, translation):
    """The source text ``translation`` is older than (its ``updated_dt`` is when the source
    last changed), or None when ``translation`` is the source text or made from its current
    version. What readers are told: pages, the API's views and the JSON Feeds."""
    if translation is None or not outdated(entry, translation):
        return None
    return entry.text_in(entry.source_language)


def resolve(entry, language):
    """The text to show a reader of ``language``: theirs, else the source language's, else the
    first there is. Returns ``(translation, served_language)``."""
    for candidate in (language, entry.source_language):
        translation = entry.text_in(candidate)
        if translation is not None:
            return translation, candidate
    for translation in entry.translations:
        if translation.title:
            return translation, translation.language
    return None, None


def is_expired(product, today=None):
    """Whether the product's rating is no longer valid: its last valid day is before ``today``
    (by default today in UTC, as the lists' "rating still valid" filter counts)."""
    return bool(product.valid_until and product.valid_until < (today or utctoday()))


KINDS = tuple(k.value for k in EntryKind)
