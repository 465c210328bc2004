"""The search page."""

from flask import render_template, request

from hub.cache import cached
from hub.db import utctoday
from hub.search import bp, queries


@bp.route("/search")
@cached
def search():
    query = request.args.get("q", "")
    results = queries.search(query, cursor=request.args.get("after"))
    return render_template(
        "search/results.html", query=query.strip(), results=results, today=utctoday()
    )
