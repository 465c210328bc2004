"""Connectors: readers of partner data. They import nothing from ``hub`` (see ``base``).

Importing this package registers the built-in kinds.
"""

from connectors import ckan, csv_products, hub, ical, jsonfeed  # noqa: F401  (register the kinds)
