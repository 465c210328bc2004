"""Verification of products' ratings: the public page ``/p/<id>`` a printed QR code opens, the
QR codes themselves, the rating signed as an attestation (compact JWS, Ed25519) with the hub's
public keys at ``/.well-known/hub-keys.json``, and ``hub keys rotate``. See docs/verification.md.
"""

from flask import Blueprint

bp = Blueprint("verification", __name__)

from hub.verification import cli, routes  # noqa: E402,F401
