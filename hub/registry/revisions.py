"""A country's facts as their history keeps them (``hub.history``): their texts in every
language keyed ``field.language``, the country's membership status, and what the history page
calls each field and action."""

from flask_babel import lazy_gettext as _l
from markupsafe import escape

from hub.history import display
from hub.history.display import is_long, split_key  # noqa: F401 (the page's)
from hub.registry import facts
from hub.registry.services import STATUS_LABELS, status_label
from hub.texts import facts as texts
from hub.texts.diff import text_changes  # noqa: F401 (the page's)

STATUS_FIELD = "membership_status"
FIELD_LABELS = {
    ("country", "note"): _l("Note"),
    ("country", STATUS_FIELD): _l("Membership status"),
    ("programme", "name"): _l("Programme name"),
    ("programme", "lead_agency"): _l("Lead agency"),
    ("programme", "rating_scheme"): _l("Rating scheme"),
    ("programme", "note"): _l("Note"),
    ("membership_event", "note"): _l("Note"),
    ("source", "title"): _l("Title"),
}
ACTION_LABELS = {
    "create": _l("Created"),
    "text": _l("Text written"),
    "translate": _l("Translated"),
    "status": _l("Status changed"),
    "revert": _l("Earlier version restored"),
}


def current_states(country, found):
    """Each of the country's facts now, as its history keeps it: ``{(subject, key): fields}``
    (``found``: the facts' texts, ``facts.country_texts``)."""
    states = {
        (subject, key): texts.history_state(found.versions(subject, key))
        for subject, key in facts.country_subjects(country)
    }
    states[("country", country.code)][STATUS_FIELD] = str(country.membership_status)
    return states


def is_text(revision):
    """Whether a revision changed a fact's text in one language (and can be restored)."""
    return revision.language is not None and revision.subject in facts.FIELDS


def field_label(subject, key):
    """What a fact's field (or its text, ``field.language``) is called."""
    field, _language = split_key(key)
    return str(FIELD_LABELS.get((subject, field), field))


def shown_value(value, field=None, names=None):
    """A fact's value from the history in the reader's language, as markup (a fact's fields are
    texts, but for the country's membership status: its name). ``names``: unused, the entries'
    history needs it."""
    if field == STATUS_FIELD and value in STATUS_LABELS:
        return escape(status_label(value))
    return display.shown_value(value)


def event(country, key):
    """The country's membership event ``key`` (a revision's subject id), or None."""
    return next((e for e in country.membership_events if str(e.id) == key), None)
