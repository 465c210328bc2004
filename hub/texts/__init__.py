"""Texts in several languages: what every kind of text shares, whatever it belongs to."""
