"""What a history page shows of a change, whatever its subject: a field's value as plain text,
a long text's change word by word, and the key of a text (``field.language``) taken apart. The
subject's own labels and values are its package's (``hub.publishing.revisions``,
``hub.registry.revisions``)."""

import difflib
import re

from markupsafe import Markup, escape

LONG_TEXT = 80  # characters: longer texts are compared word by word
_WORDS = re.compile(r"\s+|[^\s]+")


def shown_value(value):
    """A value from the history as plain text."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list):
        return ", ".join(shown_value(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {shown_value(item)}" for k, item in value.items())
    return str(value)


def is_long(old, new):
    return max(len(shown_value(old)), len(shown_value(new))) > LONG_TEXT


def word_diff(old, new):
    """The change from ``old`` to ``new`` word by word, as HTML: removed words in ``<del>``,
    added ones in ``<ins>``, the rest as it was."""
    before = _WORDS.findall(shown_value(old))
    after = _WORDS.findall(shown_value(new))
    parts = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append(escape("".join(before[i1:i2])))
            continue
        if i2 > i1:
            parts.append(Markup("<del>%s</del>") % "".join(before[i1:i2]))
        if j2 > j1:
            parts.append(Markup("<ins>%s</ins>") % "".join(after[j1:j2]))
    return Markup("").join(parts)


def text_key(field, language):
    return f"{field}.{language}"


def split_key(key):
    """``(field, language)`` of a text's key, ``(field, None)`` of another field's."""
    field, _sep, language = key.partition(".")
    return field, language or None
