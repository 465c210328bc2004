"""An entry's fields as its history keeps them (hub.history): which fields each kind has, its
state now as plain JSON (texts keyed ``field.language``), the old values a change replaces,
and a state of the history turned back into column values."""

from datetime import date, datetime

from hub.db import UTCDateTime
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
    ),
    "product": (
        "producer_name", "producer_type", "locality", "product_group", "rating_scheme", "stars",
        "rated_on", "valid_until",
    ),
}  # fmt: skip
# Fields shown in the history but not brought back by "restore this version": the status is
# changed by publishing or archiving, the partner's metadata is the partner's.
NOT_RESTORED = frozenset(COMMON_FIELDS)


def text_key(field, language):
    return f"{field}.{language}"


def split_key(key):
    """``(field, language)`` of a text's key, ``(field, None)`` of another field's."""
    field, _sep, language = key.partition(".")
    return field, language or None


def field_value(entry, field):
    """A field of ``entry`` as the history keeps it."""
    value = getattr(entry, field)
    if field == "policies":
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
    if value is None or field == "policies":
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
