"""Bearer tokens for the API: issued by administrators, scoped to a country, stored hashed."""

import secrets
from datetime import timedelta
from functools import wraps

from flask import abort, after_this_request, current_app, g, request
from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError

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
        _note_use_after_answer(token.id, now)
    g.api_token = token
    return token


def _note_use_after_answer(token_id, now):
    """Record the token's use once the answer has gone (``call_on_close``): the client never
    waits for this bookkeeping, even when a sync batch holds SQLite's write lock."""
    app = current_app._get_current_object()

    def note():
        with app.app_context():
            note_use(token_id, now)

    @after_this_request
    def later(response):
        response.call_on_close(note)
        return response


def note_use(token_id, now):
    """Record when the token was last used: bookkeeping, which must never fail the request it
    belongs to. A writing transaction of its own: on SQLite a transaction that read first and
    then writes fails at once ("database is locked") when another writer got in between,
    whatever the busy timeout says, so it begins by taking the write lock
    (``db.begin_write``). If the database stays busy past its timeout, the use is not recorded
    and a later request records it."""
    try:
        db.begin_write()
        db.session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, _older_than(now))
            .values(last_used_dt=now)
        )
        db.session.commit()
    except OperationalError:
        db.session.rollback()
        current_app.logger.warning(
            "API token %s: its last use was not recorded (database busy)", token_id
        )


def _older_than(now):
    # Another request with the same token may have recorded a use meanwhile.
    return or_(ApiToken.last_used_dt.is_(None), ApiToken.last_used_dt < now - LAST_USED_GRANULARITY)
