"""The schema exists only through the Alembic migrations, identically on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from hub.db import Base, downgrade, make_engine, upgrade
from hub.extensions import db
from hub.search import index
from tests.support import fresh_database, make_test_app

TABLES = {"country", "membership_event", "programme"}


def not_the_search_index(obj, name, type_, reflected, compare_to):
    # The index's FTS5 tables and GIN indexes are the database's own, not the models'.
    return not (reflected and index.is_index_object(name))


@pytest.fixture
def empty_engine(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def test_migrations_build_the_schema_from_empty_and_match_the_models(empty_engine):
    assert inspect(empty_engine).get_table_names() == []
    upgrade(empty_engine)
    assert set(inspect(empty_engine).get_table_names()) >= TABLES
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": not_the_search_index}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_migrations_downgrade_to_empty_and_upgrade_again(empty_engine):
    upgrade(empty_engine)
    downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_engine)
    assert set(inspect(empty_engine).get_table_names()) >= TABLES


def test_migrate_command_upgrades_the_configured_database(backend, tmp_path):
    with fresh_database(backend, tmp_path) as url:
        app = make_test_app(url)
        result = app.test_cli_runner().invoke(args=["hub", "migrate"])
        assert result.exit_code == 0, result.output
        engine = make_engine(url)
        try:
            assert set(inspect(engine).get_table_names()) >= TABLES
        finally:
            engine.dispose()
            db.binding(app).engine.dispose()
