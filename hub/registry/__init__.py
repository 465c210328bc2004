"""The country registry: pages, models, rules and commands."""

from flask import Blueprint

bp = Blueprint("registry", __name__, url_prefix="/<lang>")

from hub.registry import cli, routes  # noqa: E402,F401  (attach the routes and commands to bp)
from hub.registry import exports  # noqa: E402,F401  (CSV and XLSX of the countries list)
