"""One's own account without an administrator (docs/accounts.md, "Your own account"): the
password changed (the current one asked for), a forgotten password reset through a link mailed
to the address, the address changed once the new one is confirmed.

Each link is an ``AccountToken``: random, stored as its SHA-256, good once and for a while
(``PASSWORD_LINK_LIFETIME``, ``EMAIL_LINK_LIFETIME``). Asking for a password reset gets the
same answer whether the address has an account or not, and mails at most
``RESETS_PER_HOUR`` links to one address in an hour (the pages also limit each client:
``HUB_PASSWORD_RESET_RATE_LIMIT``). Every change is mailed to the account's address, and to
the earlier one when the address changes, so that a change its owner did not make is seen.
"""

import secrets
from datetime import timedelta

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from hub.accounts import passwords
from hub.accounts.models import AccountToken, User
from hub.accounts.services import (
    AccountError,
    check_password,
    hash_token,
    is_address,
    normalize_email,
    record,
)
from hub.db import utcnow
from hub.extensions import db
from hub.i18n import current_language, languages
from hub.outbox import mail

PASSWORD_LINK_LIFETIME = timedelta(hours=1)
EMAIL_LINK_LIFETIME = timedelta(hours=24)
RESETS_PER_HOUR = 3  # links mailed to one address in an hour; more asks send nothing


class LinkUnusable(AccountError):
    """A link that is unknown, used, expired, or whose account is disabled."""


def mail_language(user):
    """The language of the mail about ``user``'s account: theirs, else the page's."""
    if user.preferred_language in languages():
        return user.preferred_language
    return current_language()


def _new_token(user, purpose, lifetime, new_email=None):
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_token(token),
            new_email=new_email,
            created_dt=now,
            expires_dt=now + lifetime,
        )
    )
    return token


def _notice(user, address, template, **context):
    language = mail_language(user)
    mail.queue(
        template.removeprefix("mail/").removesuffix(".html"), address, language, template,
        sign_in=url_for("accounts.login", lang=language, _external=True), **context,
    )  # fmt: skip


def change_password(user, current, new):
    """``user``'s own new password, the current one given; every session of the account ends
    (hub.sessions: the caller starts this one again) and a notice is mailed."""
    if not passwords.verify(user.password_hash, current or "")[0]:
        db.session.rollback()
        raise AccountError(_("Your current password is not right."), "current_password")
    check_password(new, user.email)
    password_hash = passwords.hash_password(new)
    db.begin_write()
    user.password_hash = password_hash
    record(user, "user.password", "user", user.id, user.country_code)
    _notice(user, user.email, "mail/password_changed.html")
    db.session.commit()


def request_password_reset(email):
    """Mail a link to choose a new password if ``email`` is an active account's, and fewer than
    ``RESETS_PER_HOUR`` were mailed to it in the last hour; nothing otherwise. Says nothing
    either way: the page answers the same."""
    email = normalize_email(email)
    if not is_address(email):
        return
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.active:
        db.session.rollback()
        return
    db.begin_write()
    recent = db.session.scalar(
        select(func.count(AccountToken.id)).where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == "password",
            AccountToken.created_dt > utcnow() - timedelta(hours=1),
        )
    )
    if recent >= RESETS_PER_HOUR:
        db.session.rollback()
        return
    token = _new_token(user, "password", PASSWORD_LINK_LIFETIME)
    language = mail_language(user)
    mail.queue(
        "password_reset", user.email, language, "mail/password_reset.html",
        link=url_for("accounts.reset_password", lang=language, token=token, _external=True),
        minutes=int(PASSWORD_LINK_LIFETIME.total_seconds() // 60),
    )  # fmt: skip
    db.session.commit()


def find_link(token, purpose):
    """The live ``AccountToken`` of ``token`` for ``purpose`` (unused, unexpired, its account
    active), else None."""
    if not isinstance(token, str) or len(token) > 100:
        return None
    row = db.session.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == hash_token(token), AccountToken.purpose == purpose
        )
    )
    if row is None or row.used_dt is not None or row.expires_dt <= utcnow():
        return None
    return row if row.user.active else None


def _use(row):
    """Take the link for this request (one conditional UPDATE): two at once, one wins."""
    result = db.session.execute(
        update(AccountToken)
        .where(AccountToken.id == row.id, AccountToken.used_dt.is_(None))
        .values(used_dt=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise LinkUnusable(_unusable_message())


def _unusable_message():
    return _("This link does not work any more: it was used, or it expired. Ask for a new one.")


def reset_password(token, new):
    """Set the password of the link's account; the link and the account's other password links
    stop working, every session of the account ends, a notice is mailed. Returns the user."""
    row = find_link(token, "password")
    if row is None:
        db.session.rollback()
        raise LinkUnusable(_unusable_message())
    user = row.user
    check_password(new, user.email)
    password_hash = passwords.hash_password(new)  # slow: before the write lock
    db.begin_write()
    _use(row)
    db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == "password",
            AccountToken.used_dt.is_(None),
        )
        .values(used_dt=utcnow())
        .execution_options(synchronize_session=False)
    )
    user.password_hash = password_hash
    record(user, "user.password_reset", "user", user.id, user.country_code)
    _notice(user, user.email, "mail/password_changed.html")
    db.session.commit()
    return user


def request_email_change(user, new_email, current):
    """Mail a link to ``new_email`` that makes it the account's address once opened; the
    current password is asked for. Returns the normalised new address."""
    if not passwords.verify(user.password_hash, current or "")[0]:
        db.session.rollback()
        raise AccountError(_("Your current password is not right."), "current_password")
    new_email = normalize_email(new_email)
    if not is_address(new_email):
        raise AccountError(
            _("“%(email)s” is not an e-mail address.", email=new_email[:100]), "email"
        )
    if new_email == user.email:
        raise AccountError(_("This is already your address."), "email")
    if db.session.scalar(select(User.id).where(User.email == new_email)) is not None:
        raise AccountError(
            _("There is already an account for %(email)s.", email=new_email), "email"
        )
    db.begin_write()
    token = _new_token(user, "email", EMAIL_LINK_LIFETIME, new_email)
    language = mail_language(user)
    mail.queue(
        "email_confirm", new_email, language, "mail/email_confirm.html",
        link=url_for("accounts.confirm_email", lang=language, token=token, _external=True),
        old=user.email, hours=int(EMAIL_LINK_LIFETIME.total_seconds() // 3600),
    )  # fmt: skip
    db.session.commit()
    return new_email


def confirm_email_change(token):
    """Make the link's new address the account's; a notice goes to the earlier address.
    Returns the user."""
    row = find_link(token, "email")
    if row is None:
        db.session.rollback()
        raise LinkUnusable(_unusable_message())
    user = row.user
    db.begin_write()
    _use(row)
    old, new = user.email, row.new_email
    user.email = new
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise AccountError(_("There is already an account for %(email)s.", email=new)) from None
    record(user, "user.email", "user", user.id, user.country_code, old=old, new=new)
    _notice(user, old, "mail/email_changed.html", old=old, new=new)
    db.session.commit()
    return user
