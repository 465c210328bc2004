"""Public pages of the four kinds of entry: lists with filters, and one page per entry."""

import unicodedata
from datetime import date
from urllib.parse import unquote_to_bytes

from babel import dates as babel_dates
from flask import abort, render_template, request, url_for
from flask_babel import format_date, format_number
from flask_babel import gettext as _
from sqlalchemy import select

from hub import i18n
from hub.cache import cached
from hub.db import ID_RULE, utctoday
from hub.extensions import db
from hub.i18n import current_language
from hub.media import display as media_display
from hub.publishing import bp, demo, fairs, partner_metadata, queries, services
from hub.publishing import vocabulary as v
from hub.publishing.figures import product_charts
from hub.registry import country_page_part, home_page_part
from hub.registry.models import Country
from hub.registry.regions import country_choices, is_known_territory

COLLECTIONS = {
    "policies": "policy",
    "experiences": "experience",
    "fairs": "fair",
    "products": "product",
}
COLLECTION_OF = {kind: name for name, kind in COLLECTIONS.items()}
COLLECTION_RULE = "<any(policies, experiences, fairs, products):collection>"


def words_arg():
    """``?q=``, the words a list is narrowed to: ``(words, error)``, the words None when absent
    or blank, the error a sentence when they are refused (longer than
    ``queries.MAX_WORDS_LENGTH``, control characters, or bytes that are not UTF-8, which
    Werkzeug would keep as ``%XX``: a lone surrogate's among them)."""
    raw = request.args.get("q", "")
    if not raw.strip():
        return None, None
    if len(raw) > queries.MAX_WORDS_LENGTH or any(
        unicodedata.category(c) in ("Cc", "Cs") for c in raw
    ):
        message = _(
            "The search text must be at most %(max)s characters, without control characters.",
            max=format_number(queries.MAX_WORDS_LENGTH),
        )
        return None, message
    if not _utf8_arg(b"q"):
        return None, _("This text is not valid Unicode (it has a lone surrogate).")
    return raw.strip(), None


def _utf8_arg(name):
    """Whether every value of the query string's ``name`` is UTF-8, as sent."""
    for pair in request.query_string.split(b"&"):
        key, _sep, value = pair.partition(b"=")
        if unquote_to_bytes(key.replace(b"+", b" ")) != name:
            continue
        try:
            unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


def entry_filters(args, products=True):
    """The country filter of a list of entries, and with ``products`` the product group and
    stars (at least) ones, from ``args`` (the query string): ``(values, errors)``; a bad value
    is reported, not applied. The lists and the search page read them alike."""
    errors, values = {}, {}
    country = args.get("country", "").strip().upper()
    if country:
        if is_known_territory(country):
            values["country"] = country
        else:
            errors["country"] = _("“%(value)s” is not a country.", value=country)
    if products:
        group = args.get("group", "")
        if group in v.PRODUCT_GROUPS:
            values["group"] = group
        elif group:
            errors["group"] = _("“%(value)s” is not one of the options.", value=group)
        stars = args.get("stars", "")
        if stars in ("1", "2", "3", "4", "5"):
            values["stars"] = int(stars)
        elif stars:
            errors["stars"] = _("A rating has 1 to 5 stars.")
    return values, errors


def _filters(kind):
    """The list filters from the query string; a bad value is reported, not applied."""
    args = request.args
    values, errors = entry_filters(args, products=kind == "product")
    q, error = words_arg()
    if error:
        errors["q"] = error
    elif q:
        values["q"] = q
    if kind == "product":
        values["valid"] = args.get("valid") == "1"
    if kind == "fair":
        when = args.get("when", "")
        if when in ("upcoming", "past"):
            values["when"] = when
        elif when:
            errors["when"] = _("“%(value)s” is not one of the options.", value=when)
        values.setdefault("when", "all")
    return values, errors


@bp.route(f"/{COLLECTION_RULE}")
@cached
def collection(collection):
    kind = COLLECTIONS[collection]
    values, errors = _filters(kind)
    page = queries.public_list(kind, cursor=request.args.get("after"), **values)
    return render_template(
        "publishing/list.html",
        kind=kind,
        collection=collection,
        page=page,
        covers=media_display.covers(page.items, current_language()),
        filters=values,
        errors=errors,
        today=utctoday(),
        countries=_registry_countries(),
    ), (400 if errors else 200)


def _registry_countries():
    return country_choices(db.session.scalars(select(Country.code)))


@bp.route(f"/{COLLECTION_RULE}/<{ID_RULE}:entry_id>")
@cached
def detail(collection, entry_id):
    kind = COLLECTIONS[collection]
    entry = queries.public_entry(kind, entry_id)
    if entry is None:
        abort(404)
    gallery = media_display.for_entry(entry.id, current_language(), entry.source_language)
    return render_template(
        "publishing/detail.html",
        entry=entry,
        kind=kind,
        collection=collection,
        today=utctoday(),
        media=gallery,
        photo_credits=demo.photo_credits(gallery),
    )


@bp.app_template_global()
def shown(entry):
    """The entry's text for this page: ``(translation, served_language)``, the text and
    language of its ``services.shown``."""
    found = services.shown(entry, current_language())
    return found.text, found.language


@bp.app_template_global()
def fair_status(fair):
    """The status a reader is shown for ``fair`` today: "held" once a scheduled fair is over."""
    return fairs.shown_status(fair)


@bp.app_template_global()
def fair_exhibitors(fair):
    """The exhibitors a fair's page lists (``hub.publishing.fairs.exhibitors``)."""
    return fairs.exhibitors(fair, current_language())


@bp.app_template_global()
def calendar_links(fair=None):
    """``(ics, webcal)``: the iCalendar file of ``fair`` (None: of every fair) in the reader's
    language, and the whole calendar's ``webcal://`` subscription address, both absolute
    (``HUB_BASE_URL``)."""
    lang = current_language()
    whole = url_for("feeds.fairs_calendar", lang=lang, _external=True)
    ics = (
        url_for("feeds.fair_calendar", fair_id=fair.id, lang=lang, _external=True)
        if fair
        else whole
    )
    return ics, "webcal://" + whole.split("://", 1)[1]


@bp.app_template_global()
def collection_of(kind):
    return COLLECTION_OF[kind]


@bp.app_template_filter()
def groupby_month(fairs):
    """Fairs grouped by the month they start in (venue's calendar): ``[(label, fairs)]``."""
    groups = []
    for fair in fairs:
        key = (fair.starts_local.year, fair.starts_local.month)
        if not groups or groups[-1][0] != key:
            groups.append((key, []))
        groups[-1][1].append(fair)
    return [(format_date(date(y, m, 1), "MMMM y"), items) for (y, m), items in groups]


@bp.app_template_filter()
def reject_key(mapping, key):
    return {k: val for k, val in mapping.items() if k != key}


@bp.app_template_global()
def local_time(moment):
    """A wall-clock time in the reader's locale ("8:00 AM", "08:00"), with no zone conversion:
    fair times are already in the venue's zone."""
    return babel_dates.format_time(moment.time(), "short", locale=current_language())


@bp.app_template_global()
def date_range(start, end):
    """Days from ``start`` to ``end`` as one range in the reader's language, by CLDR's interval
    formats ("Mar 20 – 22, 2027", "20 – 22 thg 3, 2027", "2027年3月20日～22日")."""
    return babel_dates.format_interval(start, end, "yMMMd", locale=current_language())


bp.add_app_template_global(i18n.zone_name, "zone_name")


# The source text a shown translation is older than, or None (see the "outdated_note" macro).
bp.add_app_template_global(services.outdated_against, "outdated_source")

# What partners say about an entry beyond the hub's fields (hub.publishing.partner_metadata).
bp.add_app_template_global(partner_metadata.text_language, "text_language")
bp.add_app_template_global(partner_metadata.base_language, "base_language")
bp.add_app_template_global(partner_metadata.tag_name, "language_tag_name")
bp.add_app_template_global(partner_metadata.published_moment, "partner_moment")


@country_page_part
def country_entries(code):
    """A country's page shows its latest entries and charts of its published products."""
    entries = queries.latest_for_country(code)
    return {
        "entries": entries,
        "covers": media_display.covers(
            [entry for items in entries.values() for entry in items], current_language()
        ),
        "product_charts": product_charts(*queries.product_counts(code)),
    }


FEATURED = 4  # products on the home page
HOME_LIST = 3  # upcoming fairs, newest experiences on the home page


@home_page_part
def home_entries():
    """The home page shows the network's products and people: featured products (those with a
    photo first), the upcoming fairs (the covers of both in one query) and the newest
    experiences."""
    candidates = queries.featured_products()
    fairs_soon = queries.public_list("fair", when="upcoming", limit=HOME_LIST).upcoming
    covers = media_display.covers([*candidates, *fairs_soon], current_language())
    featured = sorted(candidates, key=lambda product: product.id not in covers)[:FEATURED]
    return {
        "featured_products": featured,
        "covers": covers,
        "upcoming_fairs": fairs_soon,
        "newest_experiences": queries.public_list("experience", limit=HOME_LIST).items,
        "today": utctoday(),
    }
