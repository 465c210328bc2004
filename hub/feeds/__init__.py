"""Feeds for people: JSON Feed 1.1 per collection and per country, iCalendar for fairs."""

from flask import Blueprint

bp = Blueprint("feeds", __name__)

from hub.feeds import routes  # noqa: E402,F401  (attach the routes)
