"""Checking a copied rating against the hub that issued it: that hub's published keys, fetched
through the fetcher (``hub.sync.fetcher``: no private address, a deadline, a size cap) and kept
a while, and what its attestation proves of the copy."""

import json
import threading
import time
from dataclasses import dataclass

from flask import current_app

from hub.sync.fetcher import Fetcher, FetchError
from hub.verification import jws

KEYS_PATH = "/.well-known/hub-keys.json"
# Keys are kept an hour (the issuing hub lets them be cached that long); a hub that could not be
# reached is asked again after a minute, so that an unreachable one costs a page at most one
# fetch a minute. A page waits at most DEADLINE seconds for the keys.
KEYS_TTL = 3600
FAILURE_TTL = 60
DEADLINE = 5
MAX_KEYS_BYTES = 64 * 1024

VERIFIED, UNCHECKED, INVALID, MISSING = "verified", "unchecked", "invalid", "missing"

_lock = threading.Lock()


@dataclass(frozen=True)
class IssuerCheck:
    """What the issuing hub's signature says of a copied rating: ``state`` is ``VERIFIED``
    (its keys verify the attestation and it is this product's rating), ``UNCHECKED`` (its
    keys could not be fetched), ``INVALID`` (they do not verify it, or it is another rating)
    or ``MISSING`` (the copy came without an attestation)."""

    state: str
    hub: str
    keys_url: str


def _cache(app):
    return app.extensions.setdefault("hub.issuer_keys", {})


def forget(app=None):
    """Drop the kept keys of every issuing hub (the next check fetches them again)."""
    with _lock:
        _cache(app or current_app).clear()


def _fetch(url):
    config = current_app.config
    fetcher = Fetcher(
        allow=config["FETCH_ALLOW"], deadline=DEADLINE, max_bytes=MAX_KEYS_BYTES, attempts=1
    )
    try:
        with fetcher.get(url) as response:
            if response.status != 200:
                return None
            keys = json.loads(response.text())
    except (FetchError, ValueError):
        return None
    finally:
        fetcher.close()
    if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
        return None
    return keys


def issuer_keys(hub):
    """The JWK set ``hub`` (a base URL) publishes, or None when it cannot be fetched now."""
    cache = _cache(current_app)
    now = time.monotonic()
    with _lock:
        kept = cache.get(hub)
    if kept is not None and kept[0] > now:
        return kept[1]
    keys = _fetch(hub + KEYS_PATH)
    with _lock:
        cache[hub] = (now + (KEYS_TTL if keys is not None else FAILURE_TTL), keys)
    return keys


def _iso(day):
    return day.isoformat() if day is not None else None


def _is_this_rating(claims, product):
    """Whether the signed claims are the copy's: the issuing hub's own id of the product and
    the same rating (a hub in between may not change what the issuer signed)."""
    return (
        str(claims.get("iss") or "").rstrip("/") == product.origin_hub
        and str(claims.get("sub")) == str(product.origin_id)
        and claims.get("stars") == product.stars
        and claims.get("scheme") == product.rating_scheme
        and claims.get("rated_on") == _iso(product.rated_on)
        and claims.get("valid_until") == _iso(product.valid_until)
        and claims.get("withdrawn_on") == _iso(product.rating_withdrawn_on)
    )


def check(product):
    """The issuing hub's word on a product copied from it (``product.origin_hub``), checked
    with that hub's keys, never with keys the attestation itself points to."""
    hub = product.origin_hub
    keys_url = hub + KEYS_PATH
    token = product.rating_attestation
    if not token:
        return IssuerCheck(MISSING, hub, keys_url)
    keys = issuer_keys(hub)
    if keys is None:
        return IssuerCheck(UNCHECKED, hub, keys_url)
    try:
        claims = jws.verify(token, keys)
    except jws.InvalidAttestation:
        return IssuerCheck(INVALID, hub, keys_url)
    state = VERIFIED if _is_this_rating(claims, product) else INVALID
    return IssuerCheck(state, hub, keys_url)
