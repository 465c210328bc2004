"""How many wrong passwords sign-in takes, counted in the database so that every process shares
the counts (``make run``'s workers, several servers on one PostgreSQL).

Failures are counted per address, per (account, address) and per account, in fixed windows
(``LOGIN_RATE_LIMIT``, e.g. "10 per minute;50 per hour"). An address past a limit, for any
account or for one account, waits until its window ends (429 with Retry-After). An account is
never locked: past the first limit's number of failures in the longest window, from however many
addresses, each further attempt waits twice as long after the last failure as the one before,
up to ``MAX_SLOWDOWN`` seconds, so its owner, with the right password from another address, gets
in after at most that wait while guessing slows to a crawl. Only hashes of the addresses and
e-mail addresses are kept, and windows that have ended are deleted with the next failure.
"""

import hashlib
import math
from datetime import datetime

import limits
from flask import current_app
from sqlalchemy import Index, Integer, String, and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from hub.db import Base, UTCDateTime, utcnow
from hub.extensions import db

MAX_SLOWDOWN = 60
_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class SignInFailure(Base):
    """Wrong passwords for one key (an address, an account, or both) in one window."""

    __tablename__ = "sign_in_failure"
    __table_args__ = (Index("ix_sign_in_failure_window_start", "window_start"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256, see _key
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    window_seconds: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer)
    last_dt: Mapped[datetime] = mapped_column(UTCDateTime)


def _key(kind, *parts):
    return hashlib.sha256("\x1f".join((kind, *parts)).encode()).hexdigest()


def _limits():
    return [
        (item.amount, item.get_expiry())
        for item in limits.parse_many(current_app.config["LOGIN_RATE_LIMIT"])
    ]


def _email(email):
    return (email or "").strip().lower()


def _windows(email, address, now):
    """(what it counts, key, window start, window seconds, limit) for each counter a failure
    adds to; limit None for the account's own, which slows down instead."""
    email, address = _email(email), address or ""
    stamp = int(now.timestamp())
    rules = _limits()
    for amount, seconds in rules:
        start = stamp - stamp % seconds
        yield "address", _key("address", address), start, seconds, amount
        yield "account-address", _key("account-address", email, address), start, seconds, amount
    seconds = max(seconds for _, seconds in rules)
    yield "account", _key("account", email), stamp - stamp % seconds, seconds, None


def _counts(windows):
    rows = db.session.execute(
        select(
            SignInFailure.key,
            SignInFailure.window_start,
            SignInFailure.failures,
            SignInFailure.last_dt,
        ).where(
            or_(
                *(
                    and_(SignInFailure.key == k, SignInFailure.window_start == s)
                    for _, k, s, _, _ in windows
                )
            )
        )
    )
    return {(row.key, row.window_start): row for row in rows}


def slowdown(failures):
    """Seconds an account waits after its last failure, given its failures in the window."""
    over = failures - _limits()[0][0]
    return 0 if over <= 0 else min(2**over, MAX_SLOWDOWN)


def wait(email, address):
    """Seconds before this address may try this account again, or 0."""
    now = utcnow()
    windows = list(_windows(email, address, now))
    counts = _counts(windows)
    longest = 0.0
    for _, key, start, seconds, amount in windows:
        row = counts.get((key, start))
        if row is None:
            continue
        if amount is None:
            delay = slowdown(row.failures) - (now - row.last_dt).total_seconds()
        else:
            delay = start + seconds - now.timestamp() if row.failures >= amount else 0
        longest = max(longest, delay)
    return math.ceil(longest) if longest > 0 else 0


def failed(email, address):
    """Count a wrong password (one statement, whichever process), and write to the audit log
    when it takes a counter to its limit; commits."""
    from hub.accounts.models import User
    from hub.accounts.services import record

    db.begin_write()  # after the read that found the password wrong: see hub.db
    now = utcnow()
    windows = list(_windows(email, address, now))
    values = {
        (key, start): {
            "key": key,
            "window_start": start,
            "window_seconds": seconds,
            "failures": 1,
            "last_dt": now,
        }
        for _, key, start, seconds, _ in windows
    }
    insert = _INSERT[db.session.get_bind().dialect.name](SignInFailure).values(
        list(values.values())
    )
    statement = insert.on_conflict_do_update(
        index_elements=["key", "window_start"],
        set_={"failures": SignInFailure.failures + 1, "last_dt": insert.excluded.last_dt},
    ).returning(SignInFailure.key, SignInFailure.window_start, SignInFailure.failures)
    counted = {(row.key, row.window_start): row.failures for row in db.session.execute(statement)}
    oldest = int(now.timestamp()) - max(seconds for _, _, _, seconds, _ in windows)
    db.session.execute(delete(SignInFailure).where(SignInFailure.window_start < oldest))
    reached = [
        what
        for what, key, start, seconds, amount in windows
        if counted.get((key, start)) == (amount if amount is not None else _limits()[0][0] + 1)
    ]
    if reached:
        user = db.session.scalar(select(User).where(User.email == _email(email)))
        record(
            user,
            "user.sign_in_limited",
            "user",
            user.id if user is not None else "-",
            user.country_code if user is not None else None,
            email=_email(email)[:254],
            address=address,
            limits=sorted(set(reached)),
        )
    db.session.commit()


def succeeded(email, address):
    """The owner is in: the (account, address) counts start again (the others stay)."""
    keys = {
        key for what, key, *_ in _windows(email, address, utcnow()) if what == "account-address"
    }
    db.session.execute(delete(SignInFailure).where(SignInFailure.key.in_(keys)))
