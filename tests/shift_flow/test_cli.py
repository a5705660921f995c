"""``clinic-billing shift list|close|report|export`` and ``bank import`` on a SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.audit import SYSTEM
from app.cli.main import main
from app.context import AppContext
from app.db.models import Clinic
from app.domain.status import Role
from app.imports.csv_mapping import ColumnMapping
from app.settings import set_setting
from app.shifts.schedule import ShiftLocator
from app.users import create_user
from tests.shift_flow.helpers import CARD_AND_CASH, add_takings


@pytest.fixture
def shift_db(ctx: AppContext, sqlite_url: str) -> tuple[str, int]:
    mapping = ColumnMapping("bank", {"posted_on": "Date", "amount": "Amount", "description": "Description"})
    with ctx.db.unit_of_work() as s:
        clinic = Clinic(name="Harbour Physio")
        s.add(clinic)
        s.flush()
        create_user(s, ctx.clock, SYSTEM, "manager", "Mo Manager", Role.MANAGER, "2222")
        set_setting(s, ctx.clock, SYSTEM, "csv_mappings.bank", {"main": mapping.to_dict()})
        taken = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
        shift = ShiftLocator(s, ctx.clock, SYSTEM).locate(clinic, taken)
        add_takings(s, clinic.id, shift.id, taken, (CARD_AND_CASH[0], ("c1", "cash", "cash", 3500, 0)))
        shift_id = shift.id
    return sqlite_url, shift_id


def test_shift_commands(
    shift_db: tuple[str, int], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, shift_id = shift_db
    monkeypatch.setenv("CLINIC_BILLING_PIN", "2222")
    assert main(["shift", "list", "--json", "--db", db]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["gross"], r["cash"], r["status"]) for r in rows if r["payments"]] == [
        (shift_id, "80.00", "35.00", "open")
    ]

    assert main(["shift", "close", str(shift_id), "--counted-cash", "134.50", "--user", "manager", "--db", db]) == 2
    assert "give a reason for -£0.50" in capsys.readouterr().err
    args = ["shift", "close", str(shift_id), "--counted-cash", "134.50", "--reason", "50p short", "--user", "manager"]
    assert main([*args, "--db", db]) == 0
    out = capsys.readouterr().out
    assert "closed: takings £80.00, fees £0.88" in out and "expected deposit £44.12" in out
    assert "difference -£0.50" in out
    assert main([*args, "--db", db]) == 2
    assert "already closed by Mo Manager" in capsys.readouterr().err

    pdf = tmp_path / "shift.pdf"
    assert main(["shift", "report", str(shift_id), "--pdf", str(pdf), "--db", db]) == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    out_json = tmp_path / "pos-payments.json"
    assert main(["shift", "export", str(shift_id), "--out", str(out_json), "--db", db]) == 0
    payments = json.loads(out_json.read_text())["payments"]
    assert [(p["provider_ref"], p["gross"], p["fee"], p["net"]) for p in payments] == [
        ("pi_1", "45.00", "0.88", "44.12"),
        ("c1", "35.00", "0.00", "35.00"),
    ]


def test_bank_import_command(
    shift_db: tuple[str, int], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _ = shift_db
    monkeypatch.setenv("CLINIC_BILLING_PIN", "2222")
    statement = tmp_path / "nov.csv"
    statement.write_text("Date,Description,Amount\n2026-11-22,STRIPE PAYMENTS,44.12\n")
    assert main(["bank", "import", str(statement), "--user", "manager", "--db", db]) == 0
    assert "1 new bank line(s) of 1" in capsys.readouterr().out
    assert main(["bank", "import", str(statement), "--user", "manager", "--db", db]) == 2
    assert "already imported" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Description,Amount\n2026-11-22,STRIPE,12.3.4\n")
    assert main(["bank", "import", str(bad), "--user", "manager", "--db", db]) == 2
    assert "row 2, column 'Amount'" in capsys.readouterr().err
