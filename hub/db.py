"""The database layer: the declarative base, and the ``Database`` extension that binds a session
to each application context.

Plain SQLAlchemy 2.x rather than Flask-SQLAlchemy: the scheduler, the CLI and the benchmarks use
the same engine and sessions outside requests, and the schema belongs to Alembic alone.
"""

import functools
import traceback
import warnings
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app
from flask.globals import app_ctx
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator
from werkzeug.routing import IntegerConverter

# Stable constraint names, so that Alembic migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow():
    """The current time in UTC, timezone-aware; every ``*_dt`` column holds UTC."""
    return datetime.now(UTC)


def utctoday():
    """Today's date in UTC: the hub's "today" where no place says otherwise (a rating's
    validity, a chart's last day). Never ``date.today()``, which is the server's own zone."""
    return utcnow().date()


def latest_possible_date():
    """Today's date where it is latest on Earth (UTC+14): a date after it has not happened
    anywhere yet, and one dated today in Hanoi (or Kiritimati) is never refused as "in the
    future"."""
    return (utcnow() + timedelta(hours=14)).date()


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database.

    PostgreSQL keeps the zone; SQLite keeps none and hands back naive values. Values are
    converted to UTC on the way in and come back aware, in UTC, on both, so comparisons behave
    alike.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given for a UTC column")
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None:
            # SQLite's are naive; PostgreSQL's come in its session's zone (TimeZone).
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value


# Ids are 32-bit integers on PostgreSQL; a larger number can name no row.
MAX_ID = 2**31 - 1
ID_RULE = "id"  # URL rule converter: /entries/<id:entry_id>


def _digits_up_to(limit):
    """A regular expression of the ASCII numbers from 0 to ``limit``."""
    digits = str(limit)
    if len(digits) == 1:
        return f"[0-{digits}]"
    shorter = [f"[0-9]{{1,{len(digits) - 1}}}"]
    same_length = [
        f"{digits[:i]}[{'1' if i == 0 else '0'}-{int(d) - 1}][0-9]{{{len(digits) - i - 1}}}"
        for i, d in enumerate(digits)
        if int(d) > (1 if i == 0 else 0)
    ]
    return "|".join([*shorter, *same_length, digits])


class IdConverter(IntegerConverter):
    """A row id in a URL: ASCII digits, at most ``MAX_ID``. (Werkzeug's ``int`` takes any
    Unicode digit, /policies/١ as entry 1, and checks its ``max`` after the method: a DELETE
    of /policies/9999999999 would be a 405, not a 404.) ``create_app`` registers it as ``id``."""

    regex = f"(?:{_digits_up_to(MAX_ID)})"


def parse_id(value):
    """A row id from user input (a form field, a cursor), or None if it cannot be one."""
    text = str(value or "").strip()
    if not (0 < len(text) <= 10) or not all("0" <= c <= "9" for c in text):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def make_engine(url, busy_timeout_s=30, **kwargs):
    """Create an engine for ``url``; on SQLite, with real transactions and enforced foreign keys,
    and writers that wait up to ``busy_timeout_s`` for the write lock."""
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_timeout_s)
    return engine


def _configure_sqlite(engine, busy_timeout_s):
    # pysqlite opens transactions lazily and not before DDL or SAVEPOINT, which breaks both
    # transactional migrations and nested transactions; take over BEGIN ourselves, as the
    # SQLAlchemy documentation recommends ("Serializable isolation / Savepoints /
    # Transactional DDL").
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # A sync batch may hold the lock a while (HUB_SQLITE_BUSY_TIMEOUT).
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        if engine.url.database and engine.url.database != ":memory:":
            # Readers never wait for the writer: web workers and the scheduler share the file.
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # A transaction that will write takes the write lock at once (see Database.begin_write):
        # a deferred one that reads first and writes later fails at once with "database is
        # locked" if another writer got in between, instead of waiting its turn.
        immediate = connection.get_execution_options().get("hub_write")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        connection.info[_TRANSACTION] = _WRITING if immediate else _FRESH

    @event.listens_for(engine, "before_cursor_execute")
    def _on_statement(connection, _cursor, statement, _params, _context, _many):
        state = connection.info.get(_TRANSACTION)
        if state is None or state is _WRITING:
            return
        verb = statement.lstrip()[:7].upper()
        if verb.startswith(("SELECT", "WITH")):
            connection.info[_TRANSACTION] = _READ
        elif verb.startswith(("INSERT", "UPDATE", "DELETE", "REPLACE")):
            connection.info[_TRANSACTION] = _WRITING
            if state is _READ:
                warnings.warn(DeferredWrite(statement, _caller()), stacklevel=2)

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(connection):
        connection.info.pop(_TRANSACTION, None)


# Where a SQLite transaction stands (``connection.info``), for DeferredWrite.
_TRANSACTION = "hub.transaction"
_FRESH, _READ, _WRITING = "fresh", "read", "writing"


class DeferredWrite(RuntimeWarning):
    """A SQLite transaction wrote after it had read without taking the write lock first
    (``Database.begin_write``): under concurrent writers it fails at once with "database is
    locked", whatever the busy timeout says. Warned in production (the log shows where); an
    error in the test suite, so that every write path begins its transaction as a writing one."""

    def __init__(self, statement, caller):
        super().__init__(
            f"{caller}: a write after a read in a deferred SQLite transaction (call "
            f"db.begin_write() before the transaction's first read): {statement.strip()[:80]}"
        )


_HUB_DIR = str(Path(__file__).resolve().parent)


def _caller():
    """The hub's innermost frame below this module's, as ``file:line (function)``."""
    for frame in reversed(traceback.extract_stack()):
        if frame.filename.startswith(_HUB_DIR) and not frame.filename.endswith("db.py"):
            return f"{frame.filename[len(_HUB_DIR) - 3 :]}:{frame.lineno} ({frame.name})"
    return "?"


def _app_context_scope():
    # One session per application context (a request, a CLI command, a job), so that several
    # apps in one process (tests, federation) never share a session. The session is removed at
    # teardown, before the context object (and so its id) can be reused.
    return id(app_ctx._get_current_object())


class Database:
    """Binds an engine and a session factory to each app; ``db.session`` is the session of the
    current application context, removed when the context ends."""

    def __init__(self):
        self.session = scoped_session(self._new_session, scopefunc=_app_context_scope)

    def init_app(self, app):
        engine = make_engine(
            app.config["DATABASE_URL"],
            busy_timeout_s=app.config["SQLITE_BUSY_TIMEOUT"],
            **app.config.get("DATABASE_OPTIONS", {}),
        )
        app.extensions["hub.db"] = _Binding(engine, sessionmaker(engine, expire_on_commit=False))
        app.teardown_appcontext(self._remove_session)

    @staticmethod
    def binding(app=None):
        return (app or current_app).extensions["hub.db"]

    @property
    def engine(self):
        return self.binding().engine

    def begin_write(self):
        """Make the session's next transaction a writing one: on SQLite it waits for the write
        lock up front (BEGIN IMMEDIATE); on PostgreSQL it changes nothing.

        A read-only transaction already open (the signed-in user was loaded, say) is ended
        first. One that holds changes not yet written (objects changed in the session, not
        flushed) keeps them: its read snapshot is traded for the write lock on the same
        connection (COMMIT of nothing, then BEGIN IMMEDIATE), and the changes are written in the
        new transaction. One that wrote already holds the lock.
        """
        session = self.session()  # the Session itself, not the scoped proxy
        if (
            not isinstance(session.get_bind(), Engine)
            or session.get_bind().dialect.name != "sqlite"
        ):
            return  # PostgreSQL, or a session joined to an outer connection (the tests)
        if session.in_transaction():
            if not (session.new or session.dirty or session.deleted):
                session.commit()
            else:
                connection = session.connection()
                if (
                    connection.info.get(_TRANSACTION) in (_FRESH, _READ)
                    and session.get_nested_transaction() is None
                ):
                    connection.exec_driver_sql("COMMIT")
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                    connection.info[_TRANSACTION] = _WRITING
                return
        session.connection(execution_options={"hub_write": True})

    def _new_session(self):
        return self.binding().sessionmaker()

    def _remove_session(self, _exc=None):
        self.session.remove()


class _Binding:
    def __init__(self, engine, maker):
        self.engine = engine
        self.sessionmaker = maker


MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(connection=None):
    """An Alembic configuration for the project's ``migrations/``, bound to ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@functools.cache
def migration_revisions():
    """``(head, known)``: the newest revision of the migrations and every revision they know
    (a database at a revision not among them was migrated by a newer hub); read once per
    process."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    return scripts.get_current_head(), frozenset(r.revision for r in scripts.walk_revisions())


# The key of the PostgreSQL advisory lock that migrations hold (any number, the same in every
# process of every version of the hub).
MIGRATION_LOCK = 0x0C0B_4B5


@contextmanager
def migrating(engine):
    """A connection in one transaction under the migration lock, so that processes starting
    at once (several web servers, the scheduler) migrate one after the other: the first
    migrates, the others then find the schema current and change nothing. On PostgreSQL, a
    transaction-scoped advisory lock; on SQLite, BEGIN IMMEDIATE (the write lock, held to the
    end of the transaction)."""
    with engine.connect().execution_options(hub_write=True) as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        yield connection


def upgrade(engine, revision="head"):
    """Bring the schema of ``engine``'s database to ``revision`` (the schema is only ever made
    this way, on SQLite and PostgreSQL alike), under the migration lock."""
    from alembic import command

    with migrating(engine) as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine, revision):
    from alembic import command

    with migrating(engine) as connection:
        command.downgrade(alembic_config(connection), revision)
