"""Account rules: creating users, signing in, invitations, disabling, and the audit log."""

import enum
import hashlib
import re
import secrets
from datetime import timedelta
from typing import NamedTuple

from flask import current_app, g, has_app_context, has_request_context, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import selectinload

from hub.accounts import passwords
from hub.accounts.models import AuditEvent, Invitation, Role, User
from hub.config import MAILBOX
from hub.db import parse_id, utcnow
from hub.extensions import db
from hub.i18n import current_language, languages
from hub.outbox import mail
from hub.registry.models import Country

MIN_PASSWORD_LENGTH = passwords.MIN_LENGTH
MAX_PASSWORD_LENGTH = passwords.MAX_LENGTH
DEFAULT_INVITATION_DAYS = 7  # HUB_INVITATION_DAYS (config key INVITATION_DAYS) overrides it
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(Exception):
    """A change to accounts that is refused; the message is in the requester's language."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def is_address(email):
    """Whether ``email`` (normalised) is an address an account, an invitation or a visitor's
    subscription may have: one mailbox the hub can write to (hub.outbox.mail: no list, no
    name, no line break) with a dot in its domain."""
    return len(email) <= 254 and bool(_EMAIL.match(email)) and bool(MAILBOX.match(email))


def normalize_email(email):
    return (email or "").strip().lower()


def hash_token(token):
    """The SHA-256 of a link's token, as the hub stores it (invitations, account links,
    visitors' subscriptions)."""
    return hashlib.sha256(token.encode()).hexdigest()


class Channel(enum.StrEnum):
    """Through which a change came, as the audit log says it."""

    WEB = "web"
    API = "api"
    CLI = "cli"  # the command line: its changes have no signed-in actor
    SYNC = "sync"


def audit_channel():
    """The channel of the changes made now: what the application context says
    (``g.audit_channel``, set by the ``hub`` commands to "cli"), else "api" or "web" in a
    request, else None (a job)."""
    if has_app_context() and (channel := g.get("audit_channel")):
        return channel
    if has_request_context():
        return Channel.API if request.path.startswith("/api/") else Channel.WEB
    return None


def record(actor, action, object_type, object_id, country_code=None, **details):
    """Write one audit event (in the caller's transaction), with the channel it came through."""
    channel = audit_channel()
    db.session.add(
        AuditEvent(
            actor_id=actor.id if actor else None,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            country_code=country_code,
            details=details,
            channel=str(channel) if channel else None,
        )
    )


def _check_new_account(email, role, country_code):
    if not is_address(email):
        raise AccountError(_("“%(email)s” is not an e-mail address.", email=email), "email")
    if role not in (Role.ADMIN, Role.COORDINATOR):
        raise AccountError(
            _("“%(role)s” is not a role: use admin or coordinator.", role=role), "role"
        )
    if role == Role.COORDINATOR:
        if not country_code or db.session.get(Country, country_code) is None:
            raise AccountError(
                _("A coordinator needs the country they coordinate, as a registry country code."),
                "country",
            )
    elif country_code:
        raise AccountError(
            _("An administrator serves the whole network, not one country."), "country"
        )
    taken = db.session.scalar(select(User.id).where(User.email == email))
    if taken is not None:
        raise AccountError(_("There is already an account for %(email)s.", email=email), "email")


def check_password(password, email=None):
    """Refuses a password that is too short, too long or easy to guess (hub.accounts.passwords);
    ``email``: the account's address, which the password must not be."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            _("The password needs at least %(min)s characters.", min=MIN_PASSWORD_LENGTH),
            "password",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(
            _("The password may have at most %(max)s characters.", max=MAX_PASSWORD_LENGTH),
            "password",
        )
    if passwords.too_easy(password, email):
        raise AccountError(
            _(
                "This password is too easy to guess: it is one of the most common passwords, "
                "your e-mail address, or a few characters repeated. Choose another."
            ),
            "password",
        )


def create_user(email, password, role, country_code=None, actor=None):
    """Create an account; refuses a malformed or taken e-mail address, an unknown role, a
    coordinator without a registry country, an administrator with one, a short password."""
    email = normalize_email(email)
    country_code = (country_code or "").strip().upper() or None
    _check_new_account(email, role, country_code)
    check_password(password, email)
    password_hash = passwords.hash_password(password)  # slow: before the write lock, not in it
    db.begin_write()
    user = _add_user(email, password_hash, role, country_code, actor)
    db.session.commit()
    return user


def _add_user(email, password_hash, role, country_code, actor):
    user = User(email=email, password_hash=password_hash, role=role, country_code=country_code)
    db.session.add(user)
    db.session.flush()
    record(actor, "user.create", "user", user.id, country_code, email=email, role=role)
    return user


def authenticate(email, password):
    """The active user with that e-mail address and password, or None. A hash of an older kind
    is replaced by an Argon2id one (hub.accounts.passwords), without ending any session."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None or not user.password_hash:
        passwords.verify(passwords.dummy_hash(), password or "")
        return None
    matches, needs_rehash = passwords.verify(user.password_hash, password or "")
    if not matches or not user.active:
        return None
    new_hash = passwords.hash_password(password) if needs_rehash else None  # before the lock
    db.begin_write()
    if new_hash:
        user.password_hash = new_hash
        user.same_password = True  # hub.sessions: the sessions stay
    user.last_login_dt = utcnow()
    db.session.commit()
    return user


class InvitationState(enum.StrEnum):
    PENDING = "pending"  # neither used, revoked nor expired: the link works
    USED = "used"
    REVOKED = "revoked"
    REPLACED = "replaced"  # revoked because the address was invited again
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # no invitation has this link


class InvitationUnusable(AccountError):
    """An invitation link that cannot make an account (any more); ``state`` says why."""

    def __init__(self, message, state, invitation=None):
        super().__init__(message)
        self.state = state
        self.invitation = invitation


class NewInvitation(NamedTuple):
    invitation: Invitation
    token: str  # for the link; shown once, never stored
    replaced: list  # the invitations to the same address that this one ended


def invitation_days():
    """How many days an invitation link works (``HUB_INVITATION_DAYS``)."""
    return current_app.config.get("INVITATION_DAYS", DEFAULT_INVITATION_DAYS)


def invitation_state(invitation, now=None):
    """Where ``invitation`` (None: a link the hub never made) stands, as an ``InvitationState``."""
    if invitation is None:
        return InvitationState.UNKNOWN
    if invitation.used_dt is not None:
        return InvitationState.USED
    if invitation.revoked_dt is not None:
        return (
            InvitationState.REPLACED if _newer_invitation(invitation) else InvitationState.REVOKED
        )
    if invitation.expires_dt <= (now or utcnow()):
        return InvitationState.EXPIRED
    return InvitationState.PENDING


def _newer_invitation(invitation):
    return db.session.scalar(
        select(Invitation.id).where(
            Invitation.email == invitation.email, Invitation.id > invitation.id
        )
    )


def _require_admin(actor, message):
    # None is the command line: whoever runs it operates the hub.
    if actor is not None and not actor.is_admin:
        raise AccountError(message)


def _check_language(language):
    if language not in languages():
        raise AccountError(
            _("“%(value)s” is not a language of the hub.", value=language), "language"
        )
    return language


def default_invitation_language(actor=None):
    """The language an invitation opens in when none is chosen: the inviting administrator's
    preferred language, else the page's (on the command line: the operator's, from ``LANG``)."""
    if actor is not None and actor.preferred_language in languages():
        return actor.preferred_language
    return current_language()


def create_invitation(actor, email, role, country_code=None, language=None):
    """Create a one-time invitation link, valid ``invitation_days()``; returns a
    ``NewInvitation`` (the token goes in the link and is never stored).

    Inviting an address again ends its earlier link: one live invitation per address. Refuses
    what ``create_user`` refuses (an address that has an account among them) and a language
    the hub does not speak.
    """
    _require_admin(actor, _("Only administrators can invite."))
    email = normalize_email(email)
    country_code = (country_code or "").strip().upper() or None
    language = (language or "").strip().lower() or default_invitation_language(actor)
    _check_new_account(email, role, country_code)
    _check_language(language)
    return _add_invitation(actor, email, role, country_code, language)


def _add_invitation(actor, email, role, country_code, language, ended=()):
    """Write a new invitation, ending the live ones of ``email`` (and ``ended``, which the
    caller has just revoked in this transaction)."""
    db.begin_write()
    now = utcnow()
    # On PostgreSQL the row lock makes a second invitation of the same address at the same
    # moment wait, and then fail on the unique index of live invitations (below).
    replaced = db.session.scalars(
        select(Invitation)
        .where(
            Invitation.email == email,
            Invitation.used_dt.is_(None),
            Invitation.revoked_dt.is_(None),
        )
        .with_for_update()
    ).all()
    for old in replaced:
        old.revoked_dt = now
    replaced = [*ended, *replaced]
    # Ended before the new one is written: the unique index sees one live invitation at a time.
    db.session.flush()
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        token_hash=hash_token(token),
        email=email,
        role=role,
        country_code=country_code,
        language=language,
        created_by_id=actor.id if actor else None,
        created_dt=now,
        expires_dt=now + timedelta(days=invitation_days()),
    )
    db.session.add(invitation)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise AccountError(
            _(
                "%(email)s was invited by someone else at the same moment; see the pending "
                "invitations.",
                email=email,
            ),
            "email",
        ) from None
    link = url_for("accounts.accept_invitation", lang=language, token=token, _external=True)
    mail.queue(
        "invitation", email, language, "mail/invitation.html", invitation=invitation, link=link
    )
    for old in replaced:
        record(
            actor, "invitation.revoke", "invitation", old.id, old.country_code,
            email=email, replaced_by=invitation.id,
        )  # fmt: skip
    record(
        actor, "user.invite", "invitation", invitation.id, country_code,
        email=email, role=role, language=language,
    )  # fmt: skip
    db.session.commit()
    return NewInvitation(invitation, token, replaced)


def invite(actor, email, role, country_code=None, language=None):
    """``create_invitation``, returning only the token to put in the link."""
    return create_invitation(actor, email, role, country_code, language).token


def pending_invitations(actor=None):
    """The invitations whose links work, newest first (administrators and the command line)."""
    _require_admin(actor, _("Only administrators can see the invitations."))
    return db.session.scalars(
        select(Invitation)
        .options(selectinload(Invitation.created_by))
        .where(
            Invitation.used_dt.is_(None),
            Invitation.revoked_dt.is_(None),
            Invitation.expires_dt > utcnow(),
        )
        .order_by(Invitation.created_dt.desc(), Invitation.id.desc())
    ).all()


def _live_invitation(key):
    """The invitation numbered ``key``, or the live one for the address ``key``, or None."""
    if (number := parse_id(key)) is not None:
        return db.session.get(Invitation, number, with_for_update=True)
    return db.session.scalar(
        select(Invitation)
        .where(
            Invitation.email == normalize_email(str(key)),
            Invitation.used_dt.is_(None),
            Invitation.revoked_dt.is_(None),
        )
        .with_for_update()
    )


def _invitation_to_end(actor, key):
    _require_admin(actor, _("Only administrators can revoke invitations."))
    db.begin_write()
    invitation = _live_invitation(key)
    if invitation is None:
        db.session.rollback()
        raise AccountError(_("There is no pending invitation “%(key)s”.", key=str(key)[:254]))
    if invitation.used_dt is not None:
        db.session.rollback()
        raise AccountError(
            _(
                "The invitation for %(email)s was used already: the account exists.",
                email=invitation.email,
            )
        )
    if invitation.revoked_dt is not None:
        db.session.rollback()
        raise AccountError(
            _("The invitation for %(email)s was revoked already.", email=invitation.email)
        )
    return invitation


def revoke_invitation(actor, key):
    """End an invitation's link before it is used: ``key`` is its number or its address.
    Refuses an unknown one, and one used or revoked already."""
    invitation = _invitation_to_end(actor, key)
    invitation.revoked_dt = utcnow()
    record(
        actor, "invitation.revoke", "invitation", invitation.id, invitation.country_code,
        email=invitation.email,
    )  # fmt: skip
    db.session.commit()
    return invitation


def renew_invitation(actor, key):
    """A new link for an invitation (same address, role, country and language, a new
    lifetime) that ends the old link; returns a ``NewInvitation``."""
    old = _invitation_to_end(actor, key)
    try:
        _check_new_account(old.email, old.role, old.country_code)
    except AccountError:
        db.session.rollback()
        raise
    # Revoked here, in the transaction _invitation_to_end began, so that nobody can use the
    # old link between the check and the new link.
    old.revoked_dt = utcnow()
    return _add_invitation(actor, old.email, old.role, old.country_code, old.language, ended=[old])


def look_up_invitation(token):
    """The invitation ``token`` belongs to, whatever its state; else None."""
    return db.session.scalar(
        select(Invitation)
        .options(selectinload(Invitation.created_by))
        .where(Invitation.token_hash == hash_token(token or ""))
    )


def find_invitation(token):
    """The pending invitation for ``token`` (unused, unrevoked, unexpired); else None."""
    invitation = look_up_invitation(token)
    return invitation if invitation_state(invitation) == InvitationState.PENDING else None


def unusable(invitation, state=None):
    """The ``InvitationUnusable`` error for ``invitation`` (None: unknown), in the current
    language."""
    state = state or invitation_state(invitation)
    messages = {
        InvitationState.UNKNOWN: lambda: _(
            "This invitation link is not known to the hub: check that it was copied whole."
        ),
        InvitationState.USED: lambda: _(
            "This invitation link was used on %(date)s: the account for %(email)s exists.",
            date=format_datetime(invitation.used_dt, "medium"),
            email=invitation.email,
        ),
        InvitationState.REVOKED: lambda: _(
            "This invitation link was withdrawn on %(date)s.",
            date=format_datetime(invitation.revoked_dt, "medium"),
        ),
        InvitationState.REPLACED: lambda: _(
            "This invitation link was replaced by a newer one on %(date)s: use the latest link "
            "you received.",
            date=format_datetime(invitation.revoked_dt, "medium"),
        ),
        InvitationState.EXPIRED: lambda: _(
            "This invitation link expired on %(date)s.",
            date=format_datetime(invitation.expires_dt, "medium"),
        ),
    }
    return InvitationUnusable(messages[state](), state, invitation)


def _busy_message():
    return _("The hub is busy creating accounts; send the form again in a moment.")


def accept_invitation(token, password):
    """Turn an invitation into an account with ``password``; the link then stops working.

    Taking the link is one conditional update, so that of two people opening it at once one
    gets the account and the other an ``InvitationUnusable`` saying it was just used.
    """
    invitation = look_up_invitation(token)
    if invitation is None or invitation_state(invitation) != InvitationState.PENDING:
        raise unusable(invitation)
    check_password(password, invitation.email)
    password_hash = passwords.hash_password(password)  # slow: before the write lock, not in it
    try:
        db.begin_write()
        now = utcnow()
        taken = db.session.execute(
            update(Invitation)
            .where(
                Invitation.id == invitation.id,
                Invitation.used_dt.is_(None),
                Invitation.revoked_dt.is_(None),
                Invitation.expires_dt > now,
            )
            .values(used_dt=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken != 1:
            db.session.rollback()
            db.session.refresh(invitation)
            if invitation_state(invitation) == InvitationState.PENDING:  # it was, and is again
                raise AccountError(_busy_message())
            raise unusable(invitation)
        email, country_code = invitation.email, invitation.country_code
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            db.session.rollback()
            raise AccountError(_("There is already an account for %(email)s.", email=email))
        user = _add_user(email, password_hash, invitation.role, country_code, None)
        user.preferred_language = invitation.language  # pages open in the invitation's language
        record(user, "user.accept_invitation", "invitation", invitation.id, country_code)
        db.session.commit()
    except IntegrityError:
        # The address got an account by another way at the same moment (create-user).
        db.session.rollback()
        raise AccountError(
            _("There is already an account for %(email)s.", email=invitation.email)
        ) from None
    except OperationalError as exc:
        db.session.rollback()
        if "locked" not in str(exc.orig).lower():
            raise
        raise AccountError(_busy_message()) from None
    db.session.refresh(invitation)
    return user


def set_active(actor, user_id, active):
    """Enable or disable an account (administrators only; never one's own)."""
    if actor is None or not actor.is_admin:
        raise AccountError(_("Only administrators can enable or disable accounts."))
    db.begin_write()
    user = db.session.get(User, user_id)
    if user is None:
        raise AccountError(_("There is no such account."))
    if user.id == actor.id:
        raise AccountError(_("You cannot disable your own account."))
    if user.active != active:
        user.active = active
        record(
            actor, "user.enable" if active else "user.disable", "user", user.id, user.country_code
        )
    db.session.commit()
    return user


def set_password(user, password, actor=None):
    """Give the account a new password; every session of the account ends (hub.sessions)."""
    check_password(password, user.email)
    password_hash = passwords.hash_password(password)
    db.begin_write()
    user.password_hash = password_hash
    record(actor or user, "user.password", "user", user.id, user.country_code)
    db.session.commit()
    return user


def set_preferred_language(user, language, languages):
    if not language:
        raise AccountError(_("This field is required."), "language")
    if language not in languages:
        raise AccountError(
            _("“%(value)s” is not a language of the hub.", value=language), "language"
        )
    db.begin_write()
    user.preferred_language = language
    db.session.commit()
