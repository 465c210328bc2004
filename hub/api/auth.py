"""Bearer tokens for the API: issued by administrators, scoped to a country, stored hashed."""

import secrets
from datetime import timedelta
from functools import wraps

from flask import abort, g, request
from sqlalchemy import select, update

from hub.accounts.models import ApiToken
from hub.accounts.services import hash_token, record
from hub.db import utcnow
from hub.extensions import db

TOKEN_PREFIX = "hubt_"
LAST_USED_GRANULARITY = timedelta(minutes=5)  # no write on every request to record the use


def issue_token(name, country_code, days=365, user=None, actor=None):
    """Create a token; returns ``(ApiToken, secret)``. The secret is shown once, never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        country_code=country_code,
        user_id=user.id if user else None,
        created_by_id=actor.id if actor else None,
        expires_dt=utcnow() + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    record(actor, "token.create", "token", token.id, country_code, name=name)
    db.session.commit()
    return token, secret


def revoke_token(token_id, actor=None):
    token = db.session.get(ApiToken, token_id)
    if token is not None and token.revoked_dt is None:
        token.revoked_dt = utcnow()
        record(actor, "token.revoke", "token", token.id, token.country_code)
        db.session.commit()
    return token


def token_required(view):
    """The request must carry a usable bearer token; it is in ``g.api_token``."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if bearer_token() is None:
            abort(401)
        return view(*args, **kwargs)

    return wrapper


def bearer_token():
    """The request's usable bearer token (also put in ``g.api_token``), or None when it sends
    none; a token that is not usable (unknown, expired, revoked, malformed) is a 401."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _sep, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        abort(401)
    now = utcnow()
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(secret.strip()))
    )
    if token is None or not token.usable(now):
        abort(401)
    if token.last_used_dt is None or now - token.last_used_dt > LAST_USED_GRANULARITY:
        db.session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_dt=now))
        db.session.commit()
    g.api_token = token
    return token
