"""What changed between two versions of a text, word by word, for a two-column table that needs
no JavaScript: the old version on the left with its removed words in ``<del>``, the new one on
the right with its added words in ``<ins>``.

Lines are compared first; the lines that changed are then compared token by token. A token is a
word (letters, digits and their combining marks: Vietnamese as written), a run of spaces, a
punctuation mark, or one character of a script written without spaces (Chinese, Japanese), so
that a changed word in a Japanese sentence is one or two characters, not the whole sentence.
Long unchanged stretches are shortened around the changes. Every piece of text is escaped.
"""

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from markupsafe import Markup, escape

_CJK = (
    "\u2e80-\u2fdf"  # CJK radicals, Kangxi radicals
    "\u3005-\u3007\u3021-\u3029\u3031-\u3035\u303b\u303c"  # 々〆〇, iteration marks
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3100-\u312f\u3190-\u31ff"  # bopomofo, kanbun, katakana extensions
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    "\uff66-\uff9f"  # half-width katakana
    "\U00020000-\U0003134f"  # CJK ideographs beyond the BMP
)
TOKEN = re.compile(
    rf"[{_CJK}]"  # one character of a script without spaces
    rf"|(?:(?![{_CJK}])[\w\u0300-\u036f])+"  # a word, with any combining marks
    r"|\s+"  # a run of spaces (a line break is a token of its own, see _tokens)
    r"|[^\w\s]",  # a punctuation mark or a symbol
)
CONTEXT_LINES = 1  # unchanged lines kept on each side of a change
CONTEXT_TOKENS = 12  # unchanged tokens kept on each side of a change within a line
LONG_RUN = 2 * CONTEXT_TOKENS + 8  # an unchanged stretch longer than this is shortened
MAX_TOKENS = 4_000  # beyond this, changed lines are compared one pair at a time
GAP = Markup('<span class="diff-gap">…</span>')
NOTHING = Markup()


@dataclass(frozen=True)
class Row:
    """One row of the two-column table. ``kind``: "same" (an unchanged line, shown on both
    sides), "change" (``old`` and ``new`` marked up; either may be empty), or "skip"
    (``skipped`` unchanged lines left out)."""

    kind: str
    old: Markup = NOTHING
    new: Markup = NOTHING
    skipped: int = 0


@dataclass(frozen=True)
class FieldChanges:
    name: str
    rows: list


def tokens(text):
    """The text's tokens; joined together they are the text again."""
    return TOKEN.findall(text)


def _tokens(text):
    return [t for part in re.split(r"(\n)", text) if part for t in (tokens(part) or [part])]


def _markup(parts, tag=None):
    """Escaped text, line breaks as ``<br>``, wrapped in ``tag`` (``del`` or ``ins``)."""
    html = Markup("<br>").join(escape(line) for line in "".join(parts).split("\n"))
    return Markup(f"<{tag}>{html}</{tag}>") if tag and html else html


def _shorten(parts, keep_start, keep_end):
    """An unchanged stretch, shortened in the middle if it is long: ``keep_start`` and
    ``keep_end`` say whether a change comes before (its start is kept) and after (its end)."""
    if len(parts) <= LONG_RUN:
        return _markup(parts)
    head = parts[:CONTEXT_TOKENS] if keep_start else []
    tail = parts[-CONTEXT_TOKENS:] if keep_end else []
    return _markup(head) + GAP + _markup(tail)


def _word_diff(old, new):
    """``(old, new)`` marked up, token by token."""
    a, b = _tokens(old), _tokens(new)
    if len(a) > MAX_TOKENS or len(b) > MAX_TOKENS:
        return _markup(a, "del"), _markup(b, "ins")
    pieces = _merged(a, b, SequenceMatcher(None, a, b, autojunk=False).get_opcodes())
    left, right = Markup(), Markup()
    for index, (same, old_part, new_part) in enumerate(pieces):
        if same:
            kept = _shorten(old_part, index > 0, index < len(pieces) - 1)
            left, right = left + kept, right + kept
        else:
            left += _markup(old_part, "del")
            right += _markup(new_part, "ins")
    return left, right


def _merged(a, b, opcodes):
    """The opcodes as ``(same, old tokens, new tokens)``, a space alone between two changes
    taken into them: "<del>ưu đãi</del>", not "<del>ưu</del> <del>đãi</del>"."""
    pieces = []
    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        same = op == "equal"
        between = 0 < index < len(opcodes) - 1
        if same and between and "".join(a[i1:i2]).isspace() and "\n" not in a[i1:i2]:
            same = False
        if pieces and not same and not pieces[-1][0]:
            _, old_part, new_part = pieces.pop()
            pieces.append((False, old_part + a[i1:i2], new_part + b[j1:j2]))
        else:
            pieces.append((same, a[i1:i2], b[j1:j2]))
    return pieces


def _changed_lines(old_lines, new_lines):
    if sum(map(len, old_lines)) + sum(map(len, new_lines)) <= MAX_TOKENS or not (
        old_lines and new_lines
    ):
        return [Row("change", *_word_diff("\n".join(old_lines), "\n".join(new_lines)))]
    rows = []
    for index in range(max(len(old_lines), len(new_lines))):
        old = old_lines[index] if index < len(old_lines) else ""
        new = new_lines[index] if index < len(new_lines) else ""
        rows.append(Row("change", *_word_diff(old, new)))
    return rows


def _same_lines(lines, first, last):
    """Unchanged lines, shortened to their context: ``first`` and ``last`` say whether they
    open or close the text (no change before, or after, them)."""
    keep_before = 0 if first else CONTEXT_LINES
    keep_after = 0 if last else CONTEXT_LINES
    if len(lines) <= keep_before + keep_after + 1:
        return [Row("same", _markup([line]), _markup([line])) for line in lines]
    rows = [Row("same", _markup([line]), _markup([line])) for line in lines[:keep_before]]
    rows.append(Row("skip", skipped=len(lines) - keep_before - keep_after))
    tail = lines[len(lines) - keep_after :] if keep_after else []
    rows += [Row("same", _markup([line]), _markup([line])) for line in tail]
    return rows


def text_changes(old, new):
    """The rows showing how ``old`` became ``new`` (an empty list when they are equal)."""
    old, new = (old or "").replace("\r\n", "\n"), (new or "").replace("\r\n", "\n")
    if old == new:
        return []
    old_lines, new_lines = old.split("\n"), new.split("\n")
    opcodes = SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes()
    rows = []
    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        if op == "equal":
            rows += _same_lines(old_lines[i1:i2], index == 0, index == len(opcodes) - 1)
        else:
            rows += _changed_lines(old_lines[i1:i2], new_lines[j1:j2])
    return rows


def changes(old, new, names):
    """For each of the fields ``names`` that differs between the mappings ``old`` and ``new``,
    its ``FieldChanges``; unchanged fields are left out."""
    result = []
    for name in names:
        rows = text_changes((old or {}).get(name), (new or {}).get(name))
        if rows:
            result.append(FieldChanges(name, rows))
    return result
