"""Restoring an entry's past version from its history (the entry's history page's "Restore this
version"): its facts and texts set to what they were right after a revision, as a change of its
own (a ``revert`` revision, an audit event, a new change sequence number), through the rules of
``hub.publishing.services``."""

from sqlalchemy import select

from hub.accounts.services import record
from hub.extensions import db
from hub.history import services as history
from hub.publishing import revisions as rv
from hub.publishing import vocabulary as v
from hub.publishing.models import EntryStatus, Policy, Product
from hub.publishing.services import EntryNotFound, _touch, apply_text, get_editable
from hub.registry.models import Programme


def restore_version(actor, entry_id, revision_id):
    """Set the entry's facts and texts to what they were right after revision ``revision_id``
    (its status stays: publish or archive it as usual); the change is a revision of its own,
    "revert". A restored translation counts as made from the source text as restored."""
    db.begin_write()
    entry = get_editable(actor, entry_id, lock=True)
    current = rv.entry_state(entry)
    target = history.state_at(rv.SUBJECT, entry.id, revision_id, current)
    if target is None:
        db.session.rollback()
        raise EntryNotFound(revision_id)
    old = {}
    for field in rv.KIND_FIELDS[entry.kind]:
        if field in rv.NOT_RESTORED:
            continue
        if target.get(field) != current.get(field):
            old[field] = current.get(field)
            setattr(entry, field, _restorable(entry, field, target.get(field)))
    languages = {rv.split_key(key)[1] for key in (*target, *current)} - {None}
    for language in sorted(languages, key=lambda language: language != entry.source_language):
        fields = v.TEXT_FIELDS[entry.kind]
        want = {f: target.get(rv.text_key(f, language)) or "" for f in fields}
        have = {f: current.get(rv.text_key(f, language)) or "" for f in fields}
        if want == have or (not want["title"] and language == entry.source_language):
            continue
        for field in fields:
            if want[field] != have[field]:
                old[rv.text_key(field, language)] = current.get(rv.text_key(field, language))
        if not want["title"]:  # the language had no text then
            entry.translations.remove(next(t for t in entry.translations if t.language == language))
            continue
        made_from = None
        if language != entry.source_language:
            made_from = entry.text_in(entry.source_language).fingerprint
        text = {"title": "", "summary": "", "body": "", "lessons": "", **want}
        apply_text(entry, language, text, actor, made_from)
    if old:
        _touch(entry, actor)
        record(actor, f"{entry.kind}.revert", entry.kind, entry.id, entry.country_code,
               revision=revision_id)  # fmt: skip
        history.record(rv.SUBJECT, entry.id, "revert", actor, old=old)
    db.session.commit()
    return entry


def _restorable(entry, field, value):
    """A field's value from the history, as the entry can take it now: policies and a
    programme that are gone (or of another country) are left out."""
    if field == "policies":
        return db.session.scalars(
            select(Policy).where(
                Policy.id.in_(value or []),
                Policy.deleted_dt.is_(None),
                Policy.country_code == entry.country_code,
            )
        ).all()
    if field == "exhibitors":
        return [
            p
            for p in db.session.scalars(
                select(Product).where(Product.id.in_(value or []), Product.deleted_dt.is_(None))
            )
            if p.country_code == entry.country_code or p.status == EntryStatus.PUBLISHED
        ]
    if field == "programme_id" and value is not None:
        programme = db.session.get(Programme, value)
        return value if programme and programme.country_code == entry.country_code else None
    return rv.from_json(field, value)
