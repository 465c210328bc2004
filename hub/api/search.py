"""``GET /api/v1/search``: what the search page finds (``hub.search.queries.search``), ranked
the same way, as JSON: the countries and programmes (on the first page), then the published
entries of every kind, best first, a page at a time by an opaque cursor."""

from flask import jsonify, request
from flask_babel import gettext as _

from hub.api import bp
from hub.api.routes import (
    ApiInputError,
    _cursor,
    _encode,
    _int_arg,
    _lang,
    _last_modified,
    _registry_changed,
    _words_arg,
)
from hub.api.views import country_view, entries_media, entry_view, programme_view
from hub.cache import cached
from hub.publishing.queries import newest_change_dt
from hub.registry.facts import programme_texts
from hub.search import queries

MAX_LIMIT = 100


@bp.route("/search")
@cached
def search():
    lang = _lang()
    limit = _int_arg("limit", queries.PAGE_SIZE, 1, MAX_LIMIT)
    cursor = _cursor()
    if cursor is not None and queries.parse_cursor(cursor) is None:
        raise ApiInputError({"cursor": [_("This cursor is not one the API gave.")]})
    if "q" not in request.args:
        raise ApiInputError({"q": [_("Give the words to search for.")]})
    results = queries.search(_words_arg() or "", cursor, limit)
    programmes = [*results.programmes, *(p for c in results.countries for p in c.programmes)]
    found = programme_texts(programmes)
    media = entries_media(results.entries)
    response = jsonify(
        countries=[country_view(c, lang, found) for c in results.countries],
        programmes=[programme_view(p, lang, found) for p in results.programmes],
        items=[entry_view(e, lang, media) for e in results.entries],
        next_cursor=_encode(results.next_cursor),
        registry_first=results.registry_first,
        short=results.short,
    )
    return _last_modified(response, [newest_change_dt(), *_registry_changed()])
