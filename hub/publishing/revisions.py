"""An entry's fields as its history keeps them (hub.history): which fields each kind has, its
state now as plain JSON (texts keyed ``field.language``), the old values a change replaces,
and a state of the history turned back into column values. How a change is shown, whatever its
subject, is ``hub.history.display``'s."""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from hub.db import UTCDateTime
from hub.history import display
from hub.history.display import is_long, split_key, text_key, word_diff  # noqa: F401 (the page's)
from hub.history.services import json_value
from hub.publishing import vocabulary as v
from hub.publishing.models import Entry

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


def shown_value(value, field=None):
    """A field's value from the history as plain text."""
    if field == "status" and value in v.ENTRY_STATUSES:
        return v.label(v.ENTRY_STATUSES, value)
    return display.shown_value(value)


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
