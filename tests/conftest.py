"""Fixtures: one migrated and seeded database per backend (SQLite, PostgreSQL) for the whole
run, and for each test a transaction that is rolled back afterwards, so every test starts from
the same seeded state and none sees another's writes.

The database-backed tests run once per backend. PostgreSQL is the server every development and
CI machine has at 127.0.0.1:5432 (``HUB_TEST_POSTGRES_URL`` overrides); when it cannot be
reached those tests are skipped with the reason, except under ``CI=true``, where they fail.
"""

import pytest

from hub.accounts.services import create_user
from hub.db import upgrade
from hub.extensions import db, limiter
from hub.registry.services import seed_registry
from tests.support import BACKENDS, PASSWORD, USERS, fresh_database, make_test_app


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    with fresh_database(backend, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def base_app(database_url):
    app = make_test_app(database_url)
    with app.app_context():
        upgrade(db.engine)
        seed_registry()
        for email, (role, country) in USERS.items():
            create_user(email, PASSWORD, role, country)
    yield app
    db.binding(app).engine.dispose()


@pytest.fixture
def app(base_app):
    """The seeded app; everything a test writes is rolled back when it ends."""
    binding = db.binding(base_app)
    connection = binding.engine.connect()
    transaction = connection.begin()
    # Sessions commit to savepoints inside the outer transaction, which the test never commits.
    binding.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield base_app
    finally:
        binding.sessionmaker.configure(
            bind=binding.engine, join_transaction_mode="conservative_savepoint"
        )
        transaction.rollback()
        connection.close()
        limiter.reset()
        # The rollback takes the data version back to where it was: answers cached during the
        # test would be served for another test's different data under the same version.
        base_app.extensions["hub.answers"].clear()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """A request context in English, for calling services directly."""
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        yield
