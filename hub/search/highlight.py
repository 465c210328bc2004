"""What a search result shows of an entry: its title and a short extract of its texts in the
language the page shows it in, with the query's words marked (``<mark>``).

Search matches folded text (``hub.i18n.fold``: compatibility decomposition, combining marks
removed, case folded), but the marks go into the original text: each original character is
folded on its own, and every folded character remembers the original character it came from, so
a match in the folded text is a range of original characters ("banh" marks "Bánh", "ss" marks
"ß", and a letter written with combining marks is marked whole). Folding character by character
gives the same text as folding the whole (the marks it removes are the only characters whose
order the decomposition changes). Everything is escaped; a mark never falls inside markup,
because the extract is plain text (a Markdown body's words, without its markup) escaped piece
by piece around the marks.
"""

import functools
import re

from markupsafe import Markup, escape

from hub.i18n import fold
from hub.publishing.markdown import render_markdown

EXTRACT = 200  # characters of an extract, about two lines
LEAD = 60  # characters of an extract before its first mark, when it does not start the text
BLOCK = re.compile(r"\n\s*\n")  # a Markdown text's blocks (paragraphs, lists, headings)


@functools.lru_cache(maxsize=4096)
def _fold_char(char):
    return fold(char)


def folded_with_origins(text):
    """``(folded, origins)``: ``text`` folded, and for each folded character the index of the
    character of ``text`` it comes from."""
    pieces = list(map(_fold_char, text))
    if set(map(len, pieces)) <= {1}:  # one folded character each (most texts): no list
        return "".join(pieces), range(len(text))
    origins = []
    for i, folded in enumerate(pieces):
        origins.extend([i] * len(folded))
    return "".join(pieces), origins


def spans(text, terms):
    """The ranges ``[(start, end)]`` of ``text`` (original characters, in order, merged where
    they touch) whose folded form is one of the folded ``terms``."""
    folded, origins = folded_with_origins(text)
    found = []
    for term in terms:
        if not term:
            continue
        at = folded.find(term)
        while at >= 0:
            end = origins[at + len(term) - 1] + 1
            while end < len(text) and not _fold_char(text[end]):  # combining marks that follow
                end += 1
            found.append((origins[at], end))
            at = folded.find(term, at + 1)
    merged = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def marked(text, terms, ranges=None):
    """``text`` escaped, with the ranges holding ``terms`` (or the given ``ranges``) in
    ``<mark>``."""
    ranges = spans(text, terms) if ranges is None else ranges
    out, last = [], 0
    for start, end in ranges:
        out.append(escape(text[last:start]))
        out.append(Markup("<mark>%s</mark>") % text[start:end])
        last = end
    out.append(escape(text[last:]))
    return Markup("").join(out)


@functools.lru_cache(maxsize=2048)
def _plain(text, markdown):
    """A text's words as one line: a Markdown text without its markup. Kept for the texts seen
    last: the newest entries come back in search after search."""
    if markdown:
        text = Markup(render_markdown(text)).striptags()
    return " ".join(text.split())


def _blocks(translation):
    """``(text, is_markdown)`` of the translation's texts block by block, in reading order:
    its summary, then its body's and its lessons' blocks."""
    if translation.summary:
        yield translation.summary, False
    for part in (translation.body, translation.lessons):
        for block in BLOCK.split(part or ""):
            if block.strip():
                yield block, True


def _window(text, start):
    """``(from, to)`` of an extract of ``text`` around the character ``start``, cut at spaces
    where the text has them (Japanese has none: there, at a character)."""
    if len(text) <= EXTRACT:
        return 0, len(text)
    begin = max(0, min(start - LEAD, len(text) - EXTRACT))
    end = begin + EXTRACT
    if begin > 0:
        space = text.find(" ", begin, start)
        if 0 <= space < begin + LEAD // 2:
            begin = space + 1
    if end < len(text):
        space = text.rfind(" ", max(begin, end - LEAD // 2), end)
        if space > start:
            end = space
    return begin, end


def extract(translation, terms):
    """A short extract of ``translation``'s texts as markup: the part of its summary, body or
    lessons that holds the most of ``terms`` (the first such), around its first match, with
    the matches marked; the start of its summary (or body) when none holds any; None when it
    has no text but its title."""
    best, best_found = None, 0
    for block, markdown in _blocks(translation):
        folded = fold(block)
        found = sum(1 for term in terms if term in folded)
        if found > best_found:
            plain = _plain(block, markdown)
            ranges = spans(plain, terms)
            if ranges:  # not only in the markup (a link's address)
                best, best_found = (plain, ranges), found
                if found == len(terms):
                    break
    if best is None:
        first = next(_blocks(translation), None)
        if first is None:
            return None
        best = (_plain(*first), [])
    plain, ranges = best
    begin, end = _window(plain, ranges[0][0] if ranges else 0)
    inside = [
        (max(s, begin) - begin, min(e, end) - begin) for s, e in ranges if s < end and e > begin
    ]
    text = marked(plain[begin:end], (), inside)
    return Markup("").join(
        (
            Markup("…") if begin > 0 else Markup(""),
            text,
            Markup("…") if end < len(plain) else Markup(""),
        )
    )
