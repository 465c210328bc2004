""" "Did you mean": for a query that finds nothing, a close one that finds something.

Each word of the query that finds nothing by itself (``finds``) is replaced by the closest word
one or two edits away (letters added, removed, changed or swapped; Damerau–Levenshtein in its
restricted form) among:

* the words of the entries' titles, found through the title index, never by reading the titles:
  a word one edit away from the query's word holds both of the query word's parts on either side
  of the edit. For each place an edit could be, the two parts (one of them of three characters
  at least, so that the index can look it up) are looked up together in the titles
  (``hub.search.index.matching``), ``ROWS_PER_PIECE`` titles at most each, newest first;
  ``PIECES_PER_WORD`` places at most, spread over the word. In a short word the parts around
  its middle are too short to look up: its variants with two neighbours swapped or a letter
  left out are looked up too. A word of three characters or fewer is compared with the
  registry's names only;
* the registry's names: the countries' names in every language of the hub (CLDR) and the
  programmes' acronyms and names (a small table).

A whole query close to a country's name ("thailnd") is proposed as that name. The words are
compared folded (``hub.i18n.fold``) and proposed as they are written in the title or name they
come from (the most frequent spelling). The proposal is kept only if it finds something: no
suggestion leads to an empty page.
"""

import functools
import itertools
import re
import unicodedata
from collections import Counter

from babel import Locale
from flask import current_app
from sqlalchemy import select

from hub.extensions import db
from hub.i18n import fold
from hub.publishing.models import Entry, EntryStatus, EntryTranslation
from hub.registry.models import Programme
from hub.search import index

PIECES_PER_WORD = 12
SHORT_WORD = 6  # characters: a word this long or shorter also has its variants looked up
ROWS_PER_PIECE = 20
MAX_WORDS = 4  # of a query, for a suggestion (longer queries get none)
MAX_WORD = 30  # characters of a word compared
MAX_PROGRAMMES = 1000
TRIES = 4  # proposals checked, best first
WORD = re.compile(r"\w+")


def distance(a, b, limit=2):
    """The restricted Damerau–Levenshtein distance of ``a`` and ``b`` (edits: insert, delete,
    substitute, swap two neighbours), or ``limit + 1`` when it is greater than ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2, previous = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


def allowed(word):
    """The edits a word may be away from the query's: one for a short word, two otherwise."""
    return 1 if len(word) <= 4 else 2


def pieces(word):
    """``[(before, after)]``: for each place one or two characters of ``word`` could be
    wrong, the parts on either side, when one has a trigram for the index to look up; at most
    ``PIECES_PER_WORD``, spread over the word. A short word, whose parts are too short in its
    middle, also gets its own variants with two neighbours swapped or one letter left out,
    looked up whole (``(variant, "")``)."""
    found = []
    for gap in (1, 2):
        for i in range(len(word) - gap + 1):
            before, after = word[:i], word[i + gap :]
            if max(len(before), len(after)) >= index.MIN_INDEXED:
                found.append((before, after))
    found = list(dict.fromkeys(found))
    if len(found) > PIECES_PER_WORD:
        step = (len(found) - 1) / (PIECES_PER_WORD - 1)
        found = list(dict.fromkeys(found[round(i * step)] for i in range(PIECES_PER_WORD)))
    if len(word) <= SHORT_WORD:
        swapped = (word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1))
        shorter = (word[:i] + word[i + 1 :] for i in range(len(word)))
        variants = (v for v in (*swapped, *shorter) if len(v) >= index.MIN_INDEXED and v != word)
        found += [(variant, "") for variant in variants]
    return list(dict.fromkeys(found))


def candidate_statement(piece):
    """The titles (as written) of the newest published entries whose folded title holds both
    parts of ``piece``, ``ROWS_PER_PIECE`` at most: through the index. Without the page's
    filters: a word is spelt the same under any."""
    entry = Entry.__table__.c
    published = (entry.status == EntryStatus.PUBLISHED, entry.deleted_dt.is_(None))
    terms = [part for part in piece if part]
    title = (EntryTranslation.title,)
    stmt = index.matching("search_title", terms, title, *published)
    return stmt.limit(ROWS_PER_PIECE)


def _words(texts):
    """``[(spelling, folded)]`` of the words of ``texts``."""
    return [
        (written, fold(written))
        for text in texts
        for written in WORD.findall(unicodedata.normalize("NFC", text))
    ]


def _close_words(word, words, found):
    """Count in ``found`` (folded word → Counter of spellings) each of ``words`` (``_words``)
    close enough to the folded ``word``."""
    limit = allowed(word)
    for written, folded in words:
        if folded != word and distance(word, folded, limit) <= limit:
            found.setdefault(folded, Counter())[written] += 1


@functools.cache
def _territory_names(language):
    """``[(name, folded name)]`` of CLDR's countries in ``language``."""
    territories = Locale.parse(language).territories
    return [(name, fold(name)) for code, name in territories.items() if len(code) == 2]


@functools.cache
def _territory_words(languages):
    return _words(name for language in languages for name, _ in _territory_names(language))


def _registry_words():
    """``_words`` of the countries' names in the hub's languages and of the programmes'
    acronyms and names."""
    rows = db.session.execute(
        select(Programme.acronym, Programme.name, Programme.local_name).limit(MAX_PROGRAMMES)
    )
    programmes = _words(text for row in rows for text in row if text)
    return _territory_words(tuple(current_app.config["LANGUAGES"])) + programmes


def _country_name(phrase):
    """The name of a country (in any of the hub's languages) close to the whole of ``phrase``
    (folded), the closest first; None when none is."""
    limit = allowed(phrase)
    best = None
    for language in current_app.config["LANGUAGES"]:
        for name, folded in _territory_names(language):
            far = distance(phrase, folded, limit)
            if far <= limit and (best is None or far < best[0]):
                best = (far, name)
    return best[1] if best else None


def _candidates(word, registry):
    """``[spelling]`` of the words close to the folded ``word``: the closest first, then the
    titles' words before the registry's, then the most frequent. The titles are looked up
    most selective part first (the longest), and no further once a word one edit away is
    found."""
    in_titles, in_registry = {}, {}
    if len(word) > index.MIN_INDEXED:
        for piece in sorted(pieces(word), key=lambda p: -max(map(len, p))):
            titles = db.session.scalars(candidate_statement(piece)).all()
            _close_words(word, _words(titles), in_titles)
            if any(distance(word, folded, 1) <= 1 for folded in in_titles):
                break
    _close_words(word, registry, in_registry)
    found = {**in_registry, **in_titles}
    ranked = sorted(
        (distance(word, folded), folded not in in_titles, -sum(spellings.values()), folded)
        for folded, spellings in found.items()
    )
    return [found[folded].most_common(1)[0][0] for *_, folded in ranked]


def suggestion(query, finds, known):
    """A query close to ``query`` that finds something (``finds(folded phrase)``, under the
    page's filters), as the reader would write it; None when there is none, or when the words
    are all known (``known(folded word)``: found without the filters; then it is the filters
    that leave nothing, not the spelling)."""
    cleaned = "".join(c if c.isprintable() else " " for c in query or "")
    written = unicodedata.normalize("NFC", cleaned).split()
    folded = [fold(w) for w in written]
    if not folded or len(folded) > MAX_WORDS or any(len(w) > MAX_WORD for w in folded):
        return None
    if len(folded) > 1:  # a country's name of several words, as a whole ("viet nma")
        name = _country_name(" ".join(folded))
        if name and finds(fold(name)):
            return name
    registry = _registry_words()
    options = []
    for spelling, word in zip(written, folded, strict=True):
        if len(word) < index.MIN_INDEXED or known(word):
            options.append([spelling])
        else:
            options.append(_candidates(word, registry)[:2] or [spelling])
    for proposal in itertools.islice(itertools.product(*options), TRIES):
        if list(proposal) != written and finds(" ".join(fold(w) for w in proposal)):
            return " ".join(proposal)
    return None
