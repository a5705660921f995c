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


def test_an_older_database_with_rows_is_backed_up_and_upgraded(tmp_path: Path) -> None:
    """A desk still on revision 0001 with data: the app copies the file, then upgrades it in place."""
    from alembic import command
    from sqlalchemy import text

    from app.db.migrate import alembic_config

    path = tmp_path / "desk.sqlite3"
    db = Database(path)
    cfg = alembic_config(db)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO payout (source, provider_ref, payout_date, expected_minor, currency, status, "
                "bank_line_ref, raw_sha256, created_at) VALUES ('stripe', 'po_1', '2026-11-01', 12345, 'GBP', "
                "'received', '', '', '2026-11-01 06:00:00')"
            )
        )
    assert current_revision(db) == "0001"
    backups = tmp_path / "backups"
    assert upgrade_to_head(db, backup_dir=backups, now=datetime(2026, 11, 20, 8, tzinfo=UTC)) is True
    assert current_revision(db) == head_revision(db)
    with db.engine.connect() as conn:
        row = conn.execute(text("SELECT expected_minor, held_reason FROM payout")).one()
    assert tuple(row) == (12345, "")
    copies = list(backups.glob("desk-*.sqlite3"))
    assert len(copies) == 1
    con = sqlite3.connect(copies[0])
    try:
        assert con.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
        assert con.execute("SELECT provider_ref FROM payout").fetchall() == [("po_1",)]
    finally:
        con.close()
    db.dispose()


def test_downgrade_below_0005_refuses_to_drop_lines_holding_postings(tmp_path: Path) -> None:
    """Lines applied since 0005 keep their routine postings only on the line: dropping the columns
    would lose money records, so the downgrade refuses and nothing changes; without such lines it
    runs and gives the lines kept without services the old '[]'."""
    db = Database(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        upgrade_to_head(db)
        with db.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO remittance (id, source_format, filename, raw_sha256, trace_number, total_paid_minor, "
                "unapplied_minor, currency, payer_name, method, provider_adjustments_json, received_at, status) "
                "VALUES (1, 'x12_835', 'f', 's', 'T1', 0, 0, 'GBP', '', '', '[]', '2026-12-05 08:00:00', 'applied')"
            )
            conn.exec_driver_sql(
                "INSERT INTO remittance_line (remittance_id, claim_ref, payer_claim_ref, status_code, charged_minor, "
                "paid_minor, patient_resp_minor, currency, adjustments_json, services_json, match_rule, applied, "
                "posting_prefix) VALUES (1, 'C1', '', '1', 100, 100, 0, 'GBP', '[]', '', '', 1, 'REM1:0')"
            )
        try:
            downgrade(db, "0004")
        except RuntimeError as exc:
            assert "hold postings that exist nowhere else" in str(exc)
        else:
            raise AssertionError("the downgrade went through")
        assert current_revision(db) == head_revision(db)
        with db.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE remittance_line SET posting_prefix = ''")
        downgrade(db, "0004")
        assert current_revision(db) == "0004"
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT services_json FROM remittance_line").scalar() == "[]"
    finally:
        db.dispose()
