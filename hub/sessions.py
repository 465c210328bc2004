"""Sessions of signed-in people: the cookie, and the server-side record that lets them end.

The cookie is signed, HttpOnly, SameSite=Lax, and Secure whenever the page came over https
(behind a proxy too, once ProxyFix or the server says so), without a setting to forget. Besides
Flask-Login's user id it holds one random session id, whose SHA-256 names a ``user_session`` row.
A signed-in request counts only while that row exists and is neither idle for longer than
``SESSION_IDLE_HOURS`` nor older than ``SESSION_MAX_DAYS``: signing out deletes the row, and a
password change, disabling the account and an administrator's "sign out everywhere" delete all
of the account's rows, so a copied cookie stops working on every process at once.

A cookie signed with a previous key (``HUB_SECRET_KEY_PREVIOUS``) is accepted and signed again
with the current one in the same answer, so that whoever uses the hub while both keys are set
keeps their session once the previous key is removed (forms' CSRF tokens: ``hub.csrf``).
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import user_logged_in, user_logged_out
from itsdangerous import BadSignature
from sqlalchemy import ForeignKey, String, delete, event, inspect, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from hub.db import Base, UTCDateTime, utcnow
from hub.extensions import db

SESSION_KEY = "_sid"
# A session's last use is written at most this often: one write a minute per signed-in person,
# not one per request, at the price of idle expiry a minute late.
TOUCH_EVERY = timedelta(minutes=1)


class SessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app):
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure

    def open_session(self, app, request):
        # No cookie, nothing to verify: skip building the signer (most visitors and every
        # partner system come without one).
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        session = super().open_session(app, request)
        if session and app.config["SECRET_KEY_FALLBACKS"] and not self._current(app, cookie):
            session.modified = True
        return session

    def _current(self, app, cookie):
        """Whether ``cookie`` is signed with the current key (not only with a previous one)."""
        signer = self.get_signing_serializer(app).make_signer(self.salt)
        signer.secret_keys = signer.secret_keys[-1:]
        try:
            signer.unsign(cookie)
        except BadSignature:
            return False
        return True


class UserSession(Base):
    """One signed-in browser: deleted when it signs out or is signed out."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def _hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def idle_limit():
    return timedelta(hours=current_app.config["SESSION_IDLE_HOURS"])


def age_limit():
    return timedelta(days=current_app.config["SESSION_MAX_DAYS"])


def _expired(now):
    return or_(
        UserSession.last_seen_dt < now - idle_limit(), UserSession.created_dt < now - age_limit()
    )


def start(user):
    """A new session for ``user`` in this request's cookie (after Flask-Login's sign-in); the
    sessions that have expired meanwhile, anyone's, are deleted."""
    now = utcnow()
    db.session.execute(delete(UserSession).where(_expired(now)))
    token = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(token_hash=_hash(token), user_id=user.id, created_dt=now, last_seen_dt=now)
    )
    session[SESSION_KEY] = token


def end():
    """End this request's session (signing out)."""
    token = session.pop(SESSION_KEY, None)
    if isinstance(token, str):
        db.session.execute(delete(UserSession).where(UserSession.token_hash == _hash(token)))


def end_all(user_id):
    """End every session of the account, in the caller's transaction; how many there were."""
    result = db.session.execute(
        delete(UserSession)
        .where(UserSession.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def live(user):
    """Whether this request's session of ``user`` still counts; an ended or expired one is
    dropped from the cookie (and from the table), and the request is anonymous."""
    if not has_request_context():
        return False
    token = session.get(SESSION_KEY)
    row = None
    if isinstance(token, str):
        row = db.session.execute(
            select(UserSession.id, UserSession.created_dt, UserSession.last_seen_dt).where(
                UserSession.token_hash == _hash(token), UserSession.user_id == user.id
            )
        ).first()
    now = utcnow()
    if row is not None and (
        now - row.last_seen_dt > idle_limit() or now - row.created_dt > age_limit()
    ):
        db.begin_write()
        db.session.execute(delete(UserSession).where(UserSession.id == row.id))
        db.session.commit()
        row = None
    if row is None:
        for key in (SESSION_KEY, "_user_id", "_fresh", "_id"):
            session.pop(key, None)
        return False
    if now - row.last_seen_dt >= TOUCH_EVERY:
        db.begin_write()
        db.session.execute(
            update(UserSession).where(UserSession.id == row.id).values(last_seen_dt=now)
        )
        db.session.commit()
    return True


def _address():
    return request.remote_addr if has_request_context() else None


@user_logged_in.connect
def _signed_in(app, user, **extra):
    from hub.accounts.services import record

    db.begin_write()  # SQLite: wait for the write lock now, not fail on a read's stale snapshot
    start(user)
    record(user, "user.sign_in", "user", user.id, user.country_code, address=_address())
    db.session.commit()


@user_logged_out.connect
def _signed_out(app, user, **extra):
    db.begin_write()
    end()
    db.session.commit()


@event.listens_for(Session, "before_flush")
def _end_sessions_of_changed_accounts(db_session, flush_context, instances):
    """A new password or a disabled account ends the account's sessions, however it changed."""
    from hub.accounts.models import User

    for obj in db_session.dirty:
        if not isinstance(obj, User):
            continue
        state = inspect(obj)
        # A hash made again of the same password at sign-in (hub.accounts.passwords) is no
        # change of password: the account's other sessions stay.
        same_password = obj.__dict__.pop("same_password", False)  # good for this flush only
        changed_password = state.attrs.password_hash.history.deleted and not same_password
        disabled = state.attrs.active.history.deleted and not obj.active
        if changed_password or disabled:
            db_session.execute(
                delete(UserSession)
                .where(UserSession.user_id == obj.id)
                .execution_options(synchronize_session=False)
            )
