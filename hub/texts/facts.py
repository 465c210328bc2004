"""Reading and writing the texts of facts (``FactText``): a page's texts in one query, each
field served by ``hub.texts.core.resolve``, writes that leave unchanged texts alone and keep a
revision of each change (``hub.history``), and a fact's texts as its history keeps them."""

from collections import defaultdict
from dataclasses import replace

from sqlalchemy import and_, or_, select

from hub.db import utcnow
from hub.extensions import db
from hub.history import services as history
from hub.texts.core import fingerprint, resolve
from hub.texts.models import FactText


def source_language(versions):
    """The language a fact was written in: its row without a source fingerprint."""
    return next((row.language for row in versions if row.source_fingerprint is None), None)


def _has(field):
    return lambda row: bool(row.fields.get(field))


class FactTexts:
    """The texts of some facts in every language, as ``load`` read them."""

    def __init__(self, rows):
        self._rows = rows

    def versions(self, subject, key):
        return self._rows.get((subject, str(key)), ())

    def shown(self, subject, key, field, wanted):
        """The ``Shown`` of one field of a fact for a reader of ``wanted``; its ``text`` is the
        field's text (None when no language has it)."""
        versions = self.versions(subject, key)
        shown = resolve(versions, source_language(versions), wanted, _has(field))
        return replace(shown, text=shown.text.fields[field]) if shown.text is not None else shown

    def every_language(self, subject, key, field):
        """``{language: text}`` of one field in each language that has it."""
        return {
            row.language: row.fields[field]
            for row in self.versions(subject, key)
            if row.fields.get(field)
        }


def load(subjects):
    """The texts of every ``(subject, key)`` in ``subjects``, read in one query."""
    keys = defaultdict(set)
    for subject, key in subjects:
        keys[subject].add(str(key))
    rows = defaultdict(list)
    if keys:
        stmt = select(FactText).where(
            or_(
                *(
                    and_(FactText.subject == subject, FactText.subject_key.in_(sorted(values)))
                    for subject, values in sorted(keys.items())
                )
            )
        )
        for row in db.session.scalars(stmt):
            rows[(row.subject, row.subject_key)].append(row)
    return FactTexts(rows)


def write(
    subject,
    key,
    language,
    fields,
    names,
    *,
    source=None,
    actor=None,
    existing=None,
    action=None,
    revisions=None,
):
    """Set the fact's text in ``language`` to ``fields`` (``{field: text}``, empty texts left
    out), fingerprinted over ``names``. ``source`` is the source-language row this text
    translates, None when it is the source text. A translation whose texts did not change keeps
    the source version it was made from (so it shows as outdated when the source moved on).
    ``existing`` is the row in that language if the caller has it; else it is looked up.

    A change of a text keeps a revision (``hub.history``) of the fact, by ``actor`` (a user, or
    None for the command line): its ``action`` is "text" for a source text, "translate" for a
    translation unless the caller names another ("revert", "create"), and it keeps the old
    values of the fields that changed (keyed ``field.language``; None where there was no text),
    except a "create", which keeps none. With ``revisions`` (a list), the revision is appended
    to it as a row for ``history.record_many`` instead of added to the session.
    Returns ``(row, changed)``."""
    key = str(key)
    fields = {name: fields[name] for name in names if fields.get(name)}
    if existing is None:
        existing = db.session.get(FactText, (subject, key, language))
    if existing is not None and existing.fields == fields:
        if source is None and existing.source_fingerprint is not None:
            existing.source_fingerprint = None
            return existing, True
        return existing, False
    before = existing.fields if existing is not None else {}
    old = {
        f"{name}.{language}": before.get(name)
        for name in names
        if before.get(name) != fields.get(name)
    }
    row = existing or FactText(subject=subject, subject_key=key, language=language)
    row.fields = fields
    row.fingerprint = fingerprint(fields, names)
    row.source_fingerprint = None if source is None else source.fingerprint
    row.updated_dt = utcnow()
    row.updated_by_id = actor.id if actor is not None else None
    if existing is None:
        db.session.add(row)
    action = action or ("text" if source is None else "translate")
    old = None if action == "create" else old
    if revisions is None:
        history.record(subject, key, action, actor, language, old, now=row.updated_dt)
    else:
        revisions.append(history.row(subject, key, action, actor, language, old, row.updated_dt))
    return row, True


def history_state(versions):
    """A fact's texts in every language as its history keeps them: ``{"field.language": text}``
    (``versions``: its ``FactText`` rows)."""
    return {
        f"{field}.{row.language}": text for row in versions for field, text in row.fields.items()
    }
