"""Connectors: readers of partner data. They import nothing from ``hub`` (see ``base``)."""
