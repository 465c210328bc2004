"""The search index over the entries' folded titles and texts (``entry_translation``'s
``search_title`` and ``search_text``, see ``hub.i18n.fold``), made by migration 0028 and kept in
step by the database itself, in the writing transaction:

* SQLite: contentless FTS5 tables with the trigram tokenizer (``entry_search_title``,
  ``entry_search_text``), filled by triggers on ``entry_translation``. A row's key is
  ``entry_id * 4 +`` its language's slot, so the index hands back matches newest entry first
  and a search can stop at the page it needs. The index keeps each trigram's positions
  (``detail=full``, migration 0030): a word is looked up as a phrase of consecutive trigrams, and
  the index finds exactly the rows that hold it, nothing to check afterwards. A word of one or
  two characters is checked on the rows (``instr``).
* PostgreSQL: a word of the texts is looked up in the vocabulary of their words first
  (``search_vocabulary``, migration 0031), then the texts holding one of the words found are
  read through a GIN over their words' hashes (``_word_checks``); a word found in too many
  words of the vocabulary, and the titles, through ``pg_trgm``'s GIN indexes with ``LIKE``. A
  GIN finds every match at once, unordered: statements are run over windows of the newest
  entries (``newest``).

Both answer the same condition, a substring match of every word, so both databases give the
same results. A word of one or two characters has no trigram: a query made only of such words
is answered from the newest entries' titles (``SHORT_WINDOW``), never by reading every text.
"""

import math
from contextlib import contextmanager

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    case,
    false,
    func,
    literal_column,
    select,
    table,
    text,
    tuple_,
)
from sqlalchemy import column as sa_column
from sqlalchemy.sql.util import find_tables

from hub.extensions import db
from hub.i18n import fold
from hub.publishing.models import Entry, EntryTranslation

MIN_INDEXED = 3  # characters: a trigram
SLOTS = {"vi": 1, "en": 2, "ja": 3}  # as in migration 0028's triggers
TABLES = {"search_title": "entry_search_title", "search_text": "entry_search_text"}
GIN_INDEXES = {f"ix_entry_translation_{column}" for column in (*TABLES, "search_words")}


def is_index_object(name):
    """Whether ``name`` is one of the index's own tables or indexes, which the models do not
    declare (FTS5's virtual tables and their shadow tables, the GIN indexes, PostgreSQL's
    vocabulary)."""
    return (
        name in GIN_INDEXES
        or name == "search_vocabulary"
        or any(name.startswith(table) for table in TABLES.values())
    )


def words(phrase):
    """The distinct words of a folded ``phrase``, in order."""
    return list(dict.fromkeys(phrase.split()))


def like_pattern(word, before="%", after="%"):
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{before}{escaped}{after}"


def fts_query(indexed):
    """The FTS5 query of the rows holding every one of the ``indexed`` words: each a phrase, which
    the trigram tokenizer makes a sequence of consecutive trigrams, so a substring match."""
    return " AND ".join('"' + word.replace('"', '""') + '"' for word in indexed)


def _sqlite():
    return db.session.get_bind().dialect.name == "sqlite"


def holds(expression, needle):
    """``expression`` (text) holds ``needle``: ``instr`` on SQLite (its ``LIKE`` steps through
    non-ASCII text a character at a time, ten times slower), ``LIKE`` on PostgreSQL (which its
    trigram indexes serve). The texts are folded, so both are exact.

    On PostgreSQL the pattern is written into the statement, not sent as a parameter: psycopg
    prepares a statement it has sent five times, and PostgreSQL may then plan it once for any
    pattern, which reads the tables in the wrong order for a rare word (a search's facets went
    from 11 to 60–100 ms by the third run)."""
    if _sqlite():
        return func.instr(expression, needle) > 0
    pattern = like_pattern(needle).replace("'", "''")
    return expression.like(literal_column(f"'{pattern}'", String), escape="\\")


def indexed_words(terms):
    return [w for w in terms if len(w) >= MIN_INDEXED]


def matching(column, terms, columns, *conditions, before=None):
    """``select(*columns)`` of the translations whose ``column`` (``"search_title"`` or
    ``"search_text"``) holds every one of ``terms``, joined to their entry, under
    ``conditions``, newest entry first (a translation row each), below the entry id ``before``
    when given. At least one of ``terms`` must be ``indexed_words``'s."""
    t = EntryTranslation
    entry = Entry.__table__
    if not _sqlite():
        # Read over windows of entry ids (``newest``) only through indexes that hold the ids:
        # the texts' words' hashes. A title's trigram index, or the texts' for a word found in
        # too many words of the vocabulary, would read all its matches again in each window.
        if column == "search_text":
            checks, windows = [], True
            for word in terms:
                found, bounded = _word_checks(word)
                checks += found
                windows = windows and bounded
        else:  # titles are short: their trigrams find them well enough
            checks = [holds(getattr(t, column), w) for w in terms]
            windows = False
        if before is not None:
            checks.append(t.entry_id < before)
        stmt = select(*columns).select_from(t).join(entry, entry.c.id == t.entry_id)
        stmt = stmt.where(*checks, *conditions).order_by(t.entry_id.desc())
        return stmt.execution_options(hub_windows=windows)
    name = TABLES[column]
    # The index finds the indexed words exactly (phrases); the shorter ones are checked.
    checks = [holds(getattr(t, column), w) for w in terms if len(w) < MIN_INDEXED]
    fts = table(name, sa_column("rowid", Integer))
    key = fts.c.rowid
    stmt = select(*columns).select_from(fts)
    reads_translation = checks or any(
        t.__table__ in find_tables(c, check_columns=True) for c in conditions
    )
    if reads_translation or not all(c is t.entry_id or _of_entry(c) for c in columns):
        slot = case(*((key % 4 == n, language) for language, n in SLOTS.items()), else_=t.language)
        stmt = stmt.join(t, and_(t.entry_id == key // 4, t.language == slot))
        stmt = stmt.join(entry, entry.c.id == t.entry_id)
    else:
        # Nothing to read in the translation (its entry's id is in the key): the entry only.
        entry_id = (key // 4).label("entry_id")
        stmt = select(*(entry_id if c is t.entry_id else c for c in columns)).select_from(fts)
        stmt = stmt.join(entry, entry.c.id == key // 4)
    if before is not None:  # on the index's own key, so that it starts there
        checks.append(key < before * 4)
    return stmt.where(
        text(f"{name} MATCH :match_{column}").bindparams(
            **{f"match_{column}": fts_query(indexed_words(terms))}
        ),
        *checks,
        *conditions,
    ).order_by(key.desc())


VOCABULARY_CAP = 64  # words of the vocabulary a query word is looked up by, at most
VOCABULARY = table("search_vocabulary", sa_column("word", String))


def vocabulary_hashes(word):
    """PostgreSQL: the hashes of the words of the texts that hold ``word`` (``search_vocabulary``,
    migration 0031), or None when more than ``VOCABULARY_CAP`` do."""
    # Planned without the limit (MATERIALIZED), and read as far as the limit: with it, and a
    # vocabulary whose statistics are not yet made (a first sync), PostgreSQL counted on
    # finding the words early in a read of the whole table (120 ms instead of 1).
    words = (
        select(VOCABULARY.c.word)
        .where(holds(VOCABULARY.c.word, word))
        .cte("words")
        .prefix_with("MATERIALIZED")
    )
    found = db.session.scalars(select(func.hashtext(words.c.word)).limit(VOCABULARY_CAP + 1)).all()
    return None if len(found) > VOCABULARY_CAP else sorted(set(found))


def _word_checks(word):
    """PostgreSQL: ``(conditions, bounded)``: the conditions of the translations whose texts
    hold ``word``, and whether the index they are read through holds the entry id (so that a
    window of ids bounds its read, ``newest``). A word found in the vocabulary
    (``vocabulary_hashes``) finds exactly the texts holding one of its words, through the GIN
    over their words' hashes; the word itself is then checked on those rows (``strpos``, which
    no index serves, so that the planner reads the hashes' index), also against another word
    of the same hash. A word found in too many words of the vocabulary: ``LIKE`` through the
    trigram index (``holds``), which holds no id. A word of one or two characters: ``LIKE``
    on the rows the other words find. A word in no word of the vocabulary: nothing."""
    texts = EntryTranslation.search_text
    if len(word) < MIN_INDEXED:
        return [holds(texts, word)], True
    hashes = vocabulary_hashes(word)
    if hashes is None:
        return [holds(texts, word)], False
    if not hashes:  # in no text: nothing to find, in one statement rather than in windows
        return [false()], False
    listed = ",".join(map(str, hashes))
    # Written into the statement, as ``holds``'s patterns are (a generic plan would not see
    # how rare the words are).
    in_words = func.search_word_hashes(texts).op("&&")(literal_column(f"'{{{listed}}}'::integer[]"))
    return [in_words, func.strpos(texts, word) > 0], True


# PostgreSQL: the newest ``FIRST_WINDOW`` entries are read first; each next window is as wide as
# the entries still wanted take at the rate the windows before found them, ``MARGIN`` times (or
# ``GROWTH`` times the last when they found none), and the rest is read in one when that is
# more than half of it.
FIRST_WINDOW = 5_000
GROWTH = 8
MARGIN = 1.5


@contextmanager
def newest(stmt, limit):
    """The first ``limit`` rows of ``stmt``, a ``matching`` statement whose first column is the
    entry id, as the database hands them over, for a loop that may stop early (in a ``with``
    block, which closes the cursor). On PostgreSQL, in one statement when ``matching`` read a
    word through a trigram index (a title's, or the texts' for a word found in too many words
    of the vocabulary), which holds no entry id: each window would read all its matches again.

    SQLite reads its index newest first and computes no row after the last one read.
    PostgreSQL's GIN indexes hand back every matching row at once, unordered, and each is read
    from the table before the newest can be chosen: "tac" is in 42 000 texts of the bench's
    100 000 entries, and a search's facets, which need the newest 1 001, read them all
    (200 ms). So the statement is run over windows of the newest entries (``_windows``), each
    the GIN's matches intersected with the entry ids' range, until ``limit`` rows are found."""
    if _sqlite():
        with db.session.connection().execute(stmt.limit(limit)) as result:
            yield result
        return
    if stmt.get_execution_options().get("hub_windows", True):
        yield _windows(stmt, limit)
    else:
        yield db.session.execute(stmt.limit(limit)).all()


def _windows(stmt, limit):
    """``stmt``'s rows, newest entry first, window after window of entry ids: the first
    ``FIRST_WINDOW`` wide, the next sized by what the first found. A common word finds the
    entries it needs in a window or two of a few thousand ids ("ket", in a quarter of the
    texts: 9 000 ids read instead of 50 000), a rare one reaches the rest of the ids by the
    second or third statement."""
    top = db.session.scalar(select(func.max(Entry.id))) or 0
    translation, entry = EntryTranslation.entry_id, Entry.__table__.c.id
    wanted = -(-limit // len(SLOTS))  # entries: a translation row each, one a language at most
    upper, size, seen, spanned = None, FIRST_WINDOW, set(), 0
    while True:
        start = top if upper is None else upper
        lower = start - size if size <= start // 2 else None
        window = stmt
        # On both tables' keys (PostgreSQL does not carry a range across a join); the
        # translation's is in the hashes' GIN, which reads only the window's part of each
        # word's entries. The last window reads the words' every match instead (a range
        # over most of the ids costs the GIN more than the few matches it leaves for it).
        if lower is not None:
            window = window.where(translation > lower, entry > lower)
        if upper is not None:
            window = window.where(entry <= upper)
            if lower is not None:
                window = window.where(translation <= upper)
        rows = db.session.execute(window.limit(limit)).all()
        yield from rows
        limit -= len(rows)
        if limit <= 0 or lower is None:
            return
        seen.update(row[0] for row in rows)
        spanned += start - lower
        upper = lower
        missing = wanted - len(seen)
        if seen and missing > 0:
            size = max(1, math.ceil(MARGIN * missing * spanned / len(seen)))
        else:
            size *= GROWTH


def _of_entry(column):
    return getattr(column, "table", None) is Entry.__table__


def rebuild(batch=2000):
    """Fold every translation's title and texts again, store the folded copies that changed,
    and rebuild the index from them (``hub reindex``): after a change of the folding, a restore
    of the database by other means than the hub's, or to repair the index. Returns the number
    of translations."""
    from hub.publishing.services import search_values

    if _sqlite():  # first, so that the triggers find in it what they take out
        slot = " ".join(f"WHEN '{language}' THEN {n}" for language, n in SLOTS.items())
        for column, name in TABLES.items():
            db.session.execute(text(f"INSERT INTO {name}({name}) VALUES ('delete-all')"))
            db.session.execute(
                text(
                    f"INSERT INTO {name}(rowid, value) SELECT entry_id * 4 + "
                    f"(CASE language {slot} ELSE 0 END), {column} FROM entry_translation"
                )
            )
    table = EntryTranslation.__table__
    t = table.c
    store = (
        table.update()
        .where(t.entry_id == bindparam("key_entry"), t.language == bindparam("key_language"))
        .values(search_title=bindparam("search_title"), search_text=bindparam("search_text"))
    )
    columns = (t.entry_id, t.language, t.title, t.summary, t.body, t.lessons)
    done, last = 0, None
    while True:
        stmt = select(*columns, t.search_title, t.search_text).order_by(t.entry_id, t.language)
        if last is not None:
            stmt = stmt.where(tuple_(t.entry_id, t.language) > tuple_(*last))
        rows = db.session.execute(stmt.limit(batch)).all()
        if not rows:
            break
        changed = []
        for row in rows:
            values = search_values(row._asdict())
            if (values["search_title"], values["search_text"]) != row[-2:]:
                changed.append({"key_entry": row.entry_id, "key_language": row.language, **values})
        if changed:
            db.session.execute(store, changed)
        done += len(rows)
        last = (rows[-1].entry_id, rows[-1].language)
    if not _sqlite():
        # The vocabulary anew, without the words no text holds any more.
        db.session.execute(text("DELETE FROM search_vocabulary"))
        db.session.execute(
            text(
                "INSERT INTO search_vocabulary (word) SELECT DISTINCT w FROM entry_translation, "
                "unnest(string_to_array(search_text, ' ')) AS w WHERE w <> '' "
                "ON CONFLICT (md5(word)) DO NOTHING"
            )
        )
        for name in sorted(GIN_INDEXES):
            db.session.execute(text(f"REINDEX INDEX {name}"))
    return done


def fold_phrase(query, limit):
    """A query as the index reads it: control characters as spaces, folded, single-spaced,
    at most ``limit`` characters."""
    cleaned = "".join(c if c.isprintable() else " " for c in query or "")
    return " ".join(fold(cleaned).split())[:limit].strip()
