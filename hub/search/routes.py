"""The search page."""

from flask import render_template, request

from hub.cache import cached
from hub.db import utctoday
from hub.i18n import current_language
from hub.media import display as media_display
from hub.search import bp, queries


@bp.route("/search")
@cached
def search():
    query = request.args.get("q", "")
    results = queries.search(query, cursor=request.args.get("after"))
    return render_template(
        "search/results.html",
        query=query.strip(),
        results=results,
        today=utctoday(),
        covers=media_display.covers(results.entries, current_language()),
        short_window=queries.SHORT_WINDOW,
    )
