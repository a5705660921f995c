# ruff: noqa
# mypy: ignore-errors
"""Core-SQL executemany in chunks: the bulk path for 100,000-line remittances (no ORM objects)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam
from sqlalchemy.orm import Session

CHUNK = 1000


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT every row (all with the same keys)."""
    for start in range(0, len(rows), CHUNK):
        session.execute(table.insert(), list(rows[start : start + CHUNK]))


def update_by_id(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE ... WHERE id = :id for every row (all with the same keys, one of them "id")."""
    if not rows:
        return
    columns = [k for k in rows[0] if k != "id"]
    stmt = (
        table.update()
        .where(table.c.id == bindparam("row_id"))
        .values({c: bindparam(f"v_{c}", type_=table.c[c].type) for c in columns})
    )
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        session.execute(stmt, [{"row_id": r["id"], **{f"v_{c}": r[c] for c in columns}} for r in chunk])
