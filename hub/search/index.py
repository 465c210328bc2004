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
* PostgreSQL: ``pg_trgm``'s GIN indexes over the same columns, which the planner uses for the
  same ``LIKE`` conditions.

Both answer the same condition, a substring match of every word, so both databases give the
same results. A word of one or two characters has no trigram: a query made only of such words
is answered from the newest entries' titles (``SHORT_WINDOW``), never by reading every text.
"""

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    case,
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
GIN_INDEXES = {f"ix_entry_translation_{column}" for column in TABLES}


def is_index_object(name):
    """Whether ``name`` is one of the index's own tables or indexes, which the models do not
    declare (FTS5's virtual tables and their shadow tables, the GIN indexes)."""
    return name in GIN_INDEXES or any(name.startswith(table) for table in TABLES.values())


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
        checks = [holds(getattr(t, column), w) for w in terms]
        if before is not None:
            checks.append(t.entry_id < before)
        stmt = select(*columns).select_from(t).join(entry, entry.c.id == t.entry_id)
        return stmt.where(*checks, *conditions).order_by(t.entry_id.desc())
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
        for name in sorted(GIN_INDEXES):
            db.session.execute(text(f"REINDEX INDEX {name}"))
    return done


def fold_phrase(query, limit):
    """A query as the index reads it: control characters as spaces, folded, single-spaced,
    at most ``limit`` characters."""
    cleaned = "".join(c if c.isprintable() else " " for c in query or "")
    return " ".join(fold(cleaned).split())[:limit].strip()
