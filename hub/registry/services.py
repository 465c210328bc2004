"""The registry's rules: membership changes, the seed, the translation of facts and restoring a
fact's text from its history. The CLI, the pages and the tests call these; nothing else writes a
country's membership. Facts' texts in every language are written here too, through
``hub.texts`` (see ``hub.registry.facts``), which keeps a revision of each change (a membership
change keeps one of the country's): administrators translate them (registry facts are theirs)
and mark a translation as up to date with its original."""

import functools
import json
import re
from datetime import date
from pathlib import Path
from types import SimpleNamespace

from babel.lists import format_list
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hub.db import latest_possible_date
from hub.extensions import db
from hub.history import services as history
from hub.history.models import Revision
from hub.i18n import current_language, fold, languages
from hub.registry import facts, queries
from hub.registry.models import Country, MembershipEvent, MembershipStatus, Programme
from hub.registry.regions import territory_name
from hub.registry.schemas import SeedSchema
from hub.texts import diff, snapshots
from hub.texts import facts as texts
from hub.texts.catalogue import shown_message
from hub.texts.models import FactText

SEED_FILE = Path(__file__).parent / "seed" / "countries.json"

S = MembershipStatus
STATUS_LABELS = {
    S.PROSPECTIVE: _l("Prospective member"),
    S.APPLICANT: _l("Applicant"),
    S.MEMBER: _l("Member"),
    S.SUSPENDED: _l("Suspended"),
    S.WITHDRAWN: _l("Withdrawn"),
}

# Which status may follow which. A prospective country may be admitted directly (as the founding
# members were at the launch); a withdrawn country comes back by applying again.
ALLOWED_CHANGES = {
    S.PROSPECTIVE: (S.APPLICANT, S.MEMBER),
    S.APPLICANT: (S.MEMBER, S.PROSPECTIVE),
    S.MEMBER: (S.SUSPENDED, S.WITHDRAWN),
    S.SUSPENDED: (S.MEMBER, S.WITHDRAWN),
    S.WITHDRAWN: (S.APPLICANT, S.PROSPECTIVE),
}

MAX_NOTE_LENGTH = 2000


class RegistryError(Exception):
    """A change the registry refuses; the message is in the requester's language."""


class FactNotFound(Exception):
    """No such fact to translate: an unknown subject, language or fact, the fact's own source
    language, or an actor who is not an administrator."""


class FactInvalid(RegistryError):
    """A translation the registry refuses: ``errors`` maps each field ("" for the whole text)
    to a message in the requester's language."""

    def __init__(self, errors):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def status_label(status):
    """The name of a membership status in the current language."""
    return str(STATUS_LABELS[MembershipStatus(status)])


def shown_status(status, language=None):
    """The name of a membership status for a reader of ``language`` (the current one by
    default), as a ``hub.texts.core.Shown`` (``hub.texts.catalogue``)."""
    return shown_message(STATUS_LABELS[MembershipStatus(status)], language or current_language())


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
# Control characters other than tab and line breaks: nothing a person types, and NUL is refused
# by PostgreSQL, so they are refused here, on every database alike.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _parse_date(value):
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if not _ISO_DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise RegistryError(
            _("“%(value)s” is not a date: write it as YYYY-MM-DD, e.g. 2026-01-15.", value=value)
        ) from None


def change_membership(code, status, on, note="", actor=None):
    """Record that country ``code`` changed to membership ``status`` on date ``on``.

    Refuses, with a message in the current language and without changing anything: an unknown
    country or status, a date that is not a date, in the future or before the country's current
    status, the status it already has, a change the rules do not allow, an over-long note or one
    with control characters. Returns the new ``MembershipEvent``.
    """
    db.begin_write()
    try:
        event = _record_membership_change(code, status, on, note)
        history.record(
            "country",
            event.country_code,
            "status",
            actor,
            old={"membership_status": str(event.previous_status)},
        )
        if event.note:
            db.session.flush()
            texts.write(
                "membership_event",
                event.id,
                current_language(),
                {"note": event.note},
                facts.FIELDS["membership_event"],
                actor=actor,
            )
    except RegistryError:
        # Release the row lock and the transaction at once, whoever the caller is.
        db.session.rollback()
        raise
    from hub.accounts.services import record

    # The command line has no actor: its events say "command line" (their channel).
    record(
        actor,
        f"country.{event.status}",
        "country",
        event.country_code,
        event.country_code,
        effective_on=event.effective_on.isoformat(),
    )
    db.session.commit()
    return event


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


def _record_membership_change(code, status, on, note):
    session = db.session
    code = (code or "").strip().upper()
    # On PostgreSQL the row lock serialises two concurrent changes of one country.
    country = (
        session.get(Country, code, with_for_update=True) if _COUNTRY_CODE.match(code) else None
    )
    if country is None:
        raise RegistryError(
            _(
                "There is no country with the code “%(code)s” in the registry.",
                code=_CONTROL.sub("", code),
            )
        )
    try:
        new = MembershipStatus((status or "").strip().lower())
    except ValueError:
        raise RegistryError(
            _(
                "“%(status)s” is not a membership status; use one of: %(choices)s.",
                status=_CONTROL.sub("", status or ""),
                choices=", ".join(s.value for s in MembershipStatus),
            )
        ) from None
    on = _parse_date(on)
    name = territory_name(code)
    current = MembershipStatus(country.membership_status)
    note = (note or "").strip()
    if on > latest_possible_date():
        raise RegistryError(
            _(
                "%(date)s is in the future: a membership change is recorded once it has happened.",
                date=format_date(on, "long"),
            )
        )
    if on < country.status_since_on:
        raise RegistryError(
            _(
                "%(date)s is before %(country)s's current status (%(status)s since %(since)s): "
                "changes are recorded in the order they happened.",
                date=format_date(on, "long"),
                country=name,
                status=status_label(current),
                since=format_date(country.status_since_on, "long"),
            )
        )
    if new == current:
        raise RegistryError(
            _(
                "%(country)s already has the status %(status)s.",
                country=name,
                status=status_label(new),
            )
        )
    if new not in ALLOWED_CHANGES[current]:
        raise RegistryError(
            _(
                "%(country)s cannot change from %(current)s to %(new)s; from %(current)s it can "
                "change to: %(choices)s.",
                country=name,
                current=status_label(current),
                new=status_label(new),
                choices=format_list(
                    [status_label(s) for s in ALLOWED_CHANGES[current]], "or", get_locale()
                ),
            )
        )
    if len(note) > MAX_NOTE_LENGTH:
        raise RegistryError(
            _("The note is too long: %(max)s characters at most.", max=MAX_NOTE_LENGTH)
        )
    if _CONTROL.search(note):
        raise RegistryError(_("The note contains control characters; remove them."))
    event = MembershipEvent(
        country_code=code, status=new, previous_status=current, effective_on=on, note=note
    )
    country.membership_status = new
    country.status_since_on = on
    session.add(event)
    return event


def load_seed(path=SEED_FILE):
    """Read and validate the seed file; raises ``marshmallow.ValidationError`` if malformed."""
    with open(path, encoding="utf-8") as f:
        return SeedSchema().load(json.load(f))


@functools.cache
def network_facts():
    """The network's own facts from the seed file: name, launch date and event, and whether its
    founding members are confirmed by a source. Read once per process."""
    return SimpleNamespace(**load_seed()["network"])


def _assign(obj, values):
    # Assign only what differs, so that seeding again leaves rows (and updated_dt) untouched.
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def seed_registry(path=SEED_FILE, actor=None):
    """Load the network's countries and programmes from the seed file.

    New countries start with the membership the seed gives them (member for the founding
    members, prospective otherwise), dated at the network's launch. Existing countries keep
    their membership and history: the seed only brings their reference facts up to date.
    Seeding twice changes nothing. The facts' texts are written in English (the seed file's,
    their source language) and in the languages of ``seed/texts/`` (see ``hub.registry.facts``).
    Returns counts of what was created and updated, which the audit log keeps when they are not
    all zero.
    """
    data = load_seed(path)
    session = db.session
    sources = data["sources"]
    launched_on = data["network"]["launched_on"]
    counts = dict.fromkeys(
        (
            "countries_created",
            "countries_updated",
            "programmes_created",
            "programmes_updated",
            "texts_written",
        ),
        0,
    )
    existing = {
        c.code: c
        for c in session.scalars(select(Country).options(selectinload(Country.programmes)))
    }
    seeded = {}  # (country code, index in the seed's list) → programme
    for row in data["countries"]:
        facts = {
            "region": row["region"],
            "founding_member": row["founding_member"],
            "founding_verified": row["founding_member_verified"],
            "verified": row["verified"],
            "note": row["note"],
            "sources": [{"id": key, **sources[key]} for key in row["sources"]],
        }
        country = existing.get(row["code"])
        if country is None:
            status = S.MEMBER if row["founding_member"] else S.PROSPECTIVE
            country = Country(
                code=row["code"], membership_status=status, status_since_on=launched_on, **facts
            )
            session.add(country)
            session.add(
                MembershipEvent(
                    country=country,
                    status=status,
                    previous_status=None,
                    effective_on=launched_on,
                    note="",
                )
            )
            counts["countries_created"] += 1
        elif _assign(country, facts):
            counts["countries_updated"] += 1
        programmes = {p.name: p for p in country.programmes}
        for index, prow in enumerate(row["programmes"]):
            values = {**prow, "sources": [sources[key] for key in prow["sources"]]}
            values["search_text"] = fold(
                " ".join(
                    filter(
                        None,
                        (prow["name"], prow["local_name"], prow["acronym"], prow["lead_agency"]),
                    )
                )
            )
            programme = programmes.get(prow["name"])
            if programme is None:
                programme = Programme(**values)
                country.programmes.append(programme)
                counts["programmes_created"] += 1
            elif _assign(programme, values):
                counts["programmes_updated"] += 1
            seeded[(row["code"], index)] = programme
    session.flush()
    counts["texts_written"] = _seed_texts(data, seeded, actor)
    if any(counts.values()):
        from hub.accounts.services import record

        record(actor, "registry.seed", "registry", "seed", **counts)
    session.commit()
    return counts


def _seed_texts(data, programmes, actor):
    """Write the seed's facts' texts: English as the source, each translation made from the
    current English text unless it did not change (then it stays as old as it was). Each text
    written keeps a revision: "create" for a new one, without its values. Returns the number of
    texts written."""
    translations = facts.seed_translations()
    wanted = {("country", c["code"]): {} for c in data["countries"]}
    wanted.update({("programme", str(p.id)): {} for p in programmes.values()})
    translated = {language: {} for language in translations}
    for seed_key, subject, key, field, text in facts.seed_facts(data):
        key = str(programmes[key].id) if subject == "programme" else key
        wanted.setdefault((subject, key), {})[field] = text
        for language, found in translations.items():
            if found.get(seed_key):
                translated[language].setdefault((subject, key), {})[field] = found[seed_key]
    stored = {
        (row.subject, row.subject_key, row.language): row
        for row in db.session.scalars(
            select(FactText).where(
                FactText.subject.in_(("network", "source", "country", "programme"))
            )
        )
    }
    written = 0
    revisions = []  # one statement for them all: the first load writes thousands of texts
    for (subject, key), fields in wanted.items():
        source_row = stored.get((subject, key, facts.SEED_LANGUAGE))
        if not fields and source_row is None:
            continue
        names = facts.FIELDS[subject]
        source_row, changed = texts.write(
            subject,
            key,
            facts.SEED_LANGUAGE,
            fields,
            names,
            actor=actor,
            existing=source_row,
            action="create" if source_row is None else None,
            revisions=revisions,
        )
        written += changed
        for language, found in translated.items():
            if (subject, key) in found:
                existing = stored.get((subject, key, language))
                _row, changed = texts.write(
                    subject,
                    key,
                    language,
                    found[(subject, key)],
                    names,
                    source=source_row,
                    actor=actor,
                    existing=existing,
                    action="create" if existing is None else None,
                    revisions=revisions,
                )
                written += changed
    history.record_many(revisions)
    return written


# ---------------------------------------------------------------------------------------------
# Translating facts.


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
