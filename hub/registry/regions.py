"""Regions and country names, from the standards and CLDR (through Babel).

Region codes are UN M49 codes. Their names, like country names, come from CLDR in every
language; only the code-to-code containment below is ours, because Babel does not ship CLDR's
territory containment. It is the UN M49 standard's own table (unstats.un.org/unsd/methodology/m49),
restricted to the sub-regions under the five continents.
"""

from functools import lru_cache

from babel import Locale
from flask_babel import get_locale

from hub.i18n import fold

CONTINENTS = ("002", "019", "142", "150", "009")  # Africa, Americas, Asia, Europe, Oceania

SUBREGION_CONTINENT = {
    # Africa
    "011": "002", "014": "002", "015": "002", "017": "002", "018": "002",
    # Americas
    "005": "019", "013": "019", "021": "019", "029": "019",
    # Asia
    "030": "142", "034": "142", "035": "142", "143": "142", "145": "142",
    # Europe
    "039": "150", "151": "150", "154": "150", "155": "150",
    # Oceania
    "053": "009", "054": "009", "057": "009", "061": "009",
}  # fmt: skip


def subregions_of(continent):
    """The M49 sub-region codes inside a continent code."""
    return sorted(sub for sub, cont in SUBREGION_CONTINENT.items() if cont == continent)


def continent_of(subregion):
    return SUBREGION_CONTINENT.get(subregion)


@lru_cache(maxsize=32)
def _territories(identifier):
    # A page names countries a hundred times or more (its results, its filters, its facets).
    return dict(Locale.parse(identifier).territories)


def territory_name(code, locale=None):
    """A country's or region's name in ``locale`` (default: the request's), from CLDR."""
    return _territories(str(locale or get_locale())).get(code, code)


# Two-letter CLDR codes that name no country: unknown region, European Union, eurozone, United
# Nations, outlying Oceania, and the pseudo-locales.
NOT_COUNTRIES = frozenset({"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"})


def is_known_territory(code):
    """Whether CLDR knows ``code`` as a country or territory (ISO 3166-1 alpha-2)."""
    return (
        len(code) == 2
        and code.isascii()
        and code.isalpha()
        and code.isupper()
        and code not in NOT_COUNTRIES
        and code in Locale("en").territories
    )


def sort_key(name):
    """A key that orders names alphabetically for a reader: case and diacritics folded first,
    the exact spelling only to break ties ("Áo" sorts with "Ao", before "Ba")."""
    return (fold(name), name)


def country_choices(codes):
    """``[(code, name)]`` for a form's select, sorted by name in the current language."""
    return list(_country_choices(tuple(codes), str(get_locale())))


@lru_cache(maxsize=64)
def _country_choices(codes, identifier):
    names = ((code, territory_name(code, identifier)) for code in codes)
    return tuple(sorted(names, key=lambda c: sort_key(c[1])))
