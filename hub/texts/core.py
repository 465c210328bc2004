"""The rules every per-language text follows, whatever holds it.

A text in its source language carries the ``fingerprint`` of its fields; a translation keeps
the fingerprint of the source text it was made from (``source_fingerprint``), so that a
translation of an older version is *outdated*. A reader is served their language, else the
source language, else the first language there is, and is told when it is not theirs.

The rows are anything with ``language``, ``fingerprint``, ``source_fingerprint`` and
``updated_dt``; ``has_text(row)`` says whether a row has something to show.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any


def fingerprint(fields, names):
    """The fingerprint of the texts ``fields[name]`` for each of ``names``, in that order (a
    missing or None text counts as empty)."""
    get = fields.get
    return hashlib.sha256("\x1f".join(get(name) or "" for name in names).encode()).hexdigest()


@dataclass(frozen=True)
class SourceVersion:
    """The source text a translation is older than: its language and when it last changed."""

    language: str
    changed_dt: datetime


@dataclass(frozen=True)
class Shown:
    """What a reader who wants ``wanted`` is served: ``text`` (a row, or one field's text), in
    ``language`` (None when there is none), and ``outdated_against`` when it is a translation of
    an older version of the source text."""

    text: Any
    language: str | None
    wanted: str
    outdated_against: SourceVersion | None = None

    @property
    def fallback(self):
        """Whether the text is served in another language than the one wanted."""
        return self.language is not None and self.language != self.wanted

    @property
    def outdated(self):
        return self.outdated_against is not None


def _any(row):
    return True


def version_in(versions, language, has_text=_any):
    """The row in ``language`` that has text, or None."""
    for row in versions:
        if row.language == language and has_text(row):
            return row
    return None


def is_outdated(row, source):
    """Whether ``row`` is a translation of an older version of ``source`` (the row in the
    source language, or None when there is none)."""
    return (
        source is not None
        and row.language != source.language
        and row.source_fingerprint not in (None, source.fingerprint)
    )


def outdated_against(row, versions, source_language, has_text=_any):
    """The source version ``row`` is older than, or None when it is the source text, made from
    the source's current version, or there is no source text to compare with."""
    if row is None or row.language == source_language or row.source_fingerprint is None:
        return None
    source = version_in(versions, source_language, has_text)
    if not is_outdated(row, source):
        return None
    return SourceVersion(source.language, source.updated_dt)


def resolve(versions, source_language, wanted, has_text=_any):
    """The row to show a reader of ``wanted``: theirs, else the source language's, else the
    first with text, as a ``Shown`` (its ``text`` None when no row has text)."""
    row = version_in(versions, wanted, has_text) or version_in(versions, source_language, has_text)
    if row is None:
        row = next((r for r in versions if has_text(r)), None)
    if row is None:
        return Shown(None, None, wanted)
    return Shown(
        row, row.language, wanted, outdated_against(row, versions, source_language, has_text)
    )
