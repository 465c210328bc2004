"""The hub's Ed25519 signing keys: made once, kept in one file of the instance folder (mode
0600, like ``secret_key``), rotated by ``hub keys rotate``.

The file (``HUB_SIGNING_KEYS_FILE``, by default the instance folder's ``signing_keys.json``)
holds ``{"current": kid, "keys": [{"kid", "created", "x", "d"}]}``: ``x`` the public key, ``d``
the private one (both base64url, as in a JWK). Rotation makes a new key, the one that signs from
then on, and drops the private half of the others: their public halves stay published at
``/.well-known/hub-keys.json``, so attestations signed before still verify, and nothing can sign
with them any more.

A key's ``kid`` is its RFC 7638 thumbprint (base64url SHA-256 of its canonical JWK), cut to 16
characters: short in a QR code, and the same wherever it is computed.
"""

import base64
import contextlib
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app

# ``cryptography`` (9 MB) is imported where a key is used, not with the app: most processes
# (the sync and its worker, a page that shows no signature) never sign or verify.

KEYS_FILE = "signing_keys.json"
KID_LENGTH = 16


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    if isinstance(text, str):
        text = text.encode("ascii")
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def thumbprint(x):
    """The RFC 7638 thumbprint of the Ed25519 public key ``x`` (base64url), cut to a kid."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())[:KID_LENGTH]


@dataclass(frozen=True)
class SigningKey:
    kid: str
    created: str
    x: str
    d: str | None  # None: retired, verifies only

    def private_key(self):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return Ed25519PrivateKey.from_private_bytes(b64url_decode(self.d))

    def jwk(self):
        """The public key as a JWK (RFC 8037)."""
        return {"kty": "OKP", "crv": "Ed25519", "x": self.x, "kid": self.kid, "use": "sig",
                "alg": "EdDSA"}  # fmt: skip


def _new_key(now=None):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    private = Ed25519PrivateKey.generate()
    x = b64url(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    d = b64url(private.private_bytes_raw())
    created = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    return SigningKey(kid=thumbprint(x), created=created, x=x, d=d)


def keys_path(app=None):
    app = app or current_app
    return app.config.get("SIGNING_KEYS_FILE") or os.path.join(app.instance_path, KEYS_FILE)


class KeyRing:
    """The keys of one file: the current signing key and every public key still published."""

    def __init__(self, current, keys):
        self.current_kid = current
        self.keys = keys

    @property
    def current(self):
        return next(key for key in self.keys if key.kid == self.current_kid)

    def jwks(self):
        """The public keys as a JWK set, the current one first."""
        ordered = sorted(self.keys, key=lambda key: key.kid != self.current_kid)
        return {"keys": [key.jwk() for key in ordered]}

    def to_json(self):
        return {
            "current": self.current_kid,
            "keys": [{"kid": k.kid, "created": k.created, "x": k.x, "d": k.d} for k in self.keys],
        }

    @classmethod
    def from_json(cls, data):
        keys = [SigningKey(k["kid"], k["created"], k["x"], k.get("d")) for k in data["keys"]]
        ring = cls(data["current"], keys)
        if ring.current.d is None:
            raise ValueError("the current signing key has no private half")
        return ring


_lock = threading.Lock()
_loaded = {}  # path → (modification time, KeyRing)


def _write(path, ring, exclusive):
    """Write ``ring`` to ``path`` readable by its owner only; ``exclusive``: fail if the file
    exists (two processes making the first key at once keep the first one's)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    temporary = path if exclusive else f"{path}.{os.getpid()}.new"
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    descriptor = os.open(temporary, flags, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(ring.to_json(), file, indent=2)
        file.write("\n")
    if not exclusive:
        os.replace(temporary, path)  # readers see the old file or the new one, never half


def key_ring(app=None):
    """The key ring, made with a first key when the file does not exist yet; read again when
    the file changed (a rotation by the command line, in another process)."""
    path = keys_path(app)
    with _lock:
        try:
            mtime = os.stat(path).st_mtime_ns
        except FileNotFoundError:
            key = _new_key()
            with contextlib.suppress(FileExistsError):  # another process made it first
                _write(path, KeyRing(key.kid, [key]), exclusive=True)
            mtime = os.stat(path).st_mtime_ns
        cached = _loaded.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
        with open(path, encoding="utf-8") as file:
            ring = KeyRing.from_json(json.load(file))
        _loaded[path] = (mtime, ring)
        return ring


def rotate(app=None, now=None):
    """Make a new signing key, the one that signs from now on; the earlier keys keep only their
    public half, published for verification. Returns the new key."""
    ring = key_ring(app)
    path = keys_path(app)
    key = _new_key(now)
    retired = [SigningKey(k.kid, k.created, k.x, None) for k in ring.keys]
    with _lock:
        _write(path, KeyRing(key.kid, [key, *retired]), exclusive=False)
        _loaded.pop(path, None)
    return key


def public_key(jwk):
    """An Ed25519 public key from a JWK, or ValueError."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "x" not in jwk:
        raise ValueError("not an Ed25519 public key")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
