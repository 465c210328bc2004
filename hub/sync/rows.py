"""Writing many rows at once, as a sync's batches do: the driver's own executemany (COPY on
PostgreSQL), each value converted as its column type would, without SQLAlchemy's handling of
every row's parameters."""

import functools
import operator
from itertools import chain

from sqlalchemy import func, select

from hub.extensions import db

BATCH_SIZE = 500  # records a batch: read, prepared, written and committed together


def insert_rows(table, rows):
    """Insert ``rows`` (mappings with the same keys) with the driver's own executemany (COPY on
    PostgreSQL): each value goes through its column type's conversion, as SQLAlchemy would put
    it, without SQLAlchemy's handling of every row's parameters (a fifth of a sync's time)."""
    connection = db.session.connection()
    dialect = connection.dialect
    sql, positional, order, processors = _insert_statement(table, tuple(rows[0]), dialect)
    get = operator.itemgetter(*order)
    values = [list(get(row)) for row in rows] if len(order) > 1 else [[get(r)] for r in rows]
    for index, processor in processors:
        _convert_column(values, index, processor)
    if dialect.name == "postgresql":
        _copy_rows(connection, table, order, values)
        return
    if not positional:
        values = [dict(zip(order, row, strict=True)) for row in values]
    elif len(values) > 1:
        _insert_statements(connection, sql, len(order), values)
        return
    else:
        values = [tuple(value) for value in values]
    connection.exec_driver_sql(sql, values)


ROWS_A_STATEMENT = 500  # and at most 32 766 values, SQLite's least limit since 3.32


def _insert_statements(connection, sql, width, values):
    """SQLite: ``values`` (lists) in statements of many rows each (``VALUES (…), (…), …``). A
    statement that fires triggers into FTS5 tables (the search index, ``hub.search.index``)
    has the index write what it gathered at the statement's end: one row a statement, as
    executemany sends them, made the index cost four times what it costs with many."""
    per = max(1, min(ROWS_A_STATEMENT, 32_766 // width))
    for start in range(0, len(values), per):
        chunk = values[start : start + per]
        connection.exec_driver_sql(_many_rows(sql, len(chunk)), tuple(chain.from_iterable(chunk)))


@functools.lru_cache(maxsize=64)
def _many_rows(sql, count):
    """``sql``, an ``INSERT … VALUES (…)``, for ``count`` rows."""
    head, _, group = sql.rpartition(" VALUES ")
    return f"{head} VALUES {', '.join([group] * count)}"


def insert_numbered(table, groups):
    """``insert_rows`` of each group of ``groups`` (lists of rows, the same keys within a
    group), then the ids the new rows were given, in order, when they can be known without
    asking for each: on SQLite, a table whose highest id grew by exactly the rows inserted
    gave them the numbers that follow it (a rowid table does, under the write lock the batch
    holds, short of the largest rowid, where it would choose at random and the count would
    not match). Else None: PostgreSQL's COPY, and any doubt."""
    connection = db.session.connection()
    highest = select(func.max(table.c.id))
    before = None
    if connection.dialect.name == "sqlite":
        before = connection.execute(highest).scalar() or 0
    count = 0
    for rows in groups:
        insert_rows(table, rows)
        count += len(rows)
    if before is None or connection.execute(highest).scalar() != before + count:
        return None
    return range(before + 1, before + count + 1)


def _copy_rows(connection, table, keys, values):
    """PostgreSQL: ``values`` (lists of converted values, in the order of ``keys``) through
    COPY, in the session's transaction: psycopg's executemany sends each row as a statement of
    its own, which took two thirds of a sync's time there."""
    quote = connection.dialect.identifier_preparer.quote
    table_name = connection.dialect.identifier_preparer.format_table(table)
    columns = ", ".join(quote(table.c[key].name) for key in keys)
    cursor = connection.connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY {table_name} ({columns}) FROM STDIN") as copy:
        for row in values:
            copy.write_row(row)


@functools.lru_cache(maxsize=64)
def _insert_statement(table, names, dialect):
    """``INSERT`` of ``names`` into ``table`` for ``dialect``, compiled once: its SQL, whether
    its parameters are positional, their order, and ``(position, bind processor)`` for the
    columns whose values the driver needs converted."""
    compiled = table.insert().compile(dialect=dialect, column_keys=list(names))
    order = tuple(compiled.positiontup if compiled.positional else names)
    if any(compiled.binds[key].key != key for key in order):  # never for a plain insert
        raise RuntimeError("unexpected bind names")
    processors = tuple(
        (index, processor)
        for index, name in enumerate(order)
        if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    )
    return compiled.string, compiled.positional, order, processors


def _convert_column(values, index, convert):
    """Put each of ``values``' (lists) item ``index`` through ``convert``, a column type's bind
    processor, once per distinct value and type (a batch shares its moment and many dates;
    True and 1 are equal but not alike in JSON). Lists and mappings (JSON) cannot be
    remembered: an empty one, which most products' lists are, is converted once, the others
    each time."""
    memo = {}
    none = convert(None)  # None for most types, "null" for JSON's
    for value in values:
        item = value[index]
        if item is None:
            value[index] = none
            continue
        kind = type(item)
        if kind is list or kind is dict:
            if item:
                value[index] = convert(item)
                continue
            key = (kind, None)
        else:
            key = (kind, item)
        result = memo.get(key, memo)
        if result is memo:
            memo[key] = result = convert(item)
        value[index] = result
