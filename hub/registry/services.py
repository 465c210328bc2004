"""The registry's membership rules: which status may follow which, recording a country's change
of membership (``change_membership``) and the statuses' names in every language. The CLI, the
admin pages and the tests call these; nothing else writes a country's membership but the seed
(``hub.registry.seeding``), for a new country. A change keeps a revision of the country's
(``hub.history``) and writes its note through ``hub.texts`` (see ``hub.registry.facts``).
``RegistryError`` is what every rule of the registry raises to refuse a change."""

import re
from datetime import date

from babel.lists import format_list
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hub.db import latest_possible_date
from hub.extensions import db
from hub.history import services as history
from hub.i18n import current_language
from hub.registry import facts
from hub.registry.models import Country, MembershipEvent, MembershipStatus
from hub.registry.regions import territory_name
from hub.texts import facts as texts
from hub.texts.catalogue import shown_message

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
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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
                code=CONTROL.sub("", code),
            )
        )
    try:
        new = MembershipStatus((status or "").strip().lower())
    except ValueError:
        raise RegistryError(
            _(
                "“%(status)s” is not a membership status; use one of: %(choices)s.",
                status=CONTROL.sub("", status or ""),
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
    if CONTROL.search(note):
        raise RegistryError(_("The note contains control characters; remove them."))
    event = MembershipEvent(
        country_code=code, status=new, previous_status=current, effective_on=on, note=note
    )
    country.membership_status = new
    country.status_since_on = on
    session.add(event)
    return event
