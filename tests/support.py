"""Helpers the tests share: fresh databases on each backend, and the test app."""

import contextlib
import functools
import os
import re
import signal
import subprocess
import threading
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import CompileError, OperationalError

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

# Where date logic goes wrong if it can: a year's last half hour, a leap day, the night Europe
# moves its clocks forward, the morning the United States moves them back (UTC). .ci/faketime
# runs the tests marked ``dates`` with the machine's clock at each; the tests that stop the clock
# there (the ``instant`` fixture) also give the machine a zone whose date is not UTC's, so that
# reading the server's local date (``date.today()``) shows.
AWKWARD_INSTANTS = (
    ("2026-12-31 23:30", "Pacific/Kiritimati"),  # UTC+14: already 1 January 2027
    ("2028-02-29 12:00", "Pacific/Kiritimati"),  # already 1 March
    ("2027-03-28 01:30", "America/Los_Angeles"),  # still 27 March; Europe is in summer time
    ("2027-11-07 06:30", "America/Los_Angeles"),  # still 6 November; New York is in winter time
)


def awkward_instant(text, zone):
    """The instant ``text`` (UTC) seen from a machine in ``zone``: time-machine moves the
    machine's own zone (``TZ``) there too while it stops the clock."""
    utc = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return utc.astimezone(ZoneInfo(zone))


def run_clock_from_awkward_instant(request, time_machine):
    """Move the clock (time-machine) to the first awkward instant (a year's last half hour,
    already the next year on the machine's own clock) and let it run on from there, for a test
    whose data is dated from "now" (ratings, fairs, the trash): it answers the same on any day
    and at any hour. The app is seeded first, on the real clock, as for the other tests.
    Returns the instant, in UTC."""
    if "base_app" in request.fixturenames:
        request.getfixturevalue("base_app")
    moment = awkward_instant(*AWKWARD_INSTANTS[0])
    time_machine.move_to(moment)
    return moment.astimezone(UTC)


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


@contextmanager
def seeded_app(backend, directory, **config):
    """An app on a migrated and seeded database of ``backend`` of its own (with ``config``),
    for as long as the block runs."""
    from hub.db import upgrade
    from hub.extensions import db
    from hub.registry.seeding import seed_registry

    with fresh_database(backend, directory) as url:
        app = make_test_app(url, **config)
        try:
            with app.app_context():
                upgrade(db.engine)
                seed_registry()
            yield app
        finally:
            db.binding(app).engine.dispose()


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


def sample_entries():
    """Publish one entry of each kind for Viet Nam's coordinator (inside an app context)."""
    from datetime import date, time, timedelta

    from sqlalchemy import select

    from hub.accounts.models import User
    from hub.db import utctoday
    from hub.extensions import db
    from hub.publishing import services

    vn = db.session.scalar(select(User).where(User.email == "coordinator.vn@hub.test"))
    today = utctoday()  # the fair is upcoming and the rating valid, whatever the date
    soon = today + timedelta(days=30)
    entries = {
        "policy": services.create_entry(
            vn, "policy", "vi",
            {"title": "Chương trình Mỗi xã một sản phẩm", "summary": "Phê duyệt Chương trình OCOP.",
             "body": "Quyết định **490/QĐ-TTg** ngày 7/5/2018."},
            {"instrument": "decision", "reference_number": "490/QĐ-TTg", "issued_on": date(2018, 5, 7)},
        ),
        "experience": services.create_entry(
            vn, "experience", "en",
            {"title": "Quảng Ninh's OCOP pilot", "summary": "How the province started OCOP.",
             "body": "Started in 2013.", "lessons": "- Start with existing products"},
            {"outcomes": [{"metric": "producers", "value": 300, "unit": "producers"}]},
        ),
        "fair": services.create_entry(
            vn, "fair", "en", {"title": "OCOP Fair in Hạ Long", "body": "Products of the province."},
            {"timezone": "Asia/Ho_Chi_Minh", "start_date": soon, "end_date": soon + timedelta(days=2),
             "start_time": time(8), "end_time": time(21), "city": "Hạ Long", "location_country": "VN",
             "product_groups": ["food", "beverages"]},
        ),
        "product": services.create_entry(
            vn, "product", "vi", {"title": "Chè Thái Nguyên", "body": "Trà xanh."},
            {"product_group": "beverages", "rating_scheme": "ocop", "stars": 4,
             "rated_on": today - timedelta(days=100), "producer_name": "HTX Tân Cương",
             "producer_type": "cooperative", "locality": "Thái Nguyên"},
        ),
    }  # fmt: skip
    services.save_text(
        vn,
        entries["policy"].id,
        "ja",
        {"title": "一村一品プログラム", "summary": "OCOPプログラムの承認。", "body": "決定490号。"},
    )
    for entry in entries.values():
        services.set_status(vn, entry.id, "published")
    return entries


def query_plan(statement, parameters=None):
    """The database's plan for ``statement`` as one line: SQLite's EXPLAIN QUERY PLAN details,
    PostgreSQL's EXPLAIN lines. ``statement`` is a SQLAlchemy statement, compiled for the
    session's database with its values written in (sent as parameters where a value's type is
    not known), or SQL as sent with its ``parameters``."""
    from hub.extensions import db

    connection = db.session.connection()
    if not isinstance(statement, str):
        try:
            compiled = statement.compile(connection, compile_kwargs={"literal_binds": True})
        except CompileError:  # a value of no declared type (a ``bindparam``'s): sent as one
            compiled = statement.compile(connection).construct_expanded_state()
            parameters = compiled.parameters
            if compiled.positiontup is not None:
                parameters = tuple(parameters[name] for name in compiled.positiontup)
        statement = compiled.statement if hasattr(compiled, "parameters") else str(compiled)
    explain = "EXPLAIN QUERY PLAN " if connection.dialect.name == "sqlite" else "EXPLAIN "
    rows = connection.exec_driver_sql(explain + statement, parameters)
    return " ".join(str(row[-1]) for row in rows)


def scans_table(plan, table):
    """Whether ``plan`` (``query_plan``'s) reads all of ``table``, not through an index."""
    sqlite_scans = re.findall(rf"\bSCAN {table}\b( USING (?:COVERING )?INDEX)?", plan)
    return any(not through_index for through_index in sqlite_scans) or bool(
        re.search(rf"Seq Scan on {table}\b", plan)
    )


class LoopbackServer:
    """An HTTP server on loopback, in a thread, for a partner's side of a test: ``get(handler)``
    answers each GET (``handler`` is the request's ``BaseHTTPRequestHandler``). ``url`` is its
    address; ``close()`` stops it. Errors of a client that went away are not reported."""

    def __init__(self, get):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                get(self)

            def log_message(self, *_args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, *_args):
                pass  # a client killed mid-answer: nothing to report

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def stop_process_group(process, timeout=15):
    """Stop ``process``, started with ``start_new_session``, and its children (gunicorn's
    workers, say): TERM, then KILL after ``timeout`` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


def send(handler, body, status=200, content_type="text/plain", headers=()):
    """Answer ``handler``'s request with ``body`` (bytes), its length given."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in headers:
        handler.send_header(name, value)
    handler.end_headers()
    with contextlib.suppress(OSError):  # the client went away
        handler.wfile.write(body)
