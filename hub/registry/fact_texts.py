"""Writing the texts of the registry's facts (``hub.registry.facts``) through ``hub.texts``, each
change keeping a revision: administrators translate a fact (registry facts are theirs), mark a
translation as up to date with its original and see what changed in the original since; a
fact's text is restored from the country's history (``restore_fact_text``). The translation
pages (hub/publishing/routes_facts.py) and the country's history page call these."""

from flask_babel import gettext as _

from hub.extensions import db
from hub.history import services as history
from hub.history.models import Revision
from hub.i18n import languages
from hub.registry import facts, queries
from hub.registry.services import CONTROL as _CONTROL
from hub.registry.services import RegistryError
from hub.texts import diff, snapshots
from hub.texts import facts as texts


class FactNotFound(Exception):
    """No such fact to translate: an unknown subject, language or fact, the fact's own source
    language, or an actor who is not an administrator."""


class FactInvalid(RegistryError):
    """A translation the registry refuses: ``errors`` maps each field ("" for the whole text)
    to a message in the requester's language."""

    def __init__(self, errors):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class FactVersionNotFound(Exception):
    """No text revision of this country's facts has that number."""


def restore_fact_text(code, revision_id, actor=None):
    """Set the text of one of country ``code``'s facts, in the language of its revision
    ``revision_id``, back to what it was right after that revision; the change is a revision
    of its own ("revert"). A restored translation counts as made from the source text as it is
    now. Raises ``FactVersionNotFound`` for a revision that is not a text revision of one of the
    country's facts, and ``RegistryError`` when the version had no text to bring back; nothing
    changes then. Returns whether the text changed."""
    db.begin_write()
    country = queries.get_country(code)
    revision = db.session.get(Revision, revision_id)
    if (
        country is None
        or revision is None
        or revision.language is None
        or revision.subject not in facts.FIELDS
        or (revision.subject, revision.subject_id) not in facts.country_subjects(country)
    ):
        db.session.rollback()
        raise FactVersionNotFound(revision_id)
    subject, key, language = revision.subject, revision.subject_id, revision.language
    versions = texts.load([(subject, key)]).versions(subject, key)
    state = history.state_at(subject, key, revision_id, texts.history_state(versions))
    names = facts.FIELDS[subject]
    wanted = {name: state.get(f"{name}.{language}") for name in names}
    if not any(wanted.values()):
        db.session.rollback()
        raise RegistryError(_("This version has no text to restore."))
    source_language = texts.source_language(versions)
    source = None
    if source_language not in (None, language):
        source = next(row for row in versions if row.language == source_language)
    existing = next((row for row in versions if row.language == language), None)
    _row, changed = texts.write(
        subject,
        key,
        language,
        wanted,
        names,
        source=source,
        actor=actor,
        existing=existing,
        action="revert",
    )
    if changed:
        from hub.accounts.services import record

        record(
            actor,
            "country.revert",
            "country",
            country.code,
            country.code,
            revision=revision_id,
            fact=f"{subject}.{key}",
            language=language,
        )
    db.session.commit()
    return changed


def fact_translation(actor, subject, key, language):
    """``(source, translation)``: the fact's source-language row and its row in ``language``
    (None when there is none yet). ``FactNotFound`` unless ``actor`` is an administrator, the
    fact has a source text and ``language`` is another language of the hub."""
    if actor is None or not actor.is_authenticated or not actor.is_admin:
        raise FactNotFound(subject)
    if subject not in facts.FIELDS or language not in languages() or len(str(key)) > 64:
        raise FactNotFound(subject)
    versions = texts.load([(subject, key)]).versions(subject, key)
    source = next((row for row in versions if row.source_fingerprint is None), None)
    if source is None or source.language == language:
        raise FactNotFound(subject)
    return source, next((row for row in versions if row.language == language), None)


def clean_fact_text(subject, text):
    """The fields of ``subject`` from ``text`` (``{field: text}``), trimmed, as a translation
    may hold them; ``FactInvalid`` for control characters, an over-long field, or no text at
    all (a translation is corrected, not emptied: the page would show the original anyway)."""
    clean, errors = {}, {}
    for name in facts.FIELDS[subject]:
        value = (text.get(name) or "").strip().replace("\r\n", "\n")
        limit = facts.TEXT_LIMITS[name]
        if _CONTROL.search(value):
            errors[name] = _("This text contains control characters; remove them.")
        elif len(value) > limit:
            errors[name] = _(
                "This text is too long: %(count)s characters, at most %(max)s.",
                count=len(value),
                max=limit,
            )
        clean[name] = value
    if not errors and not any(clean.values()):
        errors[""] = _("Write the translation of at least one field.")
    if errors:
        raise FactInvalid(errors)
    return clean


def _remember(subject, key, source):
    names = facts.FIELDS[subject]
    snapshots.remember(subject, texts.snapshot_id(key), source.fingerprint, source.fields, names)


def translate_fact(actor, subject, key, language, text):
    """Write the fact's translation into ``language`` (``text``: ``{field: text}``), made from
    the current version of its source text, which is kept for the "what changed" of later
    versions. Returns the row; refuses as ``fact_translation`` and ``clean_fact_text`` do."""
    db.begin_write()
    try:
        source, current = fact_translation(actor, subject, key, language)
        clean = clean_fact_text(subject, text)
    except (FactNotFound, FactInvalid):
        db.session.rollback()
        raise
    row, changed = texts.write(
        subject,
        key,
        language,
        clean,
        facts.FIELDS[subject],
        source=source,
        actor=actor,
        existing=current,
    )
    if changed:
        _remember(subject, key, source)
        _record_fact(actor, "translate", subject, key, language)
    db.session.commit()
    return row


def confirm_fact_translation(actor, subject, key, language):
    """Record that the fact's translation into ``language`` says what its source text says
    now: it is no longer outdated. ``FactNotFound`` as ``fact_translation``, or when there is
    no translation into ``language``."""
    db.begin_write()
    try:
        source, current = fact_translation(actor, subject, key, language)
        if current is None:
            raise FactNotFound(subject)
    except FactNotFound:
        db.session.rollback()
        raise
    if current.source_fingerprint != source.fingerprint:
        texts.confirm(current, source, actor)
        _remember(subject, key, source)
        _record_fact(actor, "confirm_translation", subject, key, language)
    db.session.commit()
    return current


def _record_fact(actor, action, subject, key, language):
    from hub.accounts.services import record

    record(actor, f"fact.{action}", "fact", f"{subject}/{key}", language=language)


def fact_source_changes(subject, key, source, translation):
    """What changed in the fact's source text since the version ``translation`` was made from:
    ``(changes, snapshot)`` as ``hub.publishing.services.source_changes`` gives them, or
    ``(None, None)`` when no snapshot of that version was kept (the seed's translations)."""
    names = facts.FIELDS[subject]
    before = snapshots.recall(subject, texts.snapshot_id(key), translation.source_fingerprint)
    if before is None:
        return None, None
    return diff.changes(before, source.fields, names), before
