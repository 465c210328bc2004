"""What a history page shows of a change, whatever its subject: a value in the reader's language
(a yes or no, a list joined by CLDR's pattern, a date, a date and time, a vocabulary's name) as
markup, whether a change is one of long texts (shown word by word, ``hub.texts.diff``), and the
key of a text (``field.language``) taken apart. Which field holds what, and the subject's own
names for its codes, are its package's (``hub.publishing.revisions``,
``hub.registry.revisions``): they hand their values to these helpers."""

from datetime import date, datetime

from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from markupsafe import Markup, escape

from hub.i18n import current_language, locale_list
from hub.i18n import language_name as _language_name

LONG_TEXT = 80  # characters: longer texts are compared word by word
NOTHING = Markup()


def shown_value(value):
    """A value from the history as markup: a yes or no, a list in the reader's language, a
    mapping's values (its keys are names for programmes, not readers), anything else as it is."""
    if value is None or value == "":
        return NOTHING
    if isinstance(value, bool):
        return escape(_("yes") if value else _("no"))
    if isinstance(value, list):
        return listed(value, shown_value)
    if isinstance(value, dict):
        return Markup(" · ").join(shown_value(item) for item in value.values() if item)
    return escape(str(value))


def listed(values, show):
    """``show(value)`` of each of ``values``, as one list in the reader's language."""
    return locale_list([show(value) for value in values or ()]) if values else NOTHING


def date_value(value):
    """A date the history keeps as ISO 8601 text, as the reader's language writes it."""
    if not value:
        return NOTHING
    return escape(format_date(date.fromisoformat(value[:10]), "medium"))


def datetime_value(value):
    """A date and time the history keeps as ISO 8601 text, as the reader's language writes it,
    in the zone it was kept in (a fair's times are the venue's)."""
    if not value:
        return NOTHING
    return escape(format_datetime(datetime.fromisoformat(value), "medium", rebase=False))


def language_value(code):
    """A language's name in the reader's language."""
    return escape(_language_name(code, current_language())) if code else NOTHING


def name_value(shown):
    """A name served for the reader (a ``hub.texts.core.Shown``): marked with its language when
    it is a fallback, as the pages mark it."""
    if not shown.text:
        return NOTHING
    if shown.fallback:
        return Markup('<span lang="%s">%s</span>') % (shown.language, shown.text)
    return escape(shown.text)


def is_long(old, new):
    """Whether a change is one of texts long enough to be compared word by word."""
    return any(isinstance(v, str) and len(v) > LONG_TEXT for v in (old, new))


def text_key(field, language):
    return f"{field}.{language}"


def split_key(key):
    """``(field, language)`` of a text's key, ``(field, None)`` of another field's."""
    field, _sep, language = key.partition(".")
    return field, language or None
