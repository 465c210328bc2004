"""``hub restore --from DIR``: a backup (``hub.ops.backup``) put back into an empty hub, whichever
database each uses (SQLite → PostgreSQL, PostgreSQL → SQLite, and each into its own kind).

In this order, so that a refusal writes nothing:

1. the manifest is read and every file's size and SHA-256 checked against it;
2. its schema revision must be one this hub knows (a backup of a newer hub is refused);
3. so must the target database's, if it has a schema already (a newer hub's is refused);
4. the target database must be empty (no row in any of the hub's tables, but the ones the
   migrations themselves write).

Then the target is migrated to the backup's revision, every table is loaded in foreign-key order
(a batch of rows at a time, from the SQLite copy or the portable export, whichever the backup
has) in one transaction that also gives the feed a new epoch (``hub.ops.epoch``: the followers
start again), PostgreSQL's id sequences are set past the largest id, the schema is upgraded to
this hub's (and the changes feed's stored items made current, as ``hub migrate`` does), and the
media files are put back into the target's storage.

A backup of an older revision (taken before ``hub migrate``) holds the tables and columns of
that revision (``portable.tables_of``): the target, migrated to the same revision, has the same
ones, and the migrations after it do to the restored data what they would have done to the
hub's. One that predates the feed's epoch (``hub_state``) gets its epoch once upgraded.
"""

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, delete, func, select, text

from hub.db import alembic_config, downgrade, migration_revisions, upgrade
from hub.extensions import db
from hub.media.storage import content_type, is_media_key, is_variant_key, storage
from hub.ops import backup, epoch, portable
from hub.ops.models import HubState
from hub.publishing import records

# Tables an empty hub may hold rows of: the change counter's one row (written by a migration)
# and the feed's epoch (made by the first read of the changes feed). The backup's replace them.
EMPTY_HUB_ROWS = ("change_counter", "hub_state")


class RestoreRefused(backup.Refused):
    """A restore that must not go on."""


@dataclass
class Report:
    revision: str
    rows: int
    files: int
    epoch: str


def read_manifest(folder):
    """The backup's manifest, checked for what a restore needs."""
    path = os.path.join(folder, backup.MANIFEST)
    try:
        with open(path, encoding="utf-8") as data:
            manifest = json.load(data)
    except FileNotFoundError:
        raise RestoreRefused("no_manifest", path=path) from None
    except (OSError, ValueError):
        raise RestoreRefused("bad_manifest", path=path) from None
    if not isinstance(manifest, dict) or manifest.get("format") != backup.FORMAT:
        raise RestoreRefused("bad_manifest", path=path)
    if not all(isinstance(manifest.get(k), dict) for k in ("tables", "files")):
        raise RestoreRefused("bad_manifest", path=path)
    return manifest


def verify(folder, manifest):
    """Every file the manifest lists is there, with its size and SHA-256."""
    for relative, expected in manifest["files"].items():
        path = os.path.join(folder, *relative.split("/"))
        if (
            ".." in relative.split("/")
            or not os.path.isfile(path)
            or os.path.getsize(path) != expected.get("size")
            or backup.file_digest(path) != expected.get("sha256")
        ):
            raise RestoreRefused("checksum", file=relative)


def check_revision(manifest):
    """The backup's schema must be one of this hub's migrations (not a newer hub's)."""
    revision = manifest.get("revision")
    head, known = migration_revisions()
    if not isinstance(revision, str) or revision not in known:
        raise RestoreRefused("newer_schema", revision=str(revision), head=head)
    return revision, head


def check_target(engine):
    """The target's schema revision: none yet, or one of this hub's migrations (a database
    that a newer hub migrated is not one this hub can take back to the backup's revision)."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    head, known = migration_revisions()
    if current is not None and current not in known:
        raise RestoreRefused("newer_target", revision=current, head=head)
    return current


def check_empty(engine):
    """The target holds nothing of a hub's: no row in any of its tables (but the rows the
    migrations write themselves)."""
    with engine.connect() as connection:
        present = set(_table_names(connection))
        for table in portable.app_tables():
            if table.name in present and table.name not in EMPTY_HUB_ROWS:
                rows = connection.scalar(select(func.count()).select_from(table))
                if rows:
                    raise RestoreRefused("not_empty", table=table.name, rows=rows)


def _table_names(connection):
    from sqlalchemy import inspect

    return inspect(connection).get_table_names()


def restore(folder):
    """Restore the backup in ``folder`` into the app's database and media storage, which must
    be empty; returns a ``Report``. ``RestoreRefused`` before anything is written when it may
    not."""
    folder = os.path.abspath(folder)
    manifest = read_manifest(folder)
    verify(folder, manifest)
    revision, head = check_revision(manifest)
    engine = db.engine
    current = check_target(engine)
    check_empty(engine)
    _migrate_to(engine, current, revision)
    source = _source(folder, manifest)
    try:
        with _writing(engine) as connection:
            rows = _load(connection, manifest, source)
            # A backup older than the revision that keeps the epoch has none to replace: it
            # is given once the upgrade has made its table.
            new_epoch = epoch.renew(connection) if _keeps_epoch(connection) else None
    finally:
        source.close()
    if revision != head:
        upgrade(engine)
        records.refresh(db.session)  # as "hub migrate" does after an upgrade
    if new_epoch is None:
        with _writing(engine) as connection:
            new_epoch = epoch.renew(connection)
    files = _put_media(folder, manifest)
    return Report(revision, rows, files, new_epoch)


@contextmanager
def _writing(engine):
    """A connection in a writing transaction from its start (on SQLite, the write lock taken
    up front: ``hub.db``)."""
    with engine.connect().execution_options(hub_write=True) as connection, connection.begin():
        yield connection


def _keeps_epoch(connection):
    return HubState.__tablename__ in _table_names(connection)


def _migrate_to(engine, current, revision):
    """The empty target's schema at the backup's revision, from none (``current`` None), an
    older or a newer one (an empty hub already migrated by this hub is taken back)."""
    if current == revision:
        return
    if current is not None:
        script = ScriptDirectory.from_config(alembic_config())
        newer = any(r.revision == revision for r in script.iterate_revisions(current, "base"))
        if newer:
            downgrade(engine, revision)
            return
    upgrade(engine, revision)


class _SqliteSource:
    """A backup's tables read from its SQLite copy."""

    def __init__(self, path):
        self.engine = backup.portable_engine(path)
        self.connection = self.engine.connect()

    def rows(self, name, columns, key):
        return portable.read_rows(self.connection, name, columns, key)

    def close(self):
        self.connection.close()
        self.engine.dispose()


class _ExportSource:
    """A backup's tables read from its portable export."""

    def __init__(self, folder):
        self.folder = folder

    def rows(self, name, columns, _key):
        return portable.imported_rows(os.path.join(self.folder, f"{name}.jsonl.gz"), columns)

    def close(self):
        pass


def _source(folder, manifest):
    where = manifest.get("database")
    if where == backup.SQLITE_FILE:
        return _SqliteSource(os.path.join(folder, backup.SQLITE_FILE))
    if where == backup.TABLES:
        return _ExportSource(os.path.join(folder, backup.TABLES))
    raise RestoreRefused("bad_manifest", path=os.path.join(folder, backup.MANIFEST))


def _load(connection, manifest, source):
    """Every table of the backup into the target (migrated to its revision), parents first;
    the rows the migrations wrote are replaced by the backup's. Returns the rows written."""
    tables = manifest["tables"]
    target = MetaData()
    target.reflect(connection, only=[name for name in tables if name in _table_names(connection)])
    missing = sorted(set(tables) - set(target.tables))
    if missing:
        raise RestoreRefused("bad_manifest", path=missing[0])
    ordered = [table for table in target.sorted_tables if table.name in tables]
    for table in reversed(ordered):
        connection.execute(delete(table))
    total = 0
    for table in ordered:
        described = tables[table.name]
        columns = [list(column) for column in described["columns"]]
        unknown = [name for name, _kind in columns if name not in table.c]
        if unknown:
            raise RestoreRefused("bad_manifest", path=f"{table.name}.{unknown[0]}")
        key = [column.name for column in table.primary_key.columns]
        rows = source.rows(table.name, columns, key)
        written = portable.write_rows(connection, table.name, columns, rows)
        if written != described["rows"]:
            raise RestoreRefused(
                "count", table=table.name, rows=written, expected=described["rows"]
            )
        total += written
        if connection.dialect.name == "postgresql":
            _reset_sequence(connection, table)
    return total


def _reset_sequence(connection, table):
    """PostgreSQL: the id sequence of ``table`` (if it has one) past its largest id."""
    key = list(table.primary_key.columns)
    if len(key) != 1:
        return
    sequence = connection.scalar(
        text("SELECT pg_get_serial_sequence(:table, :column)"),
        {"table": table.name, "column": key[0].name},
    )
    if sequence is None:
        return
    quote = connection.dialect.identifier_preparer.quote
    largest = f"SELECT MAX({quote(key[0].name)}) FROM {quote(table.name)}"
    connection.execute(
        text(f"SELECT setval(:sequence, COALESCE(({largest}), 0) + 1, false)"),
        {"sequence": sequence},
    )


def _put_media(folder, manifest):
    """The backup's media files into the app's storage; returns how many."""
    files, count = storage(), 0
    prefix = backup.MEDIA + "/"
    for relative in manifest["files"]:
        key = relative[len(prefix) :] if relative.startswith(prefix) else None
        if key is None or not is_media_key(key):
            continue
        with open(os.path.join(folder, *relative.split("/")), "rb") as data:
            kind = content_type(key) if is_variant_key(key) else "application/octet-stream"
            files.put(key, data.read(), kind)
        count += 1
    return count
