"""The JSON API under /api/v1: lists and records, writes and pushes with a token, the changes
feed, entries' revisions, validation, search; its errors (errors.py) and its readable reference
(pages.py)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from hub.api import changes, media, revisions, routes, search, validate, writes  # noqa: E402,F401  (attach the routes)
