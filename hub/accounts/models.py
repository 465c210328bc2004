"""Accounts: administrators and coordinators, invitations, and the audit log."""

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"


ROLE_VALUES = tuple(r.value for r in Role)


class User(UserMixin, Base):
    """A person who signs in: an administrator of the network, or the coordinator of one country."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'coordinator')", name="role"),
        # A coordinator always belongs to a country; an administrator to none.
        CheckConstraint(
            "(role = 'coordinator') = (country_code IS NOT NULL)", name="coordinator_country"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    country_code: Mapped[str | None] = mapped_column(ForeignKey("country.code"), index=True)
    preferred_language: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(default=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Two-step sign-in (hub.accounts.totp): the TOTP secret (base32, as the authenticator app
    # has it), when it was turned on, and the last time step whose code was accepted (a code is
    # good once).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def is_active(self):  # Flask-Login refuses sessions of disabled accounts
        return self.active

    @property
    def is_admin(self):
        return self.role == Role.ADMIN

    @property
    def totp_enabled(self):
        return self.totp_enabled_dt is not None

    def __repr__(self):
        return f"<User {self.email} {self.role} {self.country_code or ''}>"


class RecoveryCode(Base):
    """One of the one-time codes that sign in with two-step sign-in when the authenticator app
    is lost; only its hash is stored, and it is good once."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountToken(Base):
    """A one-time link mailed to someone about their own account: a password reset, or the
    confirmation of a new e-mail address (``new_email``). Only the token's hash is stored; it
    works once, until ``expires_dt`` (hub.accounts.recovery)."""

    __tablename__ = "account_token"
    __table_args__ = (Index("ix_account_token_user", "user_id", "purpose", "created_dt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))  # "password", "email"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    new_email: Mapped[str | None] = mapped_column(String(254))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    used_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class NotificationChoice(Base):
    """What one person chose to receive by mail on one topic (hub.accounts.notifications);
    without a row, the topic's default for their role."""

    __tablename__ = "notification_choice"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(32), primary_key=True)
    frequency: Mapped[str] = mapped_column(String(16))  # "instant", "weekly", "off", …
    last_sent_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a digest's
    # The translations digest: the languages the person translates into ("vi,ja"); None: all.
    languages: Mapped[str | None] = mapped_column(String(32))


# An invitation is live until it is used or revoked; only one live invitation per address, so
# that inviting an address again replaces the earlier link instead of adding a second one.
_LIVE_INVITATION = text("used_dt IS NULL AND revoked_dt IS NULL")


class Invitation(Base):
    """A one-time link an administrator gives a future coordinator or administrator; only its
    hash is stored. Pending while it is neither used, revoked nor expired."""

    __tablename__ = "invitation"
    __table_args__ = (
        Index(
            "uq_invitation_live_email",
            "email",
            unique=True,
            sqlite_where=_LIVE_INVITATION,
            postgresql_where=_LIVE_INVITATION,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16))
    country_code: Mapped[str | None] = mapped_column(ForeignKey("country.code"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    used_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    language: Mapped[str] = mapped_column(String(8))  # the link opens the pages in it

    created_by: Mapped[User | None] = relationship()


class AuditEvent(Base):
    """Who changed what, when: one row per change, never updated."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_created", "created_dt", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))  # "user.invite", "policy.publish", …
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    country_code: Mapped[str | None] = mapped_column(String(2), index=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Through which the change came: "web", "api", "cli" (the command line), "sync"; None for
    # changes recorded before the channel was (and for jobs that say none).
    channel: Mapped[str | None] = mapped_column(String(16))

    actor: Mapped[User | None] = relationship()


class ApiToken(Base):
    """A bearer token for the API, issued by an administrator to a coordinator or a partner
    system, scoped to one country. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))  # who or what holds it
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to recognise it
    country_code: Mapped[str] = mapped_column(ForeignKey("country.code"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def usable(self, now):
        return self.revoked_dt is None and self.expires_dt > now
