"""``hub backup --to DIR``: a consistent snapshot of the hub while it serves.

What a backup folder holds:

* ``manifest.json``: the format, the schema's Alembic revision, the database it came from, when,
  the feed's epoch then, each table's columns (``hub.ops.portable`` kinds) and row count, and
  the size and SHA-256 of every other file in the folder;
* SQLite: ``database.sqlite3``, a copy made by SQLite's online backup API (one read transaction:
  writers go on meanwhile, in WAL mode, and the copy is the database as it was at one moment);
* PostgreSQL: ``tables/<table>.jsonl.gz``, every table read in one ``REPEATABLE READ READ ONLY``
  transaction, streamed a batch at a time; and ``database.pgdump`` (``pg_dump
  --format=custom``) of the same snapshot when ``pg_dump`` is on the PATH, for ``pg_restore``.
  ``hub restore`` reads the tables, so that a PostgreSQL backup restores into SQLite too;
* ``media/o/…``, ``media/v/…``: every file of the media storage (a folder or a bucket).

The database may be at this hub's schema revision or an older one of its migrations (a backup
taken before ``hub migrate``): the backup holds the tables and columns that revision has
(``portable.tables_of``). A revision these migrations do not know (a newer hub's) is refused.

It is written into a temporary folder beside ``DIR``, which becomes ``DIR`` only once complete:
a backup that fails leaves nothing half-written behind.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import create_engine, func, select, table, text
from sqlalchemy.engine import make_url

from hub.db import migration_revisions, utcnow
from hub.extensions import db
from hub.media.storage import storage
from hub.ops import portable
from hub.ops.models import HubState

FORMAT = 1  # the backup folder's layout: a restore refuses a format it does not know
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_DUMP_FILE = "database.pgdump"
TABLES = "tables"
MEDIA = "media"


class Refused(Exception):
    """What cannot be done: ``reason`` names why (the command says it in the operator's
    language) and ``params`` its facts."""

    def __init__(self, reason, **params):
        super().__init__(reason, params)
        self.reason, self.params = reason, params


class BackupRefused(Refused):
    """A backup that cannot be made."""


@dataclass
class Report:
    """What a backup wrote, for the command to say."""

    path: str
    manifest: dict
    warnings: list = field(default_factory=list)  # (code, facts): pg_dump missing or failed


def make_backup(to):
    """Write a backup of the app's database and media into the folder ``to`` (which must not
    exist, or be empty); returns a ``Report``."""
    target = os.path.abspath(to)
    if os.path.exists(target) and (not os.path.isdir(target) or os.listdir(target)):
        raise BackupRefused("folder_not_empty", path=target)
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.partial-", dir=parent)
    try:
        manifest = {"format": FORMAT, "created_dt": utcnow().isoformat()}
        warnings = []
        if db.engine.dialect.name == "sqlite":
            manifest.update(_sqlite_snapshot(work))
        else:
            manifest.update(_postgresql_snapshot(work, warnings))
        _copy_media(work)
        manifest["files"] = _checksums(work)
        with open(os.path.join(work, MANIFEST), "w", encoding="utf-8") as out:
            json.dump(manifest, out, ensure_ascii=False, indent=1, sort_keys=True)
        if os.path.isdir(target):
            os.rmdir(target)  # empty: checked above
        os.rename(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Report(target, manifest, warnings)


def _sqlite_snapshot(work):
    """The live SQLite file copied by the online backup API, in one step (so one read
    transaction: a consistent copy), then described from the copy itself."""
    path = os.path.join(work, SQLITE_FILE)
    # Through a Connection rather than the pool's raw one: a database out of reach is
    # SQLAlchemy's OperationalError, which the command says in one line.
    with db.engine.connect() as live:
        copy = sqlite3.connect(path)
        try:
            live.connection.driver_connection.backup(copy)
            # The copy stands alone: no -wal file beside it, whoever opens it.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    engine = portable_engine(path)
    try:
        with engine.connect() as connection:
            revision, tables = _tables(connection)
            described = _describe(connection, revision, tables)
            return {"dialect": "sqlite", "database": SQLITE_FILE, **described}
    finally:
        engine.dispose()


def portable_engine(path):
    """A read-only engine on a backup's SQLite file (opening it writes nothing beside it)."""
    return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")


def _tables(connection):
    """The schema revision of the database on ``connection``, which must be one of this hub's
    migrations (the newest or an older one), and its tables (``portable.tables_of``)."""
    from alembic.runtime.migration import MigrationContext

    revision = MigrationContext.configure(connection).get_current_revision()
    head, known = migration_revisions()
    if revision is None:
        raise BackupRefused("no_schema")
    if revision not in known:
        raise BackupRefused("unknown_schema", revision=revision, head=head)
    return revision, portable.tables_of(connection)


def _describe(connection, revision, tables, counts=None):
    """The manifest's account of the database on ``connection``: its revision, the feed's
    epoch (none before the revision that keeps it) and each table's columns and count
    (counted here unless given)."""
    epoch = None
    if any(described.name == HubState.__tablename__ for described in tables):
        epoch = connection.scalar(select(HubState.value).where(HubState.name == "feed_epoch"))
    counted = {}
    for described in tables:
        rows = (counts or {}).get(described.name)
        if rows is None:
            rows = connection.scalar(select(func.count()).select_from(table(described.name)))
        counted[described.name] = {"rows": rows, "columns": described.columns}
    return {"revision": revision, "epoch": epoch, "tables": counted}


def _postgresql_snapshot(work, warnings):
    """Every table exported from one REPEATABLE READ READ ONLY transaction; ``pg_dump`` of the
    same snapshot (``pg_export_snapshot``) beside it when the tool is there."""
    os.makedirs(os.path.join(work, TABLES))
    with db.engine.connect().execution_options(
        isolation_level="REPEATABLE READ", postgresql_readonly=True
    ) as connection:
        snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
        revision, tables = _tables(connection)
        if (problem := _pg_dump(connection, snapshot, work)) is not None:
            warnings.append(problem)
        counts = {}
        for described in tables:
            name, columns = described.name, described.columns
            rows = portable.read_rows(connection, name, columns, described.key)
            path = os.path.join(work, TABLES, f"{name}.jsonl.gz")
            counts[name] = portable.export_rows(path, columns, rows)
        described = _describe(connection, revision, tables, counts)
        connection.rollback()
    return {"dialect": "postgresql", "database": TABLES, **described}


def _pg_dump(connection, snapshot, work):
    """``pg_dump --format=custom`` of the snapshot into the backup; None when done, else why
    not, ``(code, facts)`` (the tool is missing, or failed): the portable export is the backup
    all the same."""
    tool = shutil.which("pg_dump")
    if tool is None:
        return ("pg_dump_missing", {})
    url = make_url(current_app.config["DATABASE_URL"])
    schema = connection.scalar(text("SELECT current_schema()"))
    conninfo = url.set(drivername="postgresql", password=None).render_as_string()
    env = {**os.environ}
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    command = [
        tool, "--format=custom", f"--snapshot={snapshot}", f"--schema={schema}", "--no-owner",
        f"--file={os.path.join(work, PG_DUMP_FILE)}", f"--dbname={conninfo}",
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        with_reason = (done.stderr.strip().splitlines() or [""])[-1]
        if os.path.exists(os.path.join(work, PG_DUMP_FILE)):
            os.remove(os.path.join(work, PG_DUMP_FILE))
        return ("pg_dump_failed", {"reason": with_reason})
    return None


def _copy_media(work):
    """Every file of the media storage, under ``media/<key>``. Keys never change their bytes:
    a file added meanwhile is copied or not, whole; one removed meanwhile is left out."""
    from hub.media.storage import MissingFile

    files = storage()
    for stored in files.files():
        try:
            data = files.get(stored.key)
        except MissingFile:
            continue
        path = os.path.join(work, MEDIA, *stored.key.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as out:
            out.write(data)


def file_digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for chunk in iter(lambda: data.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _checksums(work):
    """``{relative path: {"size", "sha256"}}`` of every file in the folder (but the manifest)."""
    files = {}
    for folder, _dirs, names in os.walk(work):
        for name in names:
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, work).replace(os.sep, "/")
            if relative != MANIFEST:
                files[relative] = {"size": os.path.getsize(path), "sha256": file_digest(path)}
    return dict(sorted(files.items()))
