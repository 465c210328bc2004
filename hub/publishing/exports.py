"""Each public list as a spreadsheet, CSV or XLSX, with the filters of its page.

The export reads the list page's own filters (``routes._filters``) and its own query
(``queries.public_list``), page after page by key: what the page shows with a query string is
what the export holds, in the same order, and a bad filter is answered as the page answers it.
Texts come with their entries, a batch at a time (no query per row).
"""

from flask import url_for
from flask_babel import lazy_gettext as _l

from hub import tabular
from hub.db import utctoday
from hub.i18n import current_language
from hub.publishing import bp, queries, services
from hub.publishing import routes as pages
from hub.publishing import vocabulary as v
from hub.publishing.exchange import KIND_FIELDS
from hub.registry.regions import territory_name

# Entries read per query.
BATCH = 500


def _choice(vocabulary):
    return lambda value: v.label(vocabulary, value) if value else None


def _outcome(row):
    metric = v.label(v.OUTCOME_METRICS, row.get("metric"))
    return f"{metric}: {row.get('value')} {row.get('unit') or ''}".rstrip()


def _outcomes(rows):
    """Outcome figures in one cell: "Producers taking part: 300 producers; …"."""
    return "; ".join(_outcome(row) for row in rows or ()) or None


def _groups(values):
    return "; ".join(v.label(v.PRODUCT_GROUPS, g) for g in values or ()) or None


def _country(code):
    return territory_name(code) if code else None


# The columns of each kind's own fields (``KIND_FIELDS``): header and how a value is shown. A
# field missing here is exported under its own name, as it is stored.
FIELD_COLUMNS = {
    "instrument": (_l("Kind of instrument"), _choice(v.INSTRUMENTS)),
    "reference_number": (_l("Reference number"), None),
    "issuing_body": (_l("Issuing body"), None),
    "issued_on": (_l("Issued on"), None),
    "link": (_l("Link to the text"), None),
    "outcomes": (_l("Outcomes"), _outcomes),
    "venue": (_l("Venue"), None),
    "city": (_l("City"), None),
    "location_country": (_l("Country of the venue"), _country),
    "all_day": (_l("All-day event"), None),
    "timezone": (_l("Time zone of the venue"), None),
    "fair_status": (_l("Status of the fair"), _choice(v.FAIR_STATUSES)),
    "organiser": (_l("Organiser"), None),
    "website": (_l("Website"), None),
    "product_groups": (_l("Product groups"), _groups),
    "registration_deadline": (_l("Registration deadline"), None),
    "producer_name": (_l("Producer"), None),
    "producer_type": (_l("Kind of producer"), _choice(v.PRODUCER_TYPES)),
    "locality": (_l("Locality"), None),
    "latitude": (_l("Latitude"), None),
    "longitude": (_l("Longitude"), None),
    "product_group": (_l("Product group"), _choice(v.PRODUCT_GROUPS)),
    "rating_scheme": (_l("Rating scheme"), _choice(v.RATING_SCHEMES)),
    "stars": (_l("Stars"), None),
    "rated_on": (_l("Rated on"), None),
    "valid_until": (_l("Valid until"), None),
}


def _fair_dates(fair):
    """First and last day in the venue's calendar, and the opening times ("HH:MM", none for an
    all-day fair)."""
    if fair.starts_local is None:
        return [None] * 4
    timed = not fair.all_day
    return [
        fair.starts_local.date(),
        fair.ends_local.date(),
        fair.starts_local.strftime("%H:%M") if timed else None,
        fair.ends_local.strftime("%H:%M") if timed else None,
    ]


def columns(kind):
    """The header of ``kind``'s export, in the current language."""
    header = [
        _l("ID"),
        _l("Address on the hub"),
        _l("Country code"),
        _l("Country"),
        _l("Language shown"),
        v.TEXT_LABELS_BY_KIND.get((kind, "title"), v.TEXT_LABELS["title"]),
    ]
    if "summary" in v.TEXT_FIELDS[kind]:
        header.append(v.TEXT_LABELS["summary"])
    if kind == "fair":
        header += [_l("First day"), _l("Last day"), _l("Opens at"), _l("Closes at")]
    header += [FIELD_COLUMNS.get(name, (name, None))[0] for name in KIND_FIELDS[kind]]
    header.append(_l("Last updated"))
    return [str(label) for label in header]


def row(entry, kind, collection, language, country_names):
    shown = services.shown(entry, language)
    translation = shown.text
    values = [
        entry.id,
        url_for("publishing.detail", collection=collection, entry_id=entry.id, _external=True),
        entry.country_code,
        country_names(entry.country_code),
        shown.language,
        translation.title if translation else None,
    ]
    if "summary" in v.TEXT_FIELDS[kind]:
        values.append((translation.summary or None) if translation else None)
    if kind == "fair":
        values += _fair_dates(entry)
    for name in KIND_FIELDS[kind]:
        value = getattr(entry, name)
        show = FIELD_COLUMNS.get(name, (None, None))[1]
        if show is not None:
            value = show(value)
        elif isinstance(value, list | dict):
            value = str(value)
        values.append(value)
    values.append(entry.updated_dt.date() if entry.updated_dt else None)
    return values


def entries(kind, filters):
    """Every entry the list page shows with ``filters``, in its order, read by key in batches."""
    cursor = None
    while True:
        page = queries.public_list(kind, cursor=cursor, limit=BATCH, **filters)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def rows(kind, collection, filters):
    language = current_language()
    names = {}

    def country_names(code):
        if code not in names:
            names[code] = territory_name(code)
        return names[code]

    for entry in entries(kind, filters):
        yield row(entry, kind, collection, language, country_names)


@bp.route(f"/{pages.COLLECTION_RULE}/export.{tabular.FORMAT_RULE}")
def export(collection, fmt):
    kind = pages.COLLECTIONS[collection]
    filters, errors = pages._filters(kind)
    if errors:
        return pages.collection(collection)  # the list page's own answer: 400, saying why
    name = str(v.KIND_NAMES[kind][1])
    country = filters.get("country")
    return tabular.answer(
        fmt,
        columns(kind),
        rows(kind, collection, filters),
        tabular.file_name(name, country, utctoday().isoformat()),
        tabular.file_name(collection, country, utctoday().isoformat()),
        sheet_title=name,
    )


bp.add_app_template_global(tabular.export_url, "export_url")
