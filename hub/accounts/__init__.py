"""Accounts: sign-in (in two steps where turned on) and sign-out, invitations, preferences; users
and the audit log."""

from flask import Blueprint

bp = Blueprint("accounts", __name__, url_prefix="/<lang>")

from hub.accounts import cli, routes, routes_self, routes_totp  # noqa: E402,F401  (attach the routes and commands to bp)
