"""The countries list as a spreadsheet, CSV or XLSX, with the filters of its page.

The export reads the page's own filters (``routes.country_filters``) and its own query
(``queries.list_countries``: every country in the world at most, with their programmes in one
more query), in the page's order; a bad filter is answered as the page answers it.
"""

from flask import url_for
from flask_babel import lazy_gettext as _l

from hub import tabular
from hub.db import utctoday
from hub.registry import bp, queries
from hub.registry import routes as pages
from hub.registry.regions import territory_name
from hub.registry.services import status_label


def columns():
    header = (
        _l("Country code"),
        _l("Country"),
        _l("Address on the hub"),
        _l("Region"),
        _l("Membership status"),
        _l("Since"),
        _l("Programmes"),
        _l("Last updated"),
    )
    return [str(label) for label in header]


def rows(countries):
    for country in countries:
        yield [
            country.code,
            territory_name(country.code),
            url_for("registry.country", code=country.code, _external=True),
            territory_name(country.region),
            status_label(country.membership_status),
            country.status_since_on,
            "; ".join(f"{p.acronym}: {p.name}" for p in country.programmes) or None,
            country.updated_dt.date() if country.updated_dt else None,
        ]


@bp.route(f"/countries/export.{tabular.FORMAT_RULE}")
def countries_export(fmt):
    status, region, errors = pages.country_filters()
    if errors:
        return pages.countries()  # the list page's own answer: 400, saying why
    countries = queries.list_countries(status=status, region=region)
    name = str(_l("Countries"))
    today = utctoday().isoformat()
    return tabular.answer(
        fmt,
        columns(),
        rows(countries),
        tabular.file_name(name, status, region, today),
        tabular.file_name("countries", status, region, today),
        sheet_title=name,
    )
