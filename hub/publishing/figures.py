"""What the publishing side adds to a country's page: charts of its products."""

from flask_babel import gettext as _
from flask_babel import ngettext

from hub.charts import Chart, Series
from hub.publishing.vocabulary import PRODUCT_GROUPS, label


def product_charts(by_group, by_stars):
    """A country's published products by stars and by product group, from
    ``queries.product_counts``: two charts, or None when it has no product."""
    if not by_group:
        return None
    stars = [n for n in range(1, 6) if n in by_stars] + ([None] if None in by_stars else [])
    groups = [g for g in PRODUCT_GROUPS if g in by_group] + sorted(
        (g for g in by_group if g not in PRODUCT_GROUPS), key=str
    )
    products = _("Products")
    return (
        Chart(
            "bars",
            _("Stars"),
            [ngettext("%(num)s star", "%(num)s stars", n) if n else _("Not rated") for n in stars],
            [Series(products, [by_stars[n] for n in stars])],
        ),
        Chart(
            "rows",
            _("Product group"),
            [label(PRODUCT_GROUPS, g) for g in groups],
            [Series(products, [by_group[g] for g in groups])],
        ),
    )
