"""What search engines and link previews get (issue 20, section 5): each page's description,
canonical address, OpenGraph and Twitter card and its schema.org JSON-LD (``hub.seo.meta``,
``hub.seo.jsonld``), and ``/robots.txt`` and ``/sitemap.xml`` (``hub.seo.routes``).

Everything here is made of the data and ``HUB_BASE_URL`` (``hub.urls``) only, never of a
request's host, so the answer cache may keep these pages as it keeps any other."""

from flask import Blueprint

bp = Blueprint("seo", __name__)

from hub.seo import meta, routes  # noqa: E402,F401  (template globals, routes)
