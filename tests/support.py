"""Helpers the tests share: fresh databases on each backend, and the test app."""

import functools
import os
import re
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from hub import create_app
from hub.db import make_engine

PASSWORD = "correct horse battery staple"
# Accounts every test can sign in with: an administrator and two countries' coordinators.
USERS = {
    "admin@hub.test": ("admin", None),
    "coordinator.vn@hub.test": ("coordinator", "VN"),
    "coordinator.th@hub.test": ("coordinator", "TH"),
}
POSTGRES_URL = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")
TEST_SECRET_KEY = "a-test-only-secret-key-" + uuid.uuid4().hex
BACKENDS = ("sqlite", "postgresql")


@functools.cache
def _postgres_unreachable():
    """Why PostgreSQL cannot be used, or None; asked once per run, however many tests need it."""
    engine = make_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
    try:
        with engine.connect():
            return None
    except OperationalError as exc:
        return f"PostgreSQL is not reachable at {make_url(POSTGRES_URL).render_as_string()}: {exc.orig}"
    finally:
        engine.dispose()


def _postgres_admin_engine():
    if reason := _postgres_unreachable():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true requires PostgreSQL; " + reason, pytrace=False)
        pytest.skip(reason)
    return make_engine(POSTGRES_URL)


@contextmanager
def fresh_database(backend, directory):
    """An empty database of ``backend`` for as long as the block runs; yields its URL.

    On PostgreSQL it is a schema of its own in the ``test`` database, dropped afterwards.
    """
    if backend == "sqlite":
        yield f"sqlite:///{directory}/hub-{uuid.uuid4().hex[:8]}.sqlite3"
        return
    admin = _postgres_admin_engine()
    schema = f"hub_test_{uuid.uuid4().hex[:12]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def make_test_app(database_url, **config):
    return create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET_KEY, **config}
    )


def csrf_token(client, url):
    """The CSRF token of the form on the page at ``url``."""
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def sign_in(client, email, password=PASSWORD, lang="en"):
    """Sign in through the real form; returns the response."""
    token = csrf_token(client, f"/{lang}/login")
    return client.post(
        f"/{lang}/login", data={"email": email, "password": password, "csrf_token": token}
    )
