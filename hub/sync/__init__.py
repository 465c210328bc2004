"""Partner sync: sources, the fetcher, connectors' runs through the ingest pipeline."""

from flask import Blueprint

bp = Blueprint("sync", __name__, url_prefix="/<lang>/admin/sources")

from hub.sync import cli, routes  # noqa: E402,F401  (attach the commands and pages)
