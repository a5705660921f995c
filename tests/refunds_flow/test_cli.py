"""``clinic-billing refunds``: propose, refuse a front-desk approval, approve, detect, list, export."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from app.cli.main import main
from tests.refunds_flow.conftest import PINS, Clinic1


def run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, user: str | None, *args: str
) -> tuple[int, str, str]:
    if user:
        monkeypatch.setenv("CLINIC_BILLING_PIN", PINS[user])
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_refunds_commands(
    clinic: Clinic1,
    sqlite_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payment = clinic.payment(4500, provider="cash")
    db = ("--db", sqlite_url)

    code, out, _ = run(
        capsys,
        monkeypatch,
        "desk",
        "refunds",
        "propose",
        str(payment),
        "--amount",
        "12.50",
        "--reason",
        "double booked",
        "--user",
        "desk",
        *db,
    )
    assert code == 0 and "Refund 1 proposed" in out

    code, _, err = run(capsys, monkeypatch, "desk", "refunds", "approve", "1", "--user", "desk", *db)
    assert code == 2 and err.strip() == "clinic-billing: desk (Front desk) may not approve refund."

    code, _, err = run(
        capsys,
        monkeypatch,
        "desk",
        "refunds",
        "propose",
        str(payment),
        "--amount",
        "40",
        "--reason",
        "x",
        "--user",
        "desk",
        *db,
    )
    assert code == 2 and "more than the £32.50 still refundable" in err

    code, out, _ = run(capsys, monkeypatch, "manny", "refunds", "approve", "1", "--user", "manny", *db)
    assert code == 0 and "paid in cash from the drawer" in out

    code, out, _ = run(capsys, monkeypatch, None, "refunds", "detect", *db)
    assert code == 0 and "proposed 0 refund(s)" in out

    code, out, _ = run(capsys, monkeypatch, None, "refunds", "list", "--json", *db)
    [row] = json.loads(out)
    assert (row["id"], row["status"], row["amount"], row["reason"]) == (1, "succeeded", "12.50", "patient request")

    tickets = tmp_path / "tickets.csv"
    tickets.write_text(f"payment_id,amount,reason,note\n{payment},99.00,patient_request,T-7\n")
    code, _, err = run(capsys, monkeypatch, "desk", "refunds", "import-tickets", str(tickets), "--user", "desk", *db)
    assert code == 2 and "tickets.csv: nothing imported" in err and "row 2" in err

    xlsx = tmp_path / "refunds.xlsx"
    assert run(capsys, monkeypatch, None, "refunds", "export", "--format", "xlsx", "--out", str(xlsx), *db)[0] == 0
    sheet = load_workbook(io.BytesIO(xlsx.read_bytes())).active
    assert sheet is not None
    assert sheet["A2"].value == "RF-000001" and float(sheet["G2"].value) == 12.5 and sheet["K2"].value == "succeeded"
    csv_file = tmp_path / "refunds.csv"
    run(capsys, monkeypatch, None, "refunds", "export", "--format", "csv", "--out", str(csv_file), *db)
    assert csv_file.read_text().splitlines()[1].startswith("RF-000001,")
    xero = tmp_path / "xero.csv"
    run(capsys, monkeypatch, None, "refunds", "export", "--format", "xero", "--out", str(xero), *db)
    assert "CN-RF-000001" in xero.read_text() and "12.50" in xero.read_text()
    qbo = tmp_path / "qbo.csv"
    run(capsys, monkeypatch, None, "refunds", "export", "--format", "qbo", "--out", str(qbo), *db)
    assert qbo.read_text().splitlines()[1].startswith("RF-000001,Ada Lovelace,")
