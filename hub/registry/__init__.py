"""The country registry: pages, models, rules and commands."""

from flask import Blueprint

bp = Blueprint("registry", __name__, url_prefix="/<lang>")

# What the packages built on the registry add to a country's page: functions of the country
# code returning template variables (publishing adds the latest entries and product charts).
# The registry imports none of them; they register here.
country_page_parts = []


def country_page_part(function):
    """Register ``function(code) -> dict`` as a part of every country's page."""
    country_page_parts.append(function)
    return function


# What they add to the home page, likewise: functions of nothing returning template variables
# (publishing adds the featured products, the upcoming fairs and the newest experiences).
home_page_parts = []


def home_page_part(function):
    """Register ``function() -> dict`` as a part of the home page."""
    home_page_parts.append(function)
    return function


from hub.registry import cli, exports, routes  # noqa: E402,F401  (routes, commands, exports)
