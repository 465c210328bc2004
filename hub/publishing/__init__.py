"""Publishing: policies, experiences, fairs and products, written by each country's
coordinators in three languages, read by everyone."""

from flask import Blueprint

bp = Blueprint("publishing", __name__, url_prefix="/<lang>")
manage_bp = Blueprint("manage", __name__, url_prefix="/<lang>/manage")

# The routes and the commands attach themselves; records keeps each published entry's record
# on commit.
from hub.publishing import (  # noqa: E402,F401
    cli,
    exports,
    product_page,
    records,
    routes,
    routes_facts,
    routes_manage,
    routes_media,
)
