"""Lists narrowed by words: ``q=`` on the public lists and the API's lists
(``hub.publishing.queries.public_list``) reads the search index through the matcher registered
here, as the search page reads it (``hub.search.queries``): an entry is in the list when one of
its translations' texts (title, summary, body and lessons, folded) holds every word of ``q``.

A list newest first reads the index in that order, below its cursor, and stops at its page; a
list of fairs (by date, and few) takes the matching ids as a subquery. Words of one or two
characters only have no trigram to look up: they are looked for in the newest
``SHORT_WINDOW`` entries, as on the search page, and the list says so (``short_window``).

The registry's lists (the API's countries and programmes) are small: they are narrowed here
without an index (``matching_countries``, ``matching_programmes``).
"""

from dataclasses import dataclass

from flask import current_app

from hub.i18n import fold
from hub.publishing import queries as publishing
from hub.publishing.models import EntryTranslation
from hub.registry.models import Programme
from hub.registry.regions import territory_name
from hub.search import index, queries


@dataclass
class Words:
    """The folded words of a list's ``q=``, and how a list finds the entries holding them."""

    terms: list
    short_window: int | None

    def _statement(self, conditions, before):
        t = EntryTranslation
        if self.short_window is None:
            return index.matching(
                "search_text", self.terms, (t.entry_id,), *conditions, before=before
            )
        return queries.window_statement(self.terms, (t.entry_id,), conditions, before)

    def rows(self, conditions, before, need):
        """``(entry id,)`` rows newest first, enough for ``need`` entries: an entry has a
        translation per language at most."""
        return self._statement(conditions, before).limit(need * len(index.SLOTS))

    def ids(self, conditions):
        """Every matching entry's id (a translation row each), for ``IN``: a subquery of its
        own, not correlated with the list's query of the same table."""
        return self._statement(conditions, None).order_by(None).correlate(None)


@publishing.words_matcher
def words(q):
    phrase, terms = queries.terms_of(q)
    if not phrase:
        return None
    return Words(terms, None if index.indexed_words(terms) else queries.SHORT_WINDOW)


def matching_countries(countries, q):
    """Those of ``countries`` whose name (CLDR's) in one of the hub's languages holds every
    word of ``q``, or whose code ``q`` is."""
    _, terms = queries.terms_of(q)
    languages = current_app.config["LANGUAGES"]

    def matches(country):
        if terms == [country.code.lower()]:
            return True
        names = (fold(territory_name(country.code, language)) for language in languages)
        return any(all(word in name for word in terms) for name in names)

    return [country for country in countries if matches(country)]


def matching_programmes(q):
    """The conditions of the programmes whose name, local name, acronym or agency (folded, in
    ``Programme.search_text``) holds every word of ``q``."""
    return [index.holds(Programme.search_text, word) for word in queries.terms_of(q)[1]]
