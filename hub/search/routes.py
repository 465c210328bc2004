"""The search page."""

from urllib.parse import urlencode

from flask import render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from hub.cache import cached
from hub.db import utctoday
from hub.extensions import db
from hub.i18n import current_language
from hub.media import display as media_display
from hub.publishing import services
from hub.publishing.routes import entry_filters, words_arg
from hub.registry.models import Country
from hub.registry.regions import country_choices
from hub.search import bp, highlight, queries


def _filters():
    """The search's filters from the query string (``queries.Filters``): the lists' (country,
    product group, stars) and the kind; a bad value is reported and not applied, refused words
    (``q``) as the lists refuse them."""
    values, errors = entry_filters(request.args)
    if error := words_arg()[1]:
        errors["q"] = error
    kind = request.args.get("kind", "")
    if kind in queries.KINDS:
        values["kind"] = kind
    elif kind:
        errors["kind"] = _("“%(value)s” is not one of the options.", value=kind)
    return queries.Filters(**values), errors


def _shown_parts(entries, terms):
    """``{entry id: (title, extract)}``: each entry's title and an extract of its texts in the
    language the page shows it in, the query's words marked (``hub.search.highlight``)."""
    language = current_language()
    parts = {}
    for entry in entries:
        text = services.shown(entry, language).text
        parts[entry.id] = (highlight.marked(text.title, terms), highlight.extract(text, terms))
    return parts


QUERY_SAFE = "!$'()*,/:;?@"  # as Werkzeug's url_for quotes a query string


def _linker():
    """``link(**args)``: this page's URL with ``args`` as its query string, as ``url_for`` would
    write it (its order, Werkzeug's quoting), without a route's build for each of the page's
    hundred links (its facets, its filters)."""
    path = url_for("search.search")

    def link(**args):
        items = [(name, value) for name, value in args.items() if value is not None]
        return f"{path}?{urlencode(items, safe=QUERY_SAFE)}" if items else path

    return link


@bp.route("/search")
@cached
def search():
    filters, errors = _filters()
    # Words that are refused (too long, control characters, not UTF-8) are reported beside
    # their field, as the lists do, and nothing is searched.
    query = "" if "q" in errors else request.args.get("q", "")
    results = queries.search(query, cursor=request.args.get("after"), filters=filters)
    _, terms = queries.terms_of(query)
    return render_template(
        "search/results.html",
        query=query.strip(),
        results=results,
        filters=filters,
        errors=errors,
        facets=queries.facets(query, filters, results.matched) if results.entries else None,
        shown_parts=_shown_parts(results.entries, terms),
        countries=country_choices(db.session.scalars(select(Country.code))),
        today=utctoday(),
        covers=media_display.covers(results.entries, current_language()),
        short_window=queries.SHORT_WINDOW,
        count_cap=queries.COUNT_CAP,
        kinds=queries.KINDS,
        search_link=_linker(),
    ), (400 if errors else 200)
