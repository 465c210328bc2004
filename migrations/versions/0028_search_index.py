"""The search index: the entries' folded titles and texts (``entry_translation.search_title``,
``search_text``) indexed by trigrams, so that a search reads the index instead of every text.

* SQLite: two contentless FTS5 tables with the trigram tokenizer, ``entry_search_title`` and
  ``entry_search_text``, keyed by ``entry_id * 4 + `` the language's slot (vi 1, en 2, ja 3), so
  that the index hands back matches newest entry first. Triggers on ``entry_translation`` keep
  them in step inside the writing transaction, whatever writes (the app, a sync, a restore).
  ``detail=none``: the index says which rows hold every trigram of a word; the query checks the
  word itself on those rows (``hub.search.index``).
* PostgreSQL: ``pg_trgm``'s GIN indexes over the same two columns.

``hub reindex`` rebuilds both from the texts.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 06:00:00
"""

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

# Frozen here (a migration stands alone); hub.search.index holds the same definitions.
SLOT = "(CASE {row}.language WHEN 'vi' THEN 1 WHEN 'en' THEN 2 WHEN 'ja' THEN 3 ELSE 0 END)"
KEY = "{row}.entry_id * 4 + " + SLOT
TABLES = {"entry_search_title": "search_title", "entry_search_text": "search_text"}


def _sqlite_upgrade():
    for table, column in TABLES.items():
        op.execute(
            f"CREATE VIRTUAL TABLE {table} USING fts5(value, content='', columnsize=0, "
            "detail=none, tokenize='trigram case_sensitive 1')"
        )
        new, old = KEY.format(row="new"), KEY.format(row="old")
        insert = f"INSERT INTO {table}(rowid, value) VALUES ({new}, new.{column});"
        delete = f"INSERT INTO {table}({table}, rowid, value) VALUES ('delete', {old}, old.{column});"
        op.execute(
            f"CREATE TRIGGER {table}_insert AFTER INSERT ON entry_translation BEGIN {insert} END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_delete AFTER DELETE ON entry_translation BEGIN {delete} END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_update AFTER UPDATE OF {column}, entry_id, language "
            f"ON entry_translation WHEN old.{column} IS NOT new.{column} "
            "OR old.entry_id IS NOT new.entry_id OR old.language IS NOT new.language "
            f"BEGIN {delete} {insert} END"
        )
        op.execute(
            f"INSERT INTO {table}(rowid, value) "
            f"SELECT {KEY.format(row='entry_translation')}, {column} FROM entry_translation"
        )


def _sqlite_downgrade():
    for table in TABLES:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_{event}")
        op.execute(f"DROP TABLE IF EXISTS {table}")


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_upgrade()
        return
    bind = op.get_bind()
    # The extension is the database's, in one schema: public unless it is there already
    # elsewhere (never a schema of the hub's own tables, which may be dropped with them).
    # Two databases (schemas) migrated at once would both create it: one at a time.
    bind.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('hub: pg_trgm'))")
    bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    schema = bind.exec_driver_sql(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
    ).scalar()
    for column in TABLES.values():
        op.execute(
            f"CREATE INDEX ix_entry_translation_{column} ON entry_translation "
            f"USING gin ({column} {schema}.gin_trgm_ops)"
        )


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_downgrade()
        return
    for column in TABLES.values():
        op.execute(f"DROP INDEX IF EXISTS ix_entry_translation_{column}")
