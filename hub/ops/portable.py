"""The hub's tables as a backup carries them, readable and writable on SQLite and PostgreSQL.

Each column has a *kind* (``KINDS``), taken from the models when the backup is made and kept in
its manifest: the kind says how a value is read from either database, written as JSON in a
portable export, and written back into either. So a timestamp in UTC stays the same instant (the
naive text SQLite keeps, PostgreSQL's ``timestamptz``), a venue's local time stays naive, a
boolean stays a boolean, and a JSON column keeps its text exactly (SQL NULL and JSON ``null``
apart), whichever database it came from and goes to.

A portable export is one gzip'd JSON Lines file per table, ``tables/<name>.jsonl.gz``: each line
is one row, its values in the manifest's column order.
"""

import base64
import gzip
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    Text,
    Time,
    bindparam,
    cast,
    insert,
    inspect,
    select,
    types,
)

import hub.models  # noqa: F401  (every table on the metadata)
from hub.db import Base, UTCDateTime

BATCH_ROWS = 1000  # rows read, converted and written at a time

# kind: the type a value of that kind is read and written with, on either database.
KINDS = {
    "int": BigInteger(),
    "float": Float(),
    "decimal": Numeric(),
    "bool": Boolean(),
    "text": Text(),
    "utc": UTCDateTime(),
    "datetime": DateTime(),
    "date": Date(),
    "time": Time(),
    "json": Text(),  # its text as stored: read through a CAST, written with one
    "binary": LargeBinary(),
}


def kind_of(sql_type):
    """The kind of a column of type ``sql_type``."""
    if isinstance(sql_type, UTCDateTime):
        return "utc"
    if isinstance(sql_type, types.TypeDecorator):
        sql_type = sql_type.impl_instance
    for kind, base in (
        ("json", types.JSON),
        ("bool", types.Boolean),
        ("int", types.Integer),
        ("float", types.Float),
        ("decimal", types.Numeric),
        ("datetime", types.DateTime),
        ("date", types.Date),
        ("time", types.Time),
        ("binary", types._Binary),
    ):
        if isinstance(sql_type, base):
            return kind
    return "text"


def app_tables():
    """The hub's own tables in foreign-key order (parents first): what a backup holds. The
    search index's tables are not among them: the database's triggers fill them again from
    the texts as these are written back."""
    return list(Base.metadata.sorted_tables)


def columns_of(table):
    """``[[name, kind], …]`` of a model's table, for the manifest."""
    return [[column.name, kind_of(column.type)] for column in table.columns]


@dataclass
class Described:
    """One of the hub's tables as a database holds it."""

    name: str
    columns: list  # [[name, kind], …], in the model's order
    key: list  # the primary key's column names


def tables_of(connection):
    """The hub's tables as the database on ``connection`` holds them, parents first: the
    models' tables and columns that are there, each column of its model's kind.

    A database at an older revision of the migrations (not yet upgraded by ``hub migrate``)
    lacks the tables and columns that newer migrations add: those are left out. No migration
    removes a table or a column, or changes a column's kind, so the tables and columns of
    every revision are among the models', of the same kinds (``tests/test_backup.py`` checks
    each revision on both databases): what is described is the whole of the database's data.
    A revision these migrations do not know (a newer hub's) may hold more: it is not to be
    read this way (``hub.db.migration_revisions``).
    """
    present = inspect(connection)
    names = set(present.get_table_names())
    described = []
    for table in app_tables():
        if table.name in names:
            there = {column["name"] for column in present.get_columns(table.name)}
            columns = [column for column in columns_of(table) if column[0] in there]
            described.append(Described(table.name, columns, primary_key(table)))
    return described


def primary_key(table):
    return [column.name for column in table.primary_key.columns]


def io_table(name, columns, key=()):
    """A table of ``columns`` (``[[name, kind], …]``) typed by kind, to read and write with."""
    return Table(
        name,
        MetaData(),
        *(Column(column, KINDS[kind], primary_key=column in key) for column, kind in columns),
    )


def read_rows(connection, name, columns, key):
    """The rows of table ``name`` on ``connection`` (tuples in ``columns`` order, by primary
    key), streamed a batch at a time."""
    table = io_table(name, columns, key)
    selected = [
        cast(table.c[column], Text).label(column) if kind == "json" else table.c[column]
        for column, kind in columns
    ]
    order = [table.c[column] for column in key] or [table.c[columns[0][0]]]
    result = connection.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(
        select(*selected).order_by(*order)
    )
    for partition in result.partitions():
        yield from partition


def insert_statement(dialect, name, columns):
    """The INSERT of one row of ``columns`` into ``name``, for executemany: JSON texts are
    cast to the column's type on PostgreSQL (SQLite keeps the text as it is)."""
    table = io_table(name, columns)
    values = {}
    for column, kind in columns:
        if kind == "json" and dialect == "postgresql":
            values[column] = cast(bindparam(column, type_=Text), JSON)
        else:
            values[column] = bindparam(column, type_=KINDS[kind])
    return insert(table).values(values)


def write_rows(connection, name, columns, rows):
    """Insert ``rows`` (tuples in ``columns`` order) into ``name``, a batch at a time;
    returns how many."""
    statement = insert_statement(connection.dialect.name, name, columns)
    names = [column for column, _kind in columns]
    count, batch = 0, []
    for row in rows:
        batch.append(dict(zip(names, row, strict=True)))
        if len(batch) >= BATCH_ROWS:
            connection.execute(statement, batch)
            count, batch = count + len(batch), []
    if batch:
        connection.execute(statement, batch)
        count += len(batch)
    return count


# Values as JSON, and back.


def _encode(kind, value):
    if value is None:
        return None
    if kind in ("utc", "datetime", "date", "time"):
        return value.isoformat()
    if kind == "binary":
        return base64.b64encode(value).decode("ascii")
    if kind == "decimal":
        return str(value)
    return value


def _decode(kind, value):
    if value is None:
        return None
    if kind == "utc":
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "time":
        return time.fromisoformat(value)
    if kind == "binary":
        return base64.b64decode(value)
    if kind == "decimal":
        return Decimal(value)
    return value


def export_rows(path, columns, rows):
    """Write ``rows`` to the JSON Lines file ``path`` (gzip'd); returns how many."""
    kinds = [kind for _column, kind in columns]
    count = 0
    with gzip.open(path, "wt", encoding="utf-8", newline="\n") as out:
        for row in rows:
            values = [_encode(kind, value) for kind, value in zip(kinds, row, strict=True)]
            out.write(json.dumps(values, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            count += 1
    return count


def imported_rows(path, columns):
    """The rows of an export file, as ``read_rows`` gives them."""
    kinds = [kind for _column, kind in columns]
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as lines:
        for line in lines:
            values = json.loads(line)
            yield tuple(_decode(kind, value) for kind, value in zip(kinds, values, strict=True))
