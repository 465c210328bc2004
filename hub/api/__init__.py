"""The JSON API under /api/v1: the changes feed and the push endpoint (more to come)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from hub.api import routes, validate  # noqa: E402,F401  (attach the routes)
