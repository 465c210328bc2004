"""Texts in every language: the one mechanism by which entries, registry facts and the
vocabularies' names keep a text per language, know which language is the source, serve a
visible fallback when the reader's language is missing and tell a translation made from an
older source (outdated).

``core`` works on any per-language rows (an entry's translations, a fact's texts, a catalogue
message's translations, which ``catalogue`` reads from the gettext catalogues); ``models``
holds the registry facts' texts (``FactText``) and ``facts`` reads and writes them;
``snapshots`` keeps the source versions translations were made from, and ``diff`` shows a
translator what changed since (word by word). The package imports neither the registry nor
publishing: both build on it.
"""
