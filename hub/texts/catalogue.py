"""The messages of the gettext catalogues (the vocabularies' names: product groups, instruments,
statuses…) as per-language versions, served by ``hub.texts.core.resolve`` like an entry's
translations and a fact's texts.

A message's source language is English: its msgid is the source text, and every version's
``fingerprint`` is the msgid's hash. A hub language whose compiled catalogue has a non-empty
translation of the msgid has a version whose ``source_fingerprint`` is that same hash. A
translation marked fuzzy in the ``.po`` file (made from an older msgid: outdated) is left out of
the ``.mo`` file by the compiler, so it is absent here and the reader is served the English,
marked as a fallback; an outdated catalogue translation is never shown as current
(``tests/test_i18n.py`` refuses fuzzy and empty entries, so none is shipped either). The
catalogues say nothing of when a message changed: ``updated_dt`` is None.

The catalogues are the ones Flask-Babel loaded for gettext (one load per language and
process); what a reader of a language is served of a message is worked out once per
application and process.
"""

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime

from flask import current_app
from flask_babel import force_locale, get_translations
from flask_babel.speaklater import LazyString

from hub.i18n import languages
from hub.texts.core import resolve

SOURCE_LANGUAGE = "en"


@dataclass(frozen=True)
class MessageVersion:
    """A catalogue message in one language."""

    language: str
    text: str
    fingerprint: str
    source_fingerprint: str | None
    updated_dt: datetime | None = None


def message_id(message):
    """The msgid of ``message``: a string, or a lazy string made by ``lazy_gettext`` (whose
    first argument is its msgid)."""
    if isinstance(message, LazyString):
        return message._args[0]
    return message


def message_versions(msgid, catalogues):
    """The versions of ``msgid`` in ``catalogues`` (``{language: Translations}``): the English
    one always (its catalogue's text, else the msgid), then one per language whose catalogue
    translates it."""
    digest = hashlib.sha256(msgid.encode()).hexdigest()
    versions = []
    for language, catalogue in catalogues.items():
        text = getattr(catalogue, "_catalog", {}).get(msgid)
        if language == SOURCE_LANGUAGE:
            versions.append(MessageVersion(language, text or msgid, digest, None))
        elif text:
            versions.append(MessageVersion(language, text, digest, digest))
    if SOURCE_LANGUAGE not in catalogues:
        versions.append(MessageVersion(SOURCE_LANGUAGE, msgid, digest, None))
    return tuple(versions)


def shown_in(versions, wanted):
    """The ``Shown`` of a message's ``versions`` for a reader of ``wanted``; its ``text`` is the
    message's text."""
    shown = resolve(versions, SOURCE_LANGUAGE, wanted)
    return replace(shown, text=shown.text.text) if shown.text is not None else shown


def _loaded():
    state = current_app.extensions.get("hub.texts.catalogue")
    if state is None:
        catalogues = {}
        for language in languages():
            with force_locale(language):
                catalogues[language] = get_translations()
        state = current_app.extensions["hub.texts.catalogue"] = (catalogues, {})
    return state


def shown_message(message, wanted):
    """The ``Shown`` of a catalogue message (a msgid or a lazy string) for a reader of
    ``wanted``, from the application's catalogues."""
    catalogues, cache = _loaded()
    key = (message_id(message), wanted)
    shown = cache.get(key)
    if shown is None:
        shown = cache[key] = shown_in(message_versions(key[0], catalogues), wanted)
    return shown
