"""Alembic environment: runs on the connection handed in by ``hub.db.upgrade`` (the app's
engine, from ``HUB_DATABASE_URL``); ``flask --app wsgi hub migrate`` is the command to use."""

from alembic import context

import hub.models  # noqa: F401  (registers every table on the metadata)
from hub.db import Base, UTCDateTime
from hub.search.index import is_index_object

config = context.config
target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):
    # Migrations stand alone: the app's column types are written as the plain types they wrap.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_object(obj, name, type_, reflected, compare_to):
    # The search index's FTS5 tables and GIN indexes are made by migration 0028, not the models.
    return not (reflected and is_index_object(name))


def run_migrations_online():
    connection = config.attributes.get("connection")
    if connection is None:
        raise SystemExit("Run migrations with: flask --app wsgi hub migrate")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite alters tables by copying them; batch mode does that for us.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run them online.")
run_migrations_online()
