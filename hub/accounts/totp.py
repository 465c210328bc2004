"""Two-step sign-in: after the password, a code from an authenticator app (TOTP, RFC 6238), or
one of ten one-time recovery codes.

The secret is made here and shown once as a QR code; two-step sign-in is on only once a code
from the app has been accepted. The secret is stored as it is in the account's row (the hub has
no encryption key apart from the one that signs cookies): whoever can read the database can make
codes, as they could replace the password's hash. Recovery codes are random, and only their
scrypt hashes (``hashlib.scrypt``, a salt of their own) are stored.

A code is good once: the account remembers the last time step whose code was accepted, and a
code of that step or an earlier one is refused. ``HUB_ADMIN_TOTP=required`` (config key
``ADMIN_TOTP``) sends an administrator without two-step sign-in to turn it on before any page.
"""

import hashlib
import hmac
import secrets
import time

import pyotp
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select, update

from hub.accounts import passwords
from hub.accounts.models import RecoveryCode, User
from hub.accounts.services import AccountError, record
from hub.db import utcnow
from hub.extensions import db

ISSUER = "OCOP Exchange Hub"  # how authenticator apps name the account's entry
STEP_SECONDS = 30
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_LENGTH = 10
# Letters and digits that cannot be taken for one another (no 0/o, 1/l/i): about 50 bits a code.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
# Cheaper than a password's: a recovery code is random, not chosen by a person, and a sign-in
# may check all ten.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def admin_totp_required():
    return current_app.config.get("ADMIN_TOTP") == "required"


def required_for(user):
    """Whether this hub requires two-step sign-in of ``user`` (HUB_ADMIN_TOTP: administrators)."""
    return user.is_admin and admin_totp_required()


def needs_enrolment(user):
    """Whether ``user`` must turn two-step sign-in on before any page."""
    return not user.totp_enabled and required_for(user)


def new_secret():
    return pyotp.random_base32()


def qr_code_svg(user, secret, title):
    """The ``otpauth://`` address of ``secret`` for ``user``, as an inline SVG QR code."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    import segno  # with the first QR code, not with the app

    return segno.make(uri, error="m").svg_inline(scale=4, light="#fff", title=title)


def _steps_matching(secret, code):
    """The time steps (now, and one either side for clocks that drift) whose code is ``code``."""
    code = "".join((code or "").split())
    if len(code) != 6 or not code.isdigit():
        return []
    totp = pyotp.TOTP(secret)
    current = int(time.time()) // STEP_SECONDS
    return [
        step
        for step in (current - 1, current, current + 1)
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code)
    ]


def _use_code(user, code):
    """Accept ``code`` from ``user``'s app once: True if it is right and of a later time step
    than the last code accepted (the conditional update keeps two requests from both using it)."""
    for step in _steps_matching(user.totp_secret, code):
        used = db.session.execute(
            update(User)
            .where(
                User.id == user.id,
                or_(User.totp_last_step.is_(None), User.totp_last_step < step),
            )
            .values(totp_last_step=step)
        )
        if used.rowcount == 1:
            return True
    return False


def _normalize_recovery_code(code):
    code = "".join(c for c in (code or "").lower() if c not in " -\t")
    if len(code) != RECOVERY_CODE_LENGTH or any(c not in RECOVERY_ALPHABET for c in code):
        return None
    return code


def _hash_recovery_code(code):
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(code.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def _recovery_code_matches(stored, code):
    _scheme, salt, digest = stored.split("$")
    computed = hashlib.scrypt(code.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
    return hmac.compare_digest(computed.hex(), digest)


def _use_recovery_code(user, code):
    code = _normalize_recovery_code(code)
    if code is None:
        return False
    unused = db.session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_dt.is_(None))
    ).all()
    for candidate in unused:
        if _recovery_code_matches(candidate.code_hash, code):
            used = db.session.execute(
                update(RecoveryCode)
                .where(RecoveryCode.id == candidate.id, RecoveryCode.used_dt.is_(None))
                .values(used_dt=utcnow())
            )
            return used.rowcount == 1
    return False


def _new_recovery_codes(user):
    """Replace ``user``'s recovery codes with ten new ones; returns them, shown once."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=_hash_recovery_code(c)) for c in codes
    )
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def recovery_codes_left(user):
    return db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_dt.is_(None))
    )


def enrol(user, secret, code):
    """Turn two-step sign-in on for ``user`` with ``secret``, once ``code`` shows that their app
    has it; returns the ten recovery codes, shown once."""
    if user.totp_enabled:
        raise AccountError(_("Two-step sign-in is already on for your account."))
    steps = _steps_matching(secret, code)
    if not steps:
        raise AccountError(
            _("That code is not right: enter the six digits your app shows now."), "code"
        )
    db.begin_write()
    user.totp_secret = secret
    user.totp_enabled_dt = utcnow()
    user.totp_last_step = max(steps)
    codes = _new_recovery_codes(user)
    record(user, "user.totp_enable", "user", user.id, user.country_code)
    db.session.commit()
    return codes


def check_sign_in_code(user, code):
    """How ``code`` signs ``user`` in: "app" (a code from the app), "recovery" (a recovery code,
    now used up), or None (wrong, or already used)."""
    if not user.totp_enabled:
        return None
    db.begin_write()
    if _use_code(user, code):
        db.session.commit()
        return "app"
    if _use_recovery_code(user, code):
        record(user, "user.recovery_code_use", "user", user.id, user.country_code)
        db.session.commit()
        return "recovery"
    db.session.rollback()
    return None


def _check_proof(user, proof):
    """A current code from the app or the account's password, or AccountError."""
    proof = (proof or "").strip()
    if proof.isdigit() and len(proof) == 6:
        if _use_code(user, proof):
            return
    elif passwords.verify(user.password_hash, proof)[0]:
        return
    db.session.rollback()
    raise AccountError(
        _("That is neither a current code from your app nor your password."), "proof"
    )


def disable(user, proof):
    """Turn two-step sign-in off, given a current code or the password; its recovery codes go."""
    if not user.totp_enabled:
        raise AccountError(_("Two-step sign-in is not on for your account."))
    if required_for(user):
        raise AccountError(
            _("Administrators of this hub must use two-step sign-in: it cannot be turned off.")
        )
    db.begin_write()
    _check_proof(user, proof)
    user.totp_secret = None
    user.totp_enabled_dt = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    record(user, "user.totp_disable", "user", user.id, user.country_code)
    db.session.commit()


def renew_recovery_codes(user, proof):
    """Ten new recovery codes in place of the old ones, given a current code or the password."""
    if not user.totp_enabled:
        raise AccountError(_("Two-step sign-in is not on for your account."))
    db.begin_write()
    _check_proof(user, proof)
    codes = _new_recovery_codes(user)
    record(user, "user.recovery_codes_renew", "user", user.id, user.country_code)
    db.session.commit()
    return codes
