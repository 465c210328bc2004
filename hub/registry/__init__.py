"""The country registry: pages, models, rules and commands."""

from flask import Blueprint

bp = Blueprint("registry", __name__, url_prefix="/<lang>")

from hub.registry import cli, exports, routes  # noqa: E402,F401  (routes, commands, exports)
