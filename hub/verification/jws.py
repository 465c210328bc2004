"""Compact JWS (RFC 7515) signed with Ed25519 (``EdDSA``, RFC 8037): what the hub's rating
attestations are. The payload is a JSON object of JWT claims (``iss``, ``sub``, ``iat``) and the
rating's; any JOSE library verifies it with the hub's published keys, and so does ``verify``,
which needs nothing of the hub but ``cryptography`` (an inspector's app can copy this file).
"""

import json
from datetime import date

from hub.verification.keys import b64url, b64url_decode, public_key

ALGORITHM = "EdDSA"
# RFC 9864's fully specified name of the same algorithm, accepted too.
ALGORITHMS = frozenset((ALGORITHM, "Ed25519"))
# The most a compact JWS handed to ``verify`` may be: an attestation is a few hundred bytes.
MAX_LENGTH = 8192


class InvalidAttestation(Exception):
    """The string is not an attestation signed by one of the keys given; ``str()`` says why."""


def sign(claims, key):
    """``claims`` (a JSON object) signed with ``key`` (a ``hub.verification.keys.SigningKey``)
    as a compact JWS whose header names the key (``kid``)."""
    header = {"alg": ALGORITHM, "kid": key.kid, "typ": "JWT"}
    signing_input = ".".join(
        b64url(json.dumps(part, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        for part in (header, claims)
    )
    signature = key.private_key().sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url(signature)}"


def _jwks_keys(keys):
    if isinstance(keys, dict):
        keys = keys.get("keys", [keys] if "kty" in keys else [])
    return list(keys)


def verify(token, keys):
    """The claims of the compact JWS ``token`` when one of ``keys`` (a JWK set, as
    ``/.well-known/hub-keys.json`` answers, or a list of JWKs) signed it with EdDSA; else
    ``InvalidAttestation``. Only the signature is checked: whether the rating is still valid on
    a day is ``rating_state``'s."""
    if not isinstance(token, str) or len(token) > MAX_LENGTH or token.count(".") != 2:
        raise InvalidAttestation("not a compact JWS")
    encoded_header, encoded_payload, encoded_signature = token.split(".")
    try:
        header = json.loads(b64url_decode(encoded_header))
        payload = json.loads(b64url_decode(encoded_payload))
        signature = b64url_decode(encoded_signature)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidAttestation(f"not a compact JWS: {exc}") from None
    if not isinstance(header, dict) or header.get("alg") not in ALGORITHMS:
        raise InvalidAttestation("not signed with EdDSA")
    if not isinstance(payload, dict):
        raise InvalidAttestation("the payload is not a JSON object")
    kid = header.get("kid")
    candidates = [k for k in _jwks_keys(keys) if kid is None or k.get("kid") == kid]
    if not candidates:
        raise InvalidAttestation(f"no published key has the id {kid!r}")
    signing_input = f"{encoded_header}.{encoded_payload}".encode("ascii")
    from cryptography.exceptions import InvalidSignature  # with the key, not with the app

    for jwk in candidates:
        try:
            public_key(jwk).verify(signature, signing_input)
        except (InvalidSignature, ValueError):
            continue
        return payload
    raise InvalidAttestation("the signature does not match")


def rating_state(claims, today):
    """What an attestation's claims say of the rating on ``today`` (a date): ``"withdrawn"``,
    ``"expired"`` (its last valid day is before ``today``) or ``"valid"``."""
    if claims.get("withdrawn_on"):
        return "withdrawn"
    valid_until = claims.get("valid_until")
    if valid_until and date.fromisoformat(valid_until) < today:
        return "expired"
    return "valid"
