"""Passwords: what is accepted, and how it is stored.

A password has ``MIN_LENGTH`` to ``MAX_LENGTH`` characters and is not easy to guess: not one
of the most common passwords (the list of zxcvbn, made from breached password lists and
bundled with it: checked offline, nothing is sent anywhere), not the account's address or its
name part, and not a few characters repeated. Case is ignored when comparing.

New hashes are Argon2id (argon2-cffi) with OWASP's parameters (19 MiB, 2 passes, 1 lane: a
few hundredths of a second, and little memory per sign-in on a small server). Hashes made before
(werkzeug's scrypt or PBKDF2) still sign in, and are replaced by an Argon2id hash at that
sign-in (``verify`` says when), as are Argon2 hashes made with older parameters.
"""

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash

MIN_LENGTH = 12
MAX_LENGTH = 1024  # hashing a megabyte-long "password" is a denial of service
MIN_DISTINCT = 5  # characters: "aaaaaaaaaaaa" and "121212121212" are refused

_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_password(password):
    return _hasher.hash(password)


def verify(stored, password):
    """``(matches, needs_rehash)``: whether ``password`` is the one ``stored`` was made of, and
    whether ``stored`` should be made again (an older kind of hash, or older parameters)."""
    if not stored or not isinstance(password, str) or len(password) > MAX_LENGTH:
        return False, False
    if stored.startswith("$argon2"):
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False, False
        return True, _hasher.check_needs_rehash(stored)
    try:
        matches = check_password_hash(stored, password)
    except ValueError:  # a hash this code cannot read
        return False, False
    return matches, matches


@functools.cache
def dummy_hash():
    """A hash to check unknown addresses against, so that a wrong address takes as long as a
    wrong password; made when first needed, not when every process starts."""
    return _hasher.hash("not-a-real-password")


@functools.cache
def _common():
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


TRIMMINGS = "0123456789!?.,;:@#$%&*_-+= "  # what people add around a word to pass a rule


def too_easy(password, email=None):
    """Whether ``password`` is easy to guess: a common one or a few characters repeated, once
    the digits and signs around it are left out, or a common one written twice or more; the
    account's address or its name part."""
    folded = password.casefold()
    core = folded.strip(TRIMMINGS)
    if len(set(folded)) < MIN_DISTINCT or len(set(core)) < MIN_DISTINCT:
        return True
    if folded in _common() or core in _common() or _repeated(core) in _common():
        return True
    if email:
        address = email.casefold()
        if core in {address, address.partition("@")[0]}:
            return True
    return False


def _repeated(text):
    """The shortest unit ``text`` is made of when it is one written again and again, else
    ``text``: "passwordpassword" is "password" twice."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return text
