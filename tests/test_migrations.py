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


def _revisions(count):
    """The newest ``count`` revisions, newest first, and the one before them."""
    from alembic.script import ScriptDirectory

    from hub.db import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    newest = [rev.revision for rev in script.walk_revisions()][: count + 1]
    return newest[:count], newest[count]


def test_the_last_three_migrations_go_down_and_up_again_on_a_hub_with_data(backend, tmp_path):
    """What an operator does when a release must be rolled back: the data the older schema
    knows survives the way down and the way back up."""
    from sqlalchemy import func, select

    from hub.publishing.demo import seed_demo
    from hub.publishing.models import Entry
    from hub.registry.models import Country
    from hub.registry.seeding import seed_registry

    last_three, before = _revisions(3)
    assert len(last_three) == 3
    with fresh_database(backend, tmp_path) as url:
        app = make_test_app(url)
        try:
            with app.test_request_context("/"):
                upgrade(db.engine)
                seed_registry()
                seed_demo()

                def counts():
                    db.session.rollback()
                    return (
                        db.session.scalar(select(func.count()).select_from(Country)),
                        db.session.scalar(select(func.count()).select_from(Entry)),
                    )

                kept = counts()
                db.session.close()
                for step, revision in enumerate([*last_three[1:], before]):
                    downgrade(db.engine, revision)
                    with db.engine.connect() as connection:
                        context = MigrationContext.configure(connection)
                        assert context.get_current_revision() == revision, step
                upgrade(db.engine)
                with db.engine.connect() as connection:
                    context = MigrationContext.configure(
                        connection,
                        opts={"compare_type": True, "include_object": not_the_search_index},
                    )
                    assert context.get_current_revision() == last_three[0]
                    assert compare_metadata(context, Base.metadata) == []
                assert counts() == kept
        finally:
            db.binding(app).engine.dispose()


def test_processes_starting_at_once_migrate_one_after_the_other(backend, tmp_path):
    """Several servers and the scheduler starting together each run ``hub migrate``: under
    the migration lock, one migrates and the others find the schema current."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.support import TEST_SECRET_KEY

    root = Path(__file__).resolve().parent.parent
    with fresh_database(backend, tmp_path) as url:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
            "HUB_DATABASE_URL": url,
            "HUB_SECRET_KEY": TEST_SECRET_KEY,
            "HUB_INSTANCE_PATH": str(tmp_path),
        }
        command = [str(Path(sys.executable).parent / "hub"), "migrate"]
        processes = [
            subprocess.Popen(command, env=env, cwd=root, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
            for _ in range(3)
        ]  # fmt: skip
        outputs = [process.communicate(timeout=300)[0] for process in processes]
        assert [process.returncode for process in processes] == [0, 0, 0], outputs
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                head = _revisions(1)[0][0]
                assert MigrationContext.configure(connection).get_current_revision() == head
        finally:
            engine.dispose()
