"""An entry's fields as its history keeps them (hub.history): which fields each kind has, its
state now as plain JSON (texts keyed ``field.language``), the old values a change replaces,
and a state of the history turned back into column values. How a change is shown, whatever its
subject, is ``hub.history.display``'s; this module says which of them each field's value takes,
with the entry's own names (its vocabularies, linked entries' titles, programmes' names)."""

import dataclasses
from datetime import date, datetime

from flask_babel import format_number, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hub.db import UTCDateTime
from hub.extensions import db
from hub.history import display as d
from hub.history.display import is_long, split_key, text_key  # noqa: F401 (the page's)
from hub.history.services import json_value
from hub.i18n import current_language, zone_name
from hub.publishing import vocabulary as v
from hub.publishing.models import Entry
from hub.registry import facts
from hub.registry.models import Programme
from hub.registry.regions import territory_name
from hub.texts.diff import text_changes  # noqa: F401 (the page's)

SUBJECT = "entry"
COMMON_FIELDS = ("status", "source_language", "partner_metadata")
KIND_FIELDS = {
    "policy": ("instrument", "reference_number", "issuing_body", "issued_on", "link"),
    "experience": ("programme_id", "outcomes", "policies"),
    "fair": (
        "venue", "city", "location_country", "starts_local", "ends_local", "all_day",
        "timezone", "starts_utc", "ends_utc", "fair_status", "previous_starts_local",
        "previous_ends_local", "organiser", "website", "product_groups", "registration_deadline",
        "exhibitors", "exhibitor_countries",
    ),
    "product": (
        "producer_name", "producer_type", "locality", "latitude", "longitude", "product_group",
        "rating_scheme", "stars", "rated_on", "valid_until", "rating_withdrawn_on", "contact_email",
        "contact_phone", "contact_website", "contact_public", "where_to_buy", "certificates",
    ),
}  # fmt: skip
# Fields shown in the history but not brought back by "restore this version": the status is
# changed by publishing or archiving, the partner's metadata is the partner's; a withdrawn
# rating is reinstated only on purpose (hub.verification), never by going back to a version.
# Fields that hold other entries, kept in the history as their ids.
LINKED_ENTRIES = ("policies", "exhibitors")
NOT_RESTORED = frozenset((*COMMON_FIELDS, "rating_withdrawn_on"))


FIELD_LABELS = {
    "status": _l("Status"),
    "source_language": _l("Source language"),
    "partner_metadata": _l("Partner metadata"),
    "instrument": _l("Kind of instrument"),
    "reference_number": _l("Reference number"),
    "issuing_body": _l("Issuing body"),
    "issued_on": _l("Issued on"),
    "link": _l("Link to the text"),
    "programme_id": _l("Programme"),
    "outcomes": _l("Outcomes"),
    "policies": _l("Related policies"),
    "venue": _l("Venue"),
    "city": _l("City"),
    "location_country": _l("Country of the venue"),
    "starts_local": _l("Opens (venue's time)"),
    "ends_local": _l("Closes (venue's time)"),
    "all_day": _l("All-day event"),
    "timezone": _l("Time zone of the venue"),
    "starts_utc": _l("Opens (UTC)"),
    "ends_utc": _l("Closes (UTC)"),
    "fair_status": _l("Status of the fair"),
    "previous_starts_local": _l("Previously opening"),
    "previous_ends_local": _l("Previously closing"),
    "organiser": _l("Organiser"),
    "website": _l("Website"),
    "product_groups": _l("Product groups"),
    "registration_deadline": _l("Registration deadline"),
    "exhibitors": _l("Exhibiting products"),
    "exhibitor_countries": _l("Countries exhibiting"),
    "producer_name": _l("Producer"),
    "producer_type": _l("Kind of producer"),
    "locality": _l("Locality"),
    "latitude": _l("Latitude"),
    "longitude": _l("Longitude"),
    "product_group": _l("Product group"),
    "rating_scheme": _l("Rating scheme"),
    "stars": _l("Stars"),
    "rated_on": _l("Rated on"),
    "valid_until": _l("Valid until"),
    "rating_withdrawn_on": _l("Rating withdrawn on"),
    "contact_email": _l("Producer's e-mail"),
    "contact_phone": _l("Producer's phone"),
    "contact_website": _l("Producer's website"),
    "contact_public": _l("Contact details public"),
    "where_to_buy": _l("Where to buy"),
    "certificates": _l("Certificates"),
}
ACTION_LABELS = {
    "create": _l("Created"),
    "edit": _l("Details changed"),
    "text": _l("Text written"),
    "translate": _l("Translated"),
    "status": _l("Status changed"),
    "delete": _l("Deleted"),
    "restore": _l("Taken out of the trash"),
    "revert": _l("Earlier version restored"),
    "sync": _l("Updated from its source"),
}


def field_label(kind, key):
    """What a field (or a text, ``field.language``) is called on the coordinators' forms."""
    field, language = split_key(key)
    if language is not None and field in v.TEXT_LABELS:
        return v.text_label(kind, field)
    return str(FIELD_LABELS.get(field, field))


VOCABULARIES = {
    "status": v.ENTRY_STATUSES,
    "instrument": v.INSTRUMENTS,
    "fair_status": v.FAIR_STATUSES,
    "product_group": v.PRODUCT_GROUPS,
    "product_groups": v.PRODUCT_GROUPS,
    "producer_type": v.PRODUCER_TYPES,
    "rating_scheme": v.RATING_SCHEMES,
}
COUNTRY_FIELDS = ("location_country", "exhibitor_countries")


@dataclasses.dataclass
class Names:
    """The names a page of history needs beyond its values, read once for the page: linked
    entries' titles and programmes' names, each a ``hub.texts.core.Shown``."""

    entries: dict = dataclasses.field(default_factory=dict)
    language: str | None = None  # the entry's source language, that of its free-text values
    programmes: dict = dataclasses.field(default_factory=dict)


def page_names(page, entry):
    """The ``Names`` of the linked entries and programmes that a page of an entry's history
    (``hub.history.services.Page``) mentions: one query for the entries, two for the
    programmes, whatever the number of revisions."""
    from hub.publishing.services import shown  # services records revisions with this module

    entry_ids, programme_ids = set(), set()
    for _revision, changes in page.items:
        for change in changes:
            for value in (change.old, change.new):
                if change.field in LINKED_ENTRIES:
                    entry_ids.update(value or ())
                elif change.field == "programme_id" and value is not None:
                    programme_ids.add(value)
    names = Names(language=entry.source_language)
    language = current_language()
    if entry_ids:
        linked = db.session.scalars(
            select(Entry)
            .where(Entry.id.in_(sorted(entry_ids)))
            .options(selectinload(Entry.translations))
        )
        for entry in linked:
            served = shown(entry, language)
            names.entries[entry.id] = (served.text.title, served.language)
    if programme_ids:
        programmes = db.session.scalars(
            select(Programme).where(Programme.id.in_(sorted(programme_ids)))
        ).all()
        found = facts.programme_texts(programmes)
        for programme in programmes:
            names.programmes[programme.id] = (
                programme.acronym,
                facts.fact(found, "programme", programme.id, "name"),
            )
    return names


def _entry_title(entry_id, names):
    title, language = names.entries.get(entry_id, (None, None))
    if title is None:  # an entry since purged
        return escape(_("Entry #%(id)s", id=entry_id))
    if language != current_language():
        return Markup('<span lang="%s">%s</span>') % (language, title)
    return escape(title)


def _programme(programme_id, names):
    acronym, name = names.programmes.get(programme_id, (None, None))
    if acronym is None:
        return escape(_("Programme #%(id)s", id=programme_id))
    return escape(acronym) + Markup(" · ") + d.name_value(name) if name.text else escape(acronym)


def _outcome(outcome, names):
    figure = outcome.get("value")
    figure = escape(format_number(figure) if isinstance(figure, int | float) else (figure or ""))
    unit = outcome.get("unit")
    if unit and names.language not in (None, current_language()):
        figure += Markup(' <span lang="%s">%s</span>') % (names.language, unit)
    elif unit:
        figure += Markup(" %s") % unit
    measure = v.shown_label(v.OUTCOME_METRICS, outcome.get("metric"))
    sentence = escape(_("%(measure)s: %(figure)s"))  # markup: its values are escaped into it
    return sentence % {"measure": d.name_value(measure), "figure": figure}


def _certificate(certificate):
    parts = [certificate.get(name) for name in ("name", "issuer", "url")]
    shown = [escape(p) for p in parts if p] + [d.date_value(certificate.get("issued_on"))]
    return Markup(" · ").join(p for p in shown if p)


def _column_type(field_name):
    column = Entry.__table__.c.get(field_name)
    if column is None or not _has_type(column):
        return None
    if isinstance(column.type, UTCDateTime):
        return datetime
    return column.type.python_type


def shown_value(value, field_name=None, names=None):
    """A field's value from the history in the reader's language, as markup: a vocabulary's
    code by its name, a date or a time as the language writes it, a country or a language by
    its name, a linked entry by its title (``names``: the page's ``page_names``)."""
    if value is None or value == "" or value == []:
        return d.NOTHING
    names = names or Names()
    if field_name in VOCABULARIES:
        name = lambda code: d.name_value(v.shown_label(VOCABULARIES[field_name], code))  # noqa: E731
        return d.listed(value, name) if isinstance(value, list) else name(value)
    if field_name in COUNTRY_FIELDS:
        country = lambda code: escape(territory_name(code))  # noqa: E731
        return d.listed(value, country) if isinstance(value, list) else country(value)
    if field_name == "source_language":
        return d.language_value(value)
    if field_name == "timezone":
        return escape(zone_name(value))
    if field_name in LINKED_ENTRIES:
        return d.listed(value, lambda entry_id: _entry_title(entry_id, names))
    if field_name == "programme_id":
        return _programme(value, names)
    if field_name == "outcomes":
        return d.listed(value, lambda outcome: _outcome(outcome, names))
    if field_name == "certificates":
        return d.listed(value, _certificate)
    if field_name == "stars" and isinstance(value, int):
        return escape(ngettext("%(num)s star", "%(num)s stars", value))
    kind = _column_type(field_name) if isinstance(value, str) else None
    if kind is datetime:
        return d.datetime_value(value)
    if kind is date:
        return d.date_value(value)
    return d.shown_value(value)


def field_value(entry, field):
    """A field of ``entry`` as the history keeps it."""
    value = getattr(entry, field)
    if field in LINKED_ENTRIES:
        return sorted(p.id for p in value)
    return json_value(value)


def text_state(kind, translation, language):
    """The texts of one language as the history keeps them (all empty: no text)."""
    return {
        text_key(field, language): (getattr(translation, field) if translation else None)
        for field in v.TEXT_FIELDS[kind]
    }


def entry_state(entry):
    """Every field and text of ``entry`` now, as the history keeps them."""
    state = {f: field_value(entry, f) for f in (*COMMON_FIELDS, *KIND_FIELDS[entry.kind])}
    for translation in entry.translations:
        if translation.title:
            state.update(text_state(entry.kind, translation, translation.language))
    return state


def changed_fields(entry, values):
    """The old values of the fields the history keeps that ``values`` changes."""
    kept = (*COMMON_FIELDS, *KIND_FIELDS[entry.kind])
    return {
        field: field_value(entry, field)
        for field in kept
        if field in values and getattr(entry, field) != values[field]
    }


def changed_texts(kind, old, new, language):
    """The old values of the text fields ``new`` changes (``old``: a translation or None)."""
    result = {}
    for field in v.TEXT_FIELDS[kind]:
        before = getattr(old, field) if old is not None and old.title else None
        after = new.get(field) or None if new is not None else None
        if (before or None) != after:
            result[text_key(field, language)] = before
    return result


def from_json(field, value):
    """A field's value as the history keeps it turned back into its column's type."""
    if value is None or field in LINKED_ENTRIES:
        return value
    column = Entry.__table__.c.get(field)
    if column is None:
        return value
    if isinstance(column.type, UTCDateTime):
        return datetime.fromisoformat(value)
    python_type = getattr(column.type, "python_type", None) if _has_type(column) else None
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is date:
        return date.fromisoformat(value)
    return value


def _has_type(column):
    try:
        column.type.python_type  # noqa: B018
    except NotImplementedError:
        return False
    return True
