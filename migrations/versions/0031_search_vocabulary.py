"""PostgreSQL looks a search word up in a vocabulary of the texts' words before the texts.

``pg_trgm``'s GIN hands back every row holding a word's trigrams, anywhere in its text and in
any order, and each must be read from the wide ``entry_translation`` heap and checked: "dang"
found 1 357 rows of the bench's 100 000 entries after reading 30 000 heap pages (140–165 ms).
A word is now first matched against ``search_vocabulary``, the distinct words of every folded
text (``search_text``, single-spaced), through a trigram index on that small table; the rows
holding one of the words found are then read from a GIN over the hashes of each text's words
(``search_word_hashes``), exactly those rows: "dang" took 25 ms cold. A word found in too
many words of the vocabulary (a Japanese "word" is a whole sentence) is still looked for with
``LIKE`` through the trigram indexes, which stay (``hub.search.index``).

The vocabulary is kept by statement triggers on ``entry_translation`` (inserts and updates,
the statement's new rows at once); a word whose last text is gone stays until ``hub reindex``,
and finds nothing. Words are unique by their md5: a Japanese sentence can be longer than a
B-tree entry may be. Nothing changes on SQLite, whose FTS5 index finds words exactly.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05 16:00:00
"""

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

# Frozen here (a migration stands alone); hub.search.index writes the same expressions.
HASHES = """
CREATE FUNCTION {schema}.search_word_hashes(text) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT ARRAY(SELECT hashtext(w) FROM unnest(string_to_array($1, ' ')) AS w) $$
"""
WORDS = (
    "SELECT DISTINCT w FROM {rows}, unnest(string_to_array({rows}.search_text, ' ')) AS w "
    "WHERE w <> ''"
)
# Inserted in the order of the unique key, so that two writers never wait on each other.
ADD = (
    "INSERT INTO {schema}.search_vocabulary (word) SELECT w FROM (" + WORDS + ") AS words "
    "ORDER BY md5(w) ON CONFLICT (md5(word)) DO NOTHING"
)
TRIGGER_FUNCTION = """
CREATE FUNCTION {schema}.search_vocabulary_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {add};
  RETURN NULL;
END $$
"""


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return
    schema = '"{}"'.format(bind.exec_driver_sql("SELECT current_schema()").scalar())
    trgm = bind.exec_driver_sql(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
    ).scalar()
    # btree_gin puts the entry id in the same GIN, so that a window of the newest entries
    # bounds the index's own read (a planner's estimate of several words' rows is too low for
    # it to combine two indexes). The database's, in one schema, as 0028's pg_trgm.
    bind.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('hub: btree_gin'))")
    bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS btree_gin WITH SCHEMA public")
    op.execute(HASHES.format(schema=schema))
    op.execute(
        "CREATE INDEX ix_entry_translation_search_words ON entry_translation "
        f"USING gin ({schema}.search_word_hashes(search_text), entry_id)"
    )
    op.execute("CREATE TABLE search_vocabulary (word text NOT NULL)")
    op.execute("CREATE UNIQUE INDEX ix_search_vocabulary_key ON search_vocabulary (md5(word))")
    op.execute(
        "CREATE INDEX ix_search_vocabulary_word ON search_vocabulary "
        f"USING gin (word {trgm}.gin_trgm_ops)"
    )
    add = ADD.format(schema=schema, rows="new_rows")
    op.execute(TRIGGER_FUNCTION.format(schema=schema, add=add))
    for event in ("insert", "update"):
        op.execute(
            f"CREATE TRIGGER search_vocabulary_{event} AFTER {event.upper()} ON entry_translation "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION {schema}.search_vocabulary_add()"
        )
    op.execute(ADD.format(schema=schema, rows="entry_translation"))
    op.execute("ANALYZE search_vocabulary")
    op.execute("ANALYZE entry_translation")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        return
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS search_vocabulary_{event} ON entry_translation")
    op.execute("DROP FUNCTION IF EXISTS search_vocabulary_add()")
    op.execute("DROP TABLE IF EXISTS search_vocabulary")
    op.execute("DROP INDEX IF EXISTS ix_entry_translation_search_words")
    op.execute("DROP FUNCTION IF EXISTS search_word_hashes(text)")
