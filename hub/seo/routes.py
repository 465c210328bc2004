"""``/robots.txt`` and the sitemaps: ``/sitemap.xml`` is a sitemap index of
``/sitemaps/pages.xml`` (the home page, the lists, every country) and, per collection,
``/sitemaps/<collection>-<n>.xml``: the published entries whose id lies in the n-th run of
``HUB_SITEMAP_ENTRIES`` ids (a keyset over the primary key: one range scan per file, and a file
never holds more than that many entries, however many there are). Each entry is listed once per
language, with its ``hreflang`` alternates (vi, en, ja and x-default) and its ``lastmod``
(``updated_dt``). The entries' files are streamed; every address is under ``HUB_BASE_URL``."""

from datetime import UTC
from xml.sax.saxutils import escape

from flask import Response, abort, current_app, stream_with_context, url_for
from sqlalchemy import func, select

from hub.cache import cached
from hub.extensions import db
from hub.i18n import languages
from hub.publishing.models import Entry, EntryStatus
from hub.publishing.routes import COLLECTION_RULE, COLLECTIONS
from hub.registry.models import Country
from hub.seo import bp

SITEMAP_XMLNS = (
    'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml"'
)
# How many rows a sitemap file reads from the database at a time.
STREAM_ROWS = 1000
# The pages behind a sign-in, forms and answers for programs: nothing for a search engine.
PRIVATE_PATHS = ("manage/", "admin/", "login", "account", "invitations/", "search")


def _w3c(moment):
    """A ``lastmod`` in the W3C date-time format, in UTC."""
    if moment is None:
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _xml(body, mimetype="application/xml"):
    return Response(body, mimetype=mimetype)


@bp.route("/robots.txt")
@cached
def robots():
    lines = ["User-agent: *", "Disallow: /api/"]
    for lang in languages():
        lines.extend(f"Disallow: /{lang}/{path}" for path in PRIVATE_PATHS)
        lines.append(f"Disallow: /{lang}/*/export.")  # the lists as CSV and Excel
    lines.append("Allow: /")
    lines.append("")
    lines.append("Sitemap: " + url_for("seo.sitemap_index", _external=True))
    return current_app.response_class("\n".join(lines) + "\n", mimetype="text/plain")


def _published(kind):
    return (Entry.kind == kind, Entry.status == EntryStatus.PUBLISHED, Entry.deleted_dt.is_(None))


def _size():
    return max(1, int(current_app.config["SITEMAP_ENTRIES"]))


@bp.route("/sitemap.xml")
@cached
def sitemap_index():
    size = _size()
    parts = [("pages", None, _w3c(db.session.scalar(select(func.max(Country.updated_dt)))))]
    for collection, kind in COLLECTIONS.items():
        runs = db.session.execute(
            select((Entry.id // size).label("run"), func.max(Entry.updated_dt))
            .where(*_published(kind))
            .group_by("run")
            .order_by("run")
        )
        parts.extend((collection, run, _w3c(lastmod)) for run, lastmod in runs)
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    out.append('<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')
    for collection, run, lastmod in parts:
        if run is None:
            loc = url_for("seo.pages_sitemap", _external=True)
        else:
            loc = url_for("seo.entries_sitemap", collection=collection, run=run, _external=True)
        out.append(f"<sitemap><loc>{escape(loc)}</loc>")
        if lastmod:
            out.append(f"<lastmod>{lastmod}</lastmod>")
        out.append("</sitemap>")
    out.append("</sitemapindex>")
    return _xml("\n".join(out) + "\n")


def _url(endpoint, lastmod=None, **args):
    """One page as a ``<url>`` per language, each with the alternates in every language."""
    codes = languages()
    urls = {code: url_for(endpoint, lang=code, _external=True, **args) for code in codes}
    links = "".join(
        f'<xhtml:link rel="alternate" hreflang="{code}" href="{escape(url)}"/>'
        for code, url in urls.items()
    )
    default = urls[current_app.config["DEFAULT_LANGUAGE"]]
    links += f'<xhtml:link rel="alternate" hreflang="x-default" href="{escape(default)}"/>'
    stamp = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
    return "".join(f"<url><loc>{escape(url)}</loc>{stamp}{links}</url>\n" for url in urls.values())


@bp.route("/sitemaps/pages.xml")
@cached
def pages_sitemap():
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f"<urlset {SITEMAP_XMLNS}>\n"]
    countries = db.session.execute(select(Country.code, Country.updated_dt).order_by(Country.code))
    countries = [(code, _w3c(updated)) for code, updated in countries]
    out.append(_url("registry.home", max((c[1] for c in countries), default=None)))
    out.append(_url("registry.countries", max((c[1] for c in countries), default=None)))
    for collection, kind in COLLECTIONS.items():
        newest = db.session.scalar(select(func.max(Entry.updated_dt)).where(*_published(kind)))
        out.append(_url("publishing.collection", _w3c(newest), collection=collection))
    for code, updated in countries:
        out.append(_url("registry.country", updated, code=code))
    out.append("</urlset>\n")
    return _xml("".join(out))


@bp.route(f"/sitemaps/{COLLECTION_RULE}-<int:run>.xml")
def entries_sitemap(collection, run):
    kind, size = COLLECTIONS[collection], _size()
    bounds = (*_published(kind), Entry.id >= run * size, Entry.id < (run + 1) * size)
    if db.session.scalar(select(Entry.id).where(*bounds).limit(1)) is None:
        abort(404)

    def generate():
        yield '<?xml version="1.0" encoding="UTF-8"?>\n'
        yield f"<urlset {SITEMAP_XMLNS}>\n"
        rows = db.session.execute(
            select(Entry.id, Entry.updated_dt).where(*bounds).order_by(Entry.id),
            execution_options={"yield_per": STREAM_ROWS},
        )
        for entry_id, updated in rows:
            yield _url("publishing.detail", _w3c(updated), collection=collection, entry_id=entry_id)
        yield "</urlset>\n"

    return _xml(stream_with_context(generate()))
