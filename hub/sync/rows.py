"""Writing many rows at once, as a sync's batches do: the driver's own executemany (COPY on
PostgreSQL), each value converted as its column type would, without SQLAlchemy's handling of
every row's parameters."""

import functools
import operator

from hub.extensions import db

BATCH_SIZE = 500  # records a batch: read, prepared, written and committed together


def insert_rows(table, rows):
    """Insert ``rows`` (mappings with the same keys) with the driver's own executemany (COPY on
    PostgreSQL): each value goes through its column type's conversion, as SQLAlchemy would put
    it, without SQLAlchemy's handling of every row's parameters (a fifth of a sync's time)."""
    connection = db.session.connection()
    dialect = connection.dialect
    sql, positional, order, processors = _insert_statement(table, tuple(rows[0]), dialect)
    converts = [(index, _remembered(processor)) for index, processor in processors]
    get = operator.itemgetter(*order)
    values = []
    for row in rows:
        value = list(get(row)) if len(order) > 1 else [get(row)]
        for index, convert in converts:
            value[index] = convert(value[index])
        values.append(tuple(value))
    if dialect.name == "postgresql":
        _copy_rows(connection, table, order, values)
        return
    if not positional:
        values = [dict(zip(order, row, strict=True)) for row in values]
    connection.exec_driver_sql(sql, values)


def _copy_rows(connection, table, keys, values):
    """PostgreSQL: ``values`` (tuples of converted values, in the order of ``keys``) through
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


def _remembered(convert):
    """``convert`` computed once per distinct value and type (a batch shares its moment and
    many dates; True and 1 are equal but not alike in JSON). Lists and mappings (JSON) cannot
    be remembered: an empty one, which most products' lists are, is converted once, the
    others each time."""
    memo = {}
    unhashable = (list, dict)

    def remembered(value):
        kind = type(value)
        if kind in unhashable:
            if value:
                return convert(value)
            key = (kind, None)
        else:
            key = (kind, value)
        try:
            return memo[key]
        except KeyError:
            memo[key] = result = convert(value)
            return result

    return remembered
