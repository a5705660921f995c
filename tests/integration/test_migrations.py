"""Migrations round-trip (upgrade -> downgrade -> upgrade) on SQLite and PostgreSQL, with no drift."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.db.engine import Database
from app.db.migrate import current_revision, downgrade, head_revision, upgrade_to_head
from app.db.models import Base


def _drift(db: Database) -> list[object]:
    with db.engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata))


def test_round_trip_and_no_drift(any_db_url: str) -> None:
    db = Database(any_db_url)
    try:
        assert upgrade_to_head(db) is True
        assert current_revision(db) == head_revision(db)
        assert _drift(db) == []
        downgrade(db, "base")
        assert current_revision(db) is None
        tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        assert upgrade_to_head(db) is True
        assert _drift(db) == []
        assert upgrade_to_head(db) is False  # already at head: nothing runs
    finally:
        db.dispose()


def test_sqlite_backup_copies_everything_including_the_wal(tmp_path: Path) -> None:
    """The copy taken before an upgrade holds the data, even rows still in the write-ahead log."""
    from app.db.migrate import backup_sqlite
    from app.db.models import Clinic

    db = Database(tmp_path / "clinic.sqlite3")
    upgrade_to_head(db)
    with db.unit_of_work() as s:
        s.add(Clinic(name="Backup Test Clinic"))
    copy = backup_sqlite(db, tmp_path / "backups", datetime(2026, 11, 20, tzinfo=UTC))
    db.dispose()
    assert copy is not None and copy.name == "clinic-20261120T000000Z.sqlite3"
    con = sqlite3.connect(copy)
    try:
        assert con.execute("SELECT name FROM clinic").fetchall() == [("Backup Test Clinic",)]
    finally:
        con.close()
