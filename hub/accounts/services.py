"""Account rules: creating users, signing in, invitations, disabling, and the audit log."""

import functools
import hashlib
import re
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from hub.accounts.models import AuditEvent, Invitation, Role, User
from hub.db import utcnow
from hub.extensions import db
from hub.registry.models import Country

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # hashing a megabyte-long "password" is a denial of service
INVITATION_LIFETIME = timedelta(days=7)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Checked when the e-mail address is unknown, so that a wrong address takes as long as a wrong
# password and sign-in does not reveal which addresses have accounts.


@functools.cache
def _dummy_hash():
    """A hash to check unknown addresses against (as long as a real check); made when first
    needed, not when every process starts: scrypt takes a tenth of a second."""
    return generate_password_hash("not-a-real-password")


class AccountError(Exception):
    """A change to accounts that is refused; the message is in the requester's language."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def normalize_email(email):
    return (email or "").strip().lower()


def _hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def record(actor, action, object_type, object_id, country_code=None, **details):
    """Write one audit event (in the caller's transaction)."""
    db.session.add(
        AuditEvent(
            actor_id=actor.id if actor else None,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            country_code=country_code,
            details=details,
        )
    )


def _check_new_account(email, role, country_code):
    if len(email) > 254 or not _EMAIL.match(email):
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


def check_password(password):
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(
            _("The password needs at least %(min)s characters.", min=MIN_PASSWORD_LENGTH),
            "password",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(
            _("The password may have at most %(max)s characters.", max=MAX_PASSWORD_LENGTH),
            "password",
        )


def create_user(email, password, role, country_code=None, actor=None):
    """Create an account; refuses a malformed or taken e-mail address, an unknown role, a
    coordinator without a registry country, an administrator with one, a short password."""
    user = _add_user(email, password, role, country_code, actor)
    db.session.commit()
    return user


def _add_user(email, password, role, country_code, actor):
    email = normalize_email(email)
    country_code = (country_code or "").strip().upper() or None
    _check_new_account(email, role, country_code)
    check_password(password)
    user = User(
        email=email,
        password_hash=generate_password_hash(password),
        role=role,
        country_code=country_code,
    )
    db.session.add(user)
    db.session.flush()
    record(actor, "user.create", "user", user.id, country_code, email=email, role=role)
    return user


def authenticate(email, password):
    """The active user with that e-mail address and password, or None."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None or not user.password_hash:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    user.last_login_dt = utcnow()
    db.session.commit()
    return user


def invite(actor, email, role, country_code=None):
    """Create a one-time invitation; returns the token to put in the link (never stored)."""
    email = normalize_email(email)
    country_code = (country_code or "").strip().upper() or None
    _check_new_account(email, role, country_code)
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        token_hash=_hash_token(token),
        email=email,
        role=role,
        country_code=country_code,
        created_by_id=actor.id if actor else None,
        expires_dt=utcnow() + INVITATION_LIFETIME,
    )
    db.session.add(invitation)
    db.session.flush()
    record(actor, "user.invite", "invitation", invitation.id, country_code, email=email, role=role)
    db.session.commit()
    return token


def find_invitation(token):
    """The usable invitation for ``token``: unused and unexpired; else None."""
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == _hash_token(token or ""))
    )
    if invitation is None or invitation.used_dt is not None:
        return None
    return invitation if invitation.expires_dt > utcnow() else None


def accept_invitation(token, password):
    """Turn an invitation into an account with ``password``; the link then stops working."""
    invitation = find_invitation(token)
    if invitation is None:
        raise AccountError(
            _("This invitation link is not valid: it was used already or has expired.")
        )
    user = _add_user(invitation.email, password, invitation.role, invitation.country_code, None)
    invitation.used_dt = utcnow()
    record(user, "user.accept_invitation", "invitation", invitation.id, invitation.country_code)
    db.session.commit()
    return user


def set_active(actor, user_id, active):
    """Enable or disable an account (administrators only; never one's own)."""
    if actor is None or not actor.is_admin:
        raise AccountError(_("Only administrators can enable or disable accounts."))
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


def set_preferred_language(user, language, languages):
    if language not in languages:
        raise AccountError(
            _("“%(value)s” is not a language of the hub.", value=language), "language"
        )
    user.preferred_language = language
    db.session.commit()
