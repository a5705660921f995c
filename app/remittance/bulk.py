"""Driver-level executemany in chunks: the bulk path for 100,000-line remittances (no ORM objects).

Rows are plain tuples; each column's bind processor (dates, UTC datetimes, enums) is applied as
SQLAlchemy would, then the statement goes to the driver's executemany with its own placeholder
style (``?`` for SQLite, ``%s`` for psycopg), skipping SQLAlchemy's per-row parameter handling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table
from sqlalchemy.orm import Session

CHUNK = 5000


def _processors(conn: Connection, table: Table, columns: Sequence[str]) -> list[Callable[[Any], Any] | None]:
    dialect = conn.dialect
    return [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]


def _bound(batch: list[tuple[Any, ...]], active: Sequence[tuple[int, Callable[[Any], Any]]]) -> list[tuple[Any, ...]]:
    """The rows with each processed column converted, column by column: a column repeats few
    distinct values (a day, the import's timestamp, a status), each converted once."""
    columns = list(zip(*batch, strict=True))
    for i, process in active:
        column = columns[i]
        seen = {value: process(value) for value in set(column)}
        columns[i] = tuple(map(seen.__getitem__, column))
    return list(zip(*columns, strict=True))


def _run(
    session: Session,
    table: Table,
    sql_for: Callable[[Connection, str], str],
    columns: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
) -> None:
    conn = session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = sql_for(conn, mark)
    active = [(i, p) for i, p in enumerate(_processors(conn, table, columns)) if p is not None]
    items = rows if isinstance(rows, list) else list(rows)
    for start in range(0, len(items), CHUNK):
        batch = items[start : start + CHUNK]
        conn.exec_driver_sql(sql, _bound(batch, active) if active else batch)


def insert_tuples(session: Session, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """INSERT INTO table (columns) for every row (values in the order of ``columns``)."""

    def sql(conn: Connection, mark: str) -> str:
        quote = conn.dialect.identifier_preparer.quote
        names = ", ".join(quote(c) for c in columns)
        return f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join([mark] * len(columns))})"

    _run(session, table, sql, columns, rows)


def update_tuples(session: Session, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """UPDATE table SET columns WHERE id = the last value, for every row (values, then the id)."""

    def sql(conn: Connection, mark: str) -> str:
        quote = conn.dialect.identifier_preparer.quote
        sets = ", ".join(f"{quote(c)} = {mark}" for c in columns)
        return f"UPDATE {quote(table.name)} SET {sets} WHERE {quote('id')} = {mark}"

    _run(session, table, sql, (*columns, "id"), rows)


def select_in(
    session: Session,
    sql: str,
    params: Sequence[Any],
    values: Sequence[Any],
    result_types: Sequence[Any | None] = (),
) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` whose ``{in}`` is filled with one placeholder per item of ``values`` and
    ``{mark}`` with the driver's placeholder: no statement compiled per call, as the bulk writes.
    ``params`` bind the ``{mark}`` placeholders before the list (already as the driver wants them);
    ``result_types``: per column, a SQLAlchemy type whose result processor is applied (None: as read)."""
    session.flush()  # as a query through the session would: pending changes are seen
    conn = session.connection()
    dialect = conn.dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    text = sql.format(mark=mark, **{"in": ", ".join([mark] * len(values))})
    processors = [(i, t.dialect_impl(dialect).result_processor(dialect, None)) for i, t in enumerate(result_types) if t]
    active = [(i, p) for i, p in processors if p is not None]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(text, (*params, *values))
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    finally:
        cursor.close()
    if not active or not rows:
        return rows
    return _bound(rows, active)  # column by column, each distinct value once


def bind_value(session: Session, column: ColumnElement[Any], value: Any) -> Any:
    """``value`` as the driver receives it for ``column`` (dates, UTC datetimes, booleans, enums)."""
    dialect = session.connection().dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process is not None else value
