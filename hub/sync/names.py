"""The hub's names for the fields and values of its products in each of its languages, given to
connectors that read what people wrote (``SourceClient.vocabulary``; see ``connectors.base``).

Taken from the catalogues: a CSV's column «Nhóm sản phẩm», "Product group" or 「産品分野」 is the
field the hub's own pages and exports call so, and a cell «Thực phẩm», "Food" or 「食品」 is the
product group ``food``. Nothing here is written twice: a name the catalogues change is read
under its new name at the next run.
"""

from flask import current_app
from flask_babel import force_locale, ngettext, pgettext
from flask_babel import gettext as _

from hub.publishing import vocabulary as v
from hub.publishing.exports import FIELD_COLUMNS

# The export's labels of each field a CSV product list may have, and a few shorter headers.
COLUMN_LABELS = {
    "partner_id": lambda: [_("ID"), pgettext("CSV column", "Code")],
    "title": lambda: [v.text_label("product", "title")],
    "body": lambda: [v.text_label("product", "body")],
    "stars": lambda: [FIELD_COLUMNS["stars"][0], pgettext("CSV column", "Stars")],
    "image_url": lambda: [
        pgettext("CSV column", "Photos"),
        pgettext("CSV column", "Image URL"),
        pgettext("CSV column", "Images"),
    ],
}
VALUE_NAMES = {
    "product_group": v.PRODUCT_GROUPS,
    "producer_type": v.PRODUCER_TYPES,
    "rating_scheme": v.RATING_SCHEMES,
}
PRODUCT_FIELDS = (
    "producer_name", "producer_type", "locality", "latitude", "longitude", "product_group",
    "rating_scheme", "stars", "rated_on", "valid_until",
)  # fmt: skip


def _labels(field):
    make = COLUMN_LABELS.get(field)
    labels = [str(label) for label in make()] if make else []
    if field in FIELD_COLUMNS:
        labels.append(str(FIELD_COLUMNS[field][0]))
    return list(dict.fromkeys(labels))


def _in_current_language():
    fields = ("partner_id", "title", "body", *PRODUCT_FIELDS, "image_url")
    columns = {field: _labels(field) for field in fields}
    values = {
        field: {str(name): key for key, name in names.items()}
        for field, names in VALUE_NAMES.items()
    }
    # "%(num)s star" as the catalogue writes it for a few numbers, the number made a pattern.
    stars = [
        ngettext("%(num)s star", "%(num)s stars", n).replace(str(n), "%(num)s", 1)
        for n in (1, 2, 5)
    ]
    return columns, values, stars


def product_names():
    """``{"columns": {field: {language: [labels]}}, "values": {field: {name: value}}, "stars":
    [patterns]}`` in every language of the hub, for ``connectors.csv_products``."""
    columns, values, stars = {}, {}, []
    for language in current_app.config["LANGUAGES"]:
        with force_locale(language):
            those_columns, those_values, those_stars = _in_current_language()
        for field, labels in those_columns.items():
            columns.setdefault(field, {})[language] = labels
        for field, names in those_values.items():
            for name, key in names.items():
                values.setdefault(field, {})[name] = key
            for key in VALUE_NAMES[field]:
                values[field][key] = key
        stars += [pattern for pattern in those_stars if pattern not in stars]
    return {"columns": columns, "values": values, "stars": stars}
