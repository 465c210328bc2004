"""The fixed vocabularies of entries, with their names in the reader's language.

The names are gettext messages; their translations are the catalogues'. ``label`` gives a name
as a plain string (option texts, exports, the API); ``shown_label`` gives it as a
``hub.texts.core.Shown`` (``hub.texts.catalogue``), read like an entry's or a fact's texts, so a
page marks a name served in English where a catalogue lacks it.
"""

from flask_babel import lazy_gettext as _l

from hub.i18n import current_language
from hub.texts.catalogue import shown_message
from hub.texts.core import Shown

INSTRUMENTS = {
    "law": _l("Law"),
    "decree": _l("Decree"),
    "decision": _l("Decision"),
    "circular": _l("Circular"),
    "programme": _l("National programme"),
    "plan": _l("Plan"),
    "guideline": _l("Guideline"),
    "standard": _l("Standard"),
    "other": _l("Other instrument"),
}

# The six OCOP product groups.
PRODUCT_GROUPS = {
    "food": _l("Food"),
    "beverages": _l("Beverages"),
    "herbal": _l("Herbal products"),
    "textiles": _l("Textiles and garments"),
    "souvenirs": _l("Souvenirs, furniture and decoration"),
    "tourism": _l("Rural tourism services"),
}

PRODUCER_TYPES = {
    "cooperative": _l("Cooperative"),
    "enterprise": _l("Enterprise"),
    "household": _l("Household business"),
}

RATING_SCHEMES = {
    "ocop": _l("OCOP (Vietnam), 1–5 stars"),
    "otop": _l("OTOP (Thailand), 1–5 stars"),
    "other": _l("Another national scheme, 1–5 stars"),
}
# An OCOP certificate is valid 36 months from the rating.
RATING_VALIDITY_MONTHS = {"ocop": 36}

FAIR_STATUSES = {
    "scheduled": _l("Scheduled"),
    "postponed": _l("Postponed"),
    "rescheduled": _l("Rescheduled"),
    "cancelled": _l("Cancelled"),
}
# What a reader is shown (hub.publishing.fairs.shown_status): the stored statuses, and "held"
# for a fair that is over, which no one stores.
FAIR_SHOWN_STATUSES = {**FAIR_STATUSES, "held": _l("Took place")}

OUTCOME_METRICS = {
    "producers": _l("Producers taking part"),
    "products_certified": _l("Products certified"),
    "revenue": _l("Revenue"),
    "jobs": _l("Jobs created"),
    "income": _l("Income per producer"),
    "communes": _l("Communes or villages taking part"),
    "other": _l("Other outcome"),
}

ENTRY_STATUSES = {
    "draft": _l("Draft"),
    "published": _l("Published"),
    "archived": _l("Archived"),
}

KIND_NAMES = {
    "policy": (_l("Policy"), _l("Policies")),
    "experience": (_l("Experience"), _l("Experiences")),
    "fair": (_l("Trade fair"), _l("Trade fairs")),
    "product": (_l("Product"), _l("Products")),
}

# Which texts each kind has, and what they are called on its forms.
TEXT_FIELDS = {
    "policy": ("title", "summary", "body"),
    "experience": ("title", "summary", "body", "lessons"),
    "fair": ("title", "body"),
    "product": ("title", "body"),
}
TEXT_LABELS = {
    "title": _l("Title"),
    "summary": _l("Summary"),
    "body": _l("Text"),
    "lessons": _l("Lessons learned"),
}
TEXT_LABELS_BY_KIND = {
    ("product", "title"): _l("Product name"),
    ("product", "body"): _l("Description"),
    ("fair", "body"): _l("Description"),
}


def label(vocabulary, value):
    """The name of ``value`` in the current language, or the value itself if unknown."""
    name = vocabulary.get(value)
    return str(name) if name is not None else (value or "")


def shown_label(vocabulary, value, language=None):
    """The name of ``value`` for a reader of ``language`` (the current one by default), as a
    ``Shown``: in English, as a fallback, where that language's catalogue has no translation;
    the value itself, in no language, if unknown."""
    wanted = language or current_language()
    name = vocabulary.get(value)
    if name is None:
        return Shown(value or "", None, wanted)
    return shown_message(name, wanted)


def shown_labels(vocabulary, values, language=None):
    """``shown_label`` of each of ``values``, in their order."""
    return [shown_label(vocabulary, value, language) for value in values or ()]


def labels(vocabulary, values):
    """The names of ``values`` in the current language, in their order."""
    return [label(vocabulary, value) for value in values or ()]


def text_label(kind, field):
    return str(TEXT_LABELS_BY_KIND.get((kind, field), TEXT_LABELS[field]))


def text_labels(kind):
    """``[(field, label)]`` of the text fields of an entry of ``kind``, in their order."""
    return [(field, text_label(kind, field)) for field in TEXT_FIELDS[kind]]
