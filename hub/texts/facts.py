"""Reading and writing the texts of facts (``FactText``): a page's texts in one query, each
field served by ``hub.texts.core.resolve``, writes that leave unchanged texts alone and keep a
revision of each change (``hub.history``), a fact's texts as its history keeps them, and the
facts a translator still has to translate (``untranslated``)."""

import zlib
from collections import defaultdict
from dataclasses import dataclass, replace

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from hub.db import utcnow
from hub.extensions import db
from hub.history import services as history
from hub.texts.core import fingerprint, is_outdated, resolve
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


def confirm(row, source, actor=None):
    """Record that the translation ``row`` says what the current ``source`` row says: it is no
    longer outdated. Its texts stay as they are (``write`` keeps an unchanged translation as
    old as it was, so this is the one other change a translation takes)."""
    row.source_fingerprint = source.fingerprint
    row.updated_dt = utcnow()
    row.updated_by_id = actor.id if actor is not None else None
    return row


def snapshot_id(key):
    """The ``subject_id`` a fact's source versions are kept under (``hub.texts.snapshots``):
    its key when that is a number (a programme's, a membership event's id), else a number made
    from the key. Two facts of one subject sharing a number share only the versions whose
    fingerprints are equal, that is the same texts."""
    key = str(key)
    return int(key) if key.isdigit() and len(key) < 10 else zlib.crc32(key.encode()) >> 1


@dataclass(frozen=True)
class Untranslated:
    """A fact a translator has work on: its ``source`` row, and the ``missing`` languages (no
    text) and ``outdated`` ones (a translation of an older version of the source)."""

    subject: str
    key: str
    source: FactText
    missing: tuple
    outdated: tuple


def _after(cursor):
    subject, sep, key = (cursor or "").partition(":")
    return (subject, key) if sep and subject and key else None


def untranslated(languages, cursor=None, limit=20):
    """One page of the facts that lack a text in one of ``languages`` or have a translation
    made from an older version of their source text, by subject and key, read in one query:
    ``(items, next cursor)``, the cursor ``<subject>:<key>`` of the page's last fact."""
    source, other = aliased(FactText), aliased(FactText)
    same_fact = (other.subject == source.subject, other.subject_key == source.subject_key)
    held = (
        select(func.count())
        .select_from(other)
        .where(*same_fact, other.language.in_(languages))
        .scalar_subquery()
    )
    stale = exists().where(
        *same_fact,
        other.language != source.language,
        other.source_fingerprint != source.fingerprint,
    )
    facts = select(source.subject, source.subject_key).where(
        source.source_fingerprint.is_(None), or_(held < len(languages), stale)
    )
    if (after := _after(cursor)) is not None:
        facts = facts.where(
            or_(
                source.subject > after[0],
                and_(source.subject == after[0], source.subject_key > after[1]),
            )
        )
    order = (source.subject, source.subject_key)
    page = facts.distinct().order_by(*order).limit(limit + 1).subquery()
    rows = defaultdict(list)
    stmt = (
        select(FactText)
        .join(
            page,
            and_(FactText.subject == page.c.subject, FactText.subject_key == page.c.subject_key),
        )
        .order_by(FactText.subject, FactText.subject_key, FactText.language)
    )
    for row in db.session.scalars(stmt):
        rows[(row.subject, row.subject_key)].append(row)
    keys = list(rows)  # in the database's order, which the cursor follows
    more = len(keys) > limit
    items = []
    for subject, key in keys[:limit]:
        versions = rows[(subject, key)]
        found = next(r for r in versions if r.source_fingerprint is None)
        held = {r.language for r in versions}
        items.append(
            Untranslated(
                subject,
                key,
                found,
                tuple(language for language in languages if language not in held),
                tuple(
                    r.language
                    for r in versions
                    if r.language in languages and is_outdated(r, found)
                ),
            )
        )
    return items, (f"{items[-1].subject}:{items[-1].key}" if more else None)


def history_state(versions):
    """A fact's texts in every language as its history keeps them: ``{"field.language": text}``
    (``versions``: its ``FactText`` rows)."""
    return {
        f"{field}.{row.language}": text for row in versions for field, text in row.fields.items()
    }
