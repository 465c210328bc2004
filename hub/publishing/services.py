"""Publishing rules: who may write which entry, what a valid entry is, and what each change
does (change sequence, audit, revision). Pages, the API and tests all go through these
functions; restoring a past version from the history is ``hub.publishing.reverting``'s, on top
of them."""

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import exists, select, update
from sqlalchemy.orm import selectinload

from hub.accounts.services import record
from hub.db import utcnow, utctoday
from hub.extensions import db
from hub.history import services as history
from hub.history import trash
from hub.i18n import fold
from hub.publishing import revisions as rv
from hub.publishing import vocabulary as v
from hub.publishing.models import (
    LOCAL,
    ChangeCounter,
    Entry,
    EntryKind,
    EntryStatus,
    EntryTranslation,
    Experience,
    Fair,
    Policy,
    Product,
)
from hub.publishing.plain import CONTROL as _CONTROL
from hub.publishing.rules import FIELD_RULES, add_months  # noqa: F401  (re-exported)
from hub.registry.models import Country
from hub.texts import core as texts
from hub.texts import diff, snapshots

MODELS = {"policy": Policy, "experience": Experience, "fair": Fair, "product": Product}
TEXT_LIMITS = {"title": 300, "summary": 2_000, "body": 50_000, "lessons": 20_000}


class EntryNotFound(Exception):
    """No entry with that id that this user may change (another country's is "not found" too)."""


class EntryNotRestorable(Exception):
    """A deleted entry of the actor's country that a partner source brought: it comes back only
    when the partner sends it again."""


class TrashExpired(Exception):
    """The entry was deleted longer ago than the trash keeps entries: it cannot be restored."""


class EntryInvalid(Exception):
    """Bad input: ``errors`` maps each field to a message in the requester's language."""

    def __init__(self, errors):
        super().__init__("; ".join(f"{k}: {m}" for k, m in errors.items()))
        self.errors = errors


# ---------------------------------------------------------------------------------------------
# Authorization: in the query, always.


def _of_actor(stmt, actor):
    """``stmt`` narrowed to the entries of ``actor``'s country (every country's for an
    administrator; none for nobody)."""
    if actor is None or not actor.is_authenticated:
        return stmt.where(False)
    if not actor.is_admin:
        stmt = stmt.where(Entry.country_code == actor.country_code)
    return stmt


def editable_entries(actor):
    """The entries ``actor`` may change: their country's (every country's for an administrator),
    local ones only (synced entries belong to their partner), never tombstoned ones."""
    return _of_actor(select(Entry).where(Entry.deleted_dt.is_(None), Entry.origin == LOCAL), actor)


def trashed_entries(actor, now=None):
    """The entries in ``actor``'s trash: deleted local entries of their country (every
    country's for an administrator) that can still be restored: deleted less than
    ``HUB_TRASH_DAYS`` ago and not purged (a purged tombstone has no texts left)."""
    since = trash.cutoff(now)
    stmt = select(Entry).where(
        Entry.deleted_dt > since,
        Entry.origin == "local",
        exists().where(EntryTranslation.entry_id == Entry.id),
    )
    return _of_actor(stmt, actor)


def get_editable(actor, entry_id, lock=False):
    """The entry if ``actor`` may change it; else ``EntryNotFound``."""
    stmt = editable_entries(actor).where(Entry.id == entry_id)
    stmt = stmt.options(selectinload(Entry.translations))
    if lock:
        stmt = stmt.with_for_update(of=Entry)
    entry = db.session.scalars(stmt).one_or_none()
    if entry is None:
        raise EntryNotFound(entry_id)
    return entry


# ---------------------------------------------------------------------------------------------
# Change bookkeeping.


def next_change_seq():
    """The next change sequence number. The counter row stays locked until the transaction
    ends, so sequence numbers become visible in the order they were given out."""
    return db.session.execute(
        update(ChangeCounter)
        .where(ChangeCounter.id == 1)
        .values(value=ChangeCounter.value + 1)
        .returning(ChangeCounter.value)
    ).scalar_one()  # the row is made by migration 0003


def reserve_change_seqs(count):
    """``count`` change sequence numbers in one statement, for a batch of writes: an iterator
    over them in order. Numbers the batch does not use are gaps, which followers of the
    changes feed do not mind (they ask for what comes after a number)."""
    last = db.session.execute(
        update(ChangeCounter)
        .where(ChangeCounter.id == 1)
        .values(value=ChangeCounter.value + count)
        .returning(ChangeCounter.value)
    ).scalar_one()
    return iter(range(last - count + 1, last + 1))


def _touch(entry, actor):
    entry.change_seq = next_change_seq()
    entry.updated_dt = utcnow()
    entry.updated_by_id = actor.id if actor else None


TEXT_NAMES = ("title", "summary", "body", "lessons")


def fingerprint(text):
    """The fingerprint of an entry's text (``hub.texts.core.fingerprint`` of its fields)."""
    return texts.fingerprint(text, TEXT_NAMES)


# ---------------------------------------------------------------------------------------------
# Validation.


def clean_text(kind, language, text):
    errors = {}
    clean = {}
    if language not in current_app.config["LANGUAGES"]:
        errors["language"] = _("“%(value)s” is not a language of the hub.", value=language)
    for field in v.TEXT_FIELDS[kind]:
        value = (text.get(field) or "").strip().replace("\r\n", "\n")
        if _CONTROL.search(value):
            errors[field] = _("This text contains control characters; remove them.")
        elif len(value) > TEXT_LIMITS[field]:
            errors[field] = _(
                "This text is too long: %(count)s characters, at most %(max)s.",
                count=len(value),
                max=TEXT_LIMITS[field],
            )
        clean[field] = value
    if not clean.get("title") and "title" not in errors:
        errors["title"] = (
            _("A title is required.") if kind != "product" else _("The product name is required.")
        )
    for field in ("summary", "body", "lessons"):
        clean.setdefault(field, "")
    return clean, errors


# ---------------------------------------------------------------------------------------------
# Writes.


def search_values(text):
    """The folded copies of a text that search reads (``hub.search.index``): its title, and
    the distinct words of all its parts together, in order. A query's words are each looked
    for within a word of the text, so a word written again adds nothing to what is found, only
    to what the index writes."""
    words = fold(" ".join((text["title"], text["summary"], text["body"], text["lessons"])))
    return {
        "search_title": fold(text["title"]),
        "search_text": " ".join(dict.fromkeys(words.split())),
    }


def text_values(language, text, actor, source_fingerprint, own_fingerprint=None, now=None):
    """The column values of a translation holding ``text`` (clean, see ``clean_text``);
    ``own_fingerprint`` is ``fingerprint(text)`` when the caller has it already."""
    return {
        **text,
        "language": language,
        "fingerprint": own_fingerprint or fingerprint(text),
        "source_fingerprint": source_fingerprint,
        **search_values(text),
        "updated_dt": now or utcnow(),
        "updated_by_id": actor.id if actor else None,
    }


def apply_text(entry, language, text, actor, source_fingerprint):
    return apply_text_values(entry, text_values(language, text, actor, source_fingerprint))


def apply_text_values(entry, values):
    """Set the entry's translation in ``values["language"]`` (made if missing) to ``values``,
    a ``text_values`` result."""
    language = values["language"]
    translation = next((t for t in entry.translations if t.language == language), None)
    if translation is None:
        translation = EntryTranslation(language=language)
        entry.translations.append(translation)
    for field, value in values.items():
        setattr(translation, field, value)
    return translation


def _country_for(actor, country_code):
    if actor is None or not actor.is_authenticated:
        raise EntryNotFound(None)
    if not actor.is_admin:
        if country_code and country_code != actor.country_code:
            raise EntryInvalid({"country": _("You can publish only for your own country.")})
        return actor.country_code
    country_code = (country_code or "").strip().upper()
    if db.session.get(Country, country_code) is None:
        raise EntryInvalid({"country": _("Choose a country of the registry.")})
    return country_code


def create_entry(actor, kind, language, text, fields, country_code=None):
    """Create a draft entry of ``kind`` written in ``language``, for the actor's country."""
    if kind not in MODELS:
        raise EntryNotFound(kind)
    db.begin_write()
    country_code = _country_for(actor, country_code)
    text, errors = clean_text(kind, language, text)
    values = FIELD_RULES[kind](fields, country_code, errors)
    if errors:
        db.session.rollback()
        raise EntryInvalid(errors)
    entry = MODELS[kind](
        country_code=country_code,
        status=EntryStatus.DRAFT,
        source_language=language,
        created_by_id=actor.id,
        updated_by_id=actor.id,
        change_seq=next_change_seq(),  # taken before the entry joins the session
        **values,
    )
    db.session.add(entry)
    apply_text(entry, language, text, actor, None)
    db.session.flush()
    record(actor, f"{kind}.create", kind, entry.id, country_code, language=language)
    history.record(rv.SUBJECT, entry.id, "create", actor, language=language)
    db.session.commit()
    return entry


def update_fields(actor, entry_id, fields):
    """Change the facts of an entry (everything but its texts)."""
    db.begin_write()
    entry = get_editable(actor, entry_id, lock=True)
    errors = {}
    values = FIELD_RULES[entry.kind](fields, entry.country_code, errors)
    if errors:
        db.session.rollback()
        raise EntryInvalid(errors)
    if isinstance(entry, Fair):
        moved = (entry.starts_local, entry.ends_local) != (
            values["starts_local"],
            values["ends_local"],
        )
        if moved and values["fair_status"] in ("postponed", "rescheduled") and entry.starts_local:
            values["previous_starts_local"] = entry.starts_local
            values["previous_ends_local"] = entry.ends_local
    changed = [key for key, value in values.items() if getattr(entry, key) != value]
    old = {key: rv.field_value(entry, key) for key in changed}
    for key in changed:
        setattr(entry, key, values[key])
    if changed:
        _touch(entry, actor)
        record(
            actor,
            f"{entry.kind}.update",
            entry.kind,
            entry.id,
            entry.country_code,
            fields=sorted(changed),
        )
        history.record(rv.SUBJECT, entry.id, "edit", actor, old=old)
    db.session.commit()
    return entry


def save_text(actor, entry_id, language, text):
    """Write the entry's text in ``language``: its source text, or a translation of it (which
    remembers the version of the source it was made from)."""
    db.begin_write()
    entry = get_editable(actor, entry_id, lock=True)
    text, errors = clean_text(entry.kind, language, text)
    if errors:
        db.session.rollback()
        raise EntryInvalid(errors)
    if language == entry.source_language:
        source_fingerprint = None
    else:
        source_fingerprint = entry.text_in(entry.source_language).fingerprint
    current = entry.text_in(language)
    if (
        current is not None
        and current.fingerprint == fingerprint(text)
        and (current.source_fingerprint == source_fingerprint)
    ):
        db.session.rollback()
        return current  # nothing changed
    before = next((t for t in entry.translations if t.language == language), None)
    old = rv.changed_texts(entry.kind, before, text, language)
    translation = apply_text(entry, language, text, actor, source_fingerprint)
    if source_fingerprint is not None:
        _remember_source(entry)
    _touch(entry, actor)
    action = "text" if source_fingerprint is None else "translate"
    record(
        actor, f"{entry.kind}.{action}", entry.kind, entry.id, entry.country_code, language=language
    )
    history.record(rv.SUBJECT, entry.id, action, actor, language=language, old=old)
    db.session.commit()
    return translation


def confirm_translation(actor, entry_id, language):
    """Record that the entry's translation in ``language`` matches the current version of the
    source text, without changing it: it is no longer outdated. ``EntryNotFound`` when the
    entry has no translation in ``language``."""
    db.begin_write()
    entry = get_editable(actor, entry_id, lock=True)
    source = entry.text_in(entry.source_language)
    translation = entry.text_in(language)
    if source is None or translation is None or language == entry.source_language:
        db.session.rollback()
        raise EntryNotFound(entry_id)
    if translation.source_fingerprint == source.fingerprint:
        db.session.rollback()
        return translation  # already up to date
    translation.source_fingerprint = source.fingerprint
    _remember_source(entry)
    _touch(entry, actor)
    record(
        actor,
        f"{entry.kind}.confirm_translation",
        entry.kind,
        entry.id,
        entry.country_code,
        language=language,
        source_fingerprint=source.fingerprint,
    )
    db.session.commit()
    return translation


def _remember_source(entry):
    """Keep the entry's current source text: the version a translation was just made from."""
    source = entry.text_in(entry.source_language)
    snapshots.remember("entry", entry.id, source.fingerprint, source)


def set_status(actor, entry_id, status):
    """Publish, archive, or return an entry to draft."""
    status = EntryStatus(status)
    db.begin_write()
    entry = get_editable(actor, entry_id, lock=True)
    if entry.status != status:
        history.record(rv.SUBJECT, entry.id, "status", actor, old={"status": entry.status})
        entry.status = status
        if status == EntryStatus.PUBLISHED and entry.published_dt is None:
            entry.published_dt = utcnow()
        _touch(entry, actor)
        record(actor, f"{entry.kind}.{status.value}", entry.kind, entry.id, entry.country_code)
    db.session.commit()
    return entry


def delete_entry(actor, entry_id):
    """Delete an entry: it leaves every page and list, and stays as a tombstone so that
    partners following the changes feed learn of the deletion."""
    db.begin_write()
    entry = get_editable(actor, entry_id, lock=True)
    entry.deleted_dt = utcnow()
    _touch(entry, actor)
    record(actor, f"{entry.kind}.delete", entry.kind, entry.id, entry.country_code)
    history.record(rv.SUBJECT, entry.id, "delete", actor)
    db.session.commit()
    return entry


def restore_entry(actor, entry_id):
    """Take an entry out of the trash: it is back where it was (a published entry on every
    page and feed), with a new change sequence number, so that the changes feed, the webhooks
    and the caches see it. ``EntryNotFound`` when it is not a deleted entry of the actor's
    country, ``EntryNotRestorable`` when a partner source brought it, ``TrashExpired`` when it
    was deleted ``HUB_TRASH_DAYS`` days ago or more (or is purged)."""
    db.begin_write()
    stmt = _of_actor(
        select(Entry).where(Entry.id == entry_id, Entry.deleted_dt.is_not(None)), actor
    )
    stmt = stmt.options(selectinload(Entry.translations)).with_for_update(of=Entry)
    entry = db.session.scalars(stmt).one_or_none()
    if entry is None:
        db.session.rollback()
        raise EntryNotFound(entry_id)
    if entry.origin != "local":
        db.session.rollback()
        raise EntryNotRestorable(entry_id)
    if not trash.restorable(entry.deleted_dt) or not entry.translations:
        db.session.rollback()
        raise TrashExpired(entry_id)
    deleted_dt = entry.deleted_dt
    entry.deleted_dt = None
    _touch(entry, actor)
    record(
        actor,
        f"{entry.kind}.restore",
        entry.kind,
        entry.id,
        entry.country_code,
        deleted=deleted_dt.isoformat(timespec="seconds"),
    )
    history.record(rv.SUBJECT, entry.id, "restore", actor)
    db.session.commit()
    return entry


# ---------------------------------------------------------------------------------------------
# Reading helpers.


def source_changes(entry, translation):
    """What changed in the entry's source text since the version ``translation`` was made
    from: ``(changes, snapshot)``, where ``changes`` is the list of ``FieldChanges`` (see
    hub.texts.diff) and ``snapshot`` that version's fields, or ``(None, None)`` when no
    snapshot of it was kept (translations made before snapshots were, or brought by a sync)."""
    source = entry.text_in(entry.source_language)
    before = snapshots.recall("entry", entry.id, translation.source_fingerprint)
    if before is None or source is None:
        return None, None
    now = {name: getattr(source, name) for name in snapshots.FIELDS}
    return diff.changes(before, now, v.TEXT_FIELDS[entry.kind]), before


def _has_title(translation):
    return bool(translation.title)


def shown(entry, language):
    """The entry's text for a reader of ``language`` (``hub.texts.core.resolve``): theirs, else
    the source language's, else the first there is; a ``Shown`` whose ``text`` is the
    translation."""
    return texts.resolve(entry.translations, entry.source_language, language, _has_title)


def outdated_against(entry, translation):
    """The source version (``hub.texts.core.SourceVersion``) ``translation`` is older than, or
    None when it is the source text or made from its current version."""
    return texts.outdated_against(
        translation, entry.translations, entry.source_language, _has_title
    )


def is_expired(product, today=None):
    """Whether the product's rating is no longer valid: its last valid day is before ``today``
    (by default today in UTC, as the lists' "rating still valid" filter counts)."""
    return bool(product.valid_until and product.valid_until < (today or utctoday()))


KINDS = tuple(k.value for k in EntryKind)
