"""Each page's description, canonical address, link preview (OpenGraph, Twitter card) and
JSON-LD, as one ``Page`` that ``seo_head`` writes into ``<head>`` (``seo/_head.html``).

Templates build their ``Page`` with the globals registered here (``seo_page``, ``entry_seo``,
``list_seo``, ``country_seo``, ``home_seo``) in their ``seo`` block; base.html's default is
``seo_page`` with the hub's own description."""

import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from hub.i18n import current_language, languages
from hub.publishing import services as publishing
from hub.publishing import vocabulary as v
from hub.publishing.markdown import render_markdown
from hub.registry.regions import territory_name
from hub.seo import bp, jsonld

# The longest description written, in characters (search engines show about 150 to 160).
DESCRIPTION_LIMIT = 160
# The query parameters that change what a page shows; any other (utm_*, fbclid, gclid…) is
# left out of its canonical address.
CANONICAL_ARGS = (
    "country",
    "group",
    "stars",
    "valid",
    "when",
    "status",
    "region",
    "after",
    "q",
    "lang",
)
# Pages no search engine should index: forms, one's own pages, search results.
NOINDEX_BLUEPRINTS = {"accounts", "admin", "manage", "sync", "search"}
# OpenGraph's locales (language_TERRITORY) of the hub's languages.
OG_LOCALES = {"vi": "vi_VN", "en": "en_US", "ja": "ja_JP"}


@dataclass
class Page:
    """What ``seo_head`` writes for one page. ``image``: a ``hub.media.display.Picture`` or
    None; ``kind``: OpenGraph's ``og:type``; ``jsonld``: schema.org objects, one script each."""

    title: str
    description: str
    image: object = None
    kind: str = "website"
    jsonld: list = field(default_factory=list)


def plain(text):
    """A Markdown text as one line of plain text."""
    return re.sub(r"\s+", " ", Markup(render_markdown(text)).striptags()).strip()


def shorten(text, limit=DESCRIPTION_LIMIT):
    """``text`` cut to at most ``limit`` characters, at a word's end where words have spaces
    (Japanese has none: there, at a character), with an ellipsis when cut."""
    text = re.sub(r"\s+", " ", text or "").strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:、。") + "…"


def default_description():
    return _("The registry and exchange platform of the global One Village One Product network.")


def canonical_url():
    """The page's own address in its language, absolute under ``HUB_BASE_URL``, with only the
    query parameters that change what it shows; None for a page without a route (errors)."""
    if request.url_rule is None or request.endpoint is None:
        return None
    query = sorted(
        (name, value)
        for name, value in request.args.items(multi=True)
        if name in CANONICAL_ARGS and value
    )
    url = url_for(request.endpoint, **(request.view_args or {}), _external=True)
    return url + ("?" + urlencode(query) if query else "")


def noindex():
    endpoint = request.endpoint or ""
    if endpoint == "publishing.collection" and request.args.get("q", "").strip():
        return True  # a list narrowed by words: search results too
    return endpoint.split(".", 1)[0] in NOINDEX_BLUEPRINTS or endpoint.endswith("_export")


@bp.app_template_global()
def seo_head(page):
    """The ``<head>`` tags of ``page``: description, canonical, OpenGraph, Twitter, JSON-LD."""
    here = canonical_url()
    return Markup(
        render_template(
            "seo/_head.html",
            page=page,
            canonical=here,
            noindex=noindex(),
            og_locale=OG_LOCALES.get(current_language()),
            og_alternates=[OG_LOCALES[c] for c in languages() if c != current_language()],
            jsonld=[jsonld.with_context(thing) for thing in page.jsonld],
        )
    )


@bp.app_template_global()
def seo_page(title, description=None, jsonld_things=()):
    return Page(
        str(title).strip(), description or default_description(), jsonld=list(jsonld_things)
    )


@bp.app_template_global()
def home_seo(title):
    """The home page: the hub as an Organization and a WebSite that can be searched."""
    return Page(
        str(title).strip(),
        _(
            "Countries running One Village One Product programmes share their policies, "
            "experiences, trade fairs and products here."
        ),
        jsonld=[jsonld.hub_organization(), jsonld.website()],
    )


LIST_DESCRIPTIONS = {
    "policy": lambda: _(
        "Policies of the countries of the One Village One Product network: decisions, "
        "programmes and guidelines, with their issuing bodies and texts."
    ),
    "experience": lambda: _(
        "Experiences of the countries of the One Village One Product network: how programmes "
        "were run, their outcomes and the lessons learned."
    ),
    "fair": lambda: _(
        "Trade fairs of the One Village One Product network: upcoming and past fairs, their "
        "dates, venues and product groups."
    ),
    "product": lambda: _(
        "Products of the One Village One Product network: rated local specialities, their "
        "producers, star ratings and where they come from."
    ),
}
COUNTRY_LIST_DESCRIPTIONS = {
    "policy": lambda c: _(
        "Policies of %(country)s in the One Village One Product network.", country=c
    ),
    "experience": lambda c: _(
        "Experiences of %(country)s in the One Village One Product network.", country=c
    ),
    "fair": lambda c: _(
        "Trade fairs of %(country)s in the One Village One Product network.", country=c
    ),
    "product": lambda c: _(
        "Products of %(country)s in the One Village One Product network.", country=c
    ),
}


@bp.app_template_global()
def list_seo(title, kind, filters):
    """A list of entries: its own description, by kind and country filter."""
    if country := filters.get("country"):
        description = COUNTRY_LIST_DESCRIPTIONS[kind](territory_name(country))
    else:
        description = LIST_DESCRIPTIONS[kind]()
    crumbs = [(_("Home"), url_for("registry.home", _external=True))]
    crumbs.append(
        (
            str(title).strip(),
            url_for("publishing.collection", collection=_collection(kind), _external=True),
        )
    )
    return Page(str(title).strip(), description, jsonld=[jsonld.breadcrumbs(crumbs)])


@bp.app_template_global()
def countries_seo(title):
    return Page(
        str(title).strip(),
        _(
            "Every country of the One Village One Product network and those around it: "
            "membership status, region and programmes."
        ),
    )


@bp.app_template_global()
def country_seo(title, country):
    """A country's page: its own description, a BreadcrumbList and the country as a Country."""
    name = territory_name(country.code)
    description = _(
        "%(country)s in the global OCOP network: membership, programmes, policies, experiences, "
        "trade fairs and products.",
        country=name,
    )
    here = url_for("registry.country", code=country.code, _external=True)
    crumbs = [
        (_("Home"), url_for("registry.home", _external=True)),
        (_("Countries"), url_for("registry.countries", _external=True)),
        (name, here),
    ]
    return Page(
        str(title).strip(),
        description,
        jsonld=[jsonld.country(country, name, here, description), jsonld.breadcrumbs(crumbs)],
    )


def _collection(kind):
    from hub.publishing.routes import COLLECTION_OF

    return COLLECTION_OF[kind]


@bp.app_template_global()
def entry_seo(title, entry, gallery=None):
    """An entry's page: the description from its summary (else its text) in the page's
    language, its cover as the preview image, and its JSON-LD (Product, ExhibitionEvent or
    Article, and a BreadcrumbList)."""
    found = publishing.shown(entry, current_language())
    text = found.text
    description = shorten(text.summary or plain(text.body) or text.title)
    images = list(gallery.images) if gallery else []
    collection = _collection(entry.kind)
    here = url_for("publishing.detail", collection=collection, entry_id=entry.id, _external=True)
    crumbs = [
        (_("Home"), url_for("registry.home", _external=True)),
        (
            str(v.KIND_NAMES[entry.kind][1]),
            url_for("publishing.collection", collection=collection, _external=True),
        ),
        (text.title, here),
    ]
    thing = jsonld.entry(entry, text, found.language, here, description, images)
    kind = "article" if entry.kind in ("policy", "experience") else "website"
    return Page(
        str(title).strip(),
        description,
        image=images[0] if images else None,
        kind=kind,
        jsonld=[thing, jsonld.breadcrumbs(crumbs)],
    )
