"""Search across countries, programmes and published entries, in every language."""

from flask import Blueprint

bp = Blueprint("search", __name__, url_prefix="/<lang>")

from hub.search import cli, lists, routes  # noqa: E402,F401  (commands, the lists' words matcher, routes)
