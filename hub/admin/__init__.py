"""The administrators' pages: accounts and invitations, the audit log."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/<lang>/admin")

from hub.admin import mail, routes  # noqa: E402,F401  (attach the routes to bp)
from hub.webhooks import routes as webhook_routes  # noqa: E402,F401  (the webhooks' pages)
