"""`remit parse` / `remit import` / write-off approval / exports from the command line, on public samples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.cli.main import main
from app.db.models import ImportedFile, Remittance, RemittanceLine
from app.remittance.ingest import import_remittance_file
from app.x12.remittance import to_json_dict
from app.x12.x835 import parse_835
from tests.remittance_flow.conftest import World
from tests.remittance_flow.helpers import Pay, file_835, paid_claim
from tests.x12.samples import LFH_835

SAMPLES = sorted(LFH_835.glob("*.835"))
PAYMENT_KEYS = {"trace_number", "payer", "payee", "method", "date", "total_paid", "claims", "provider_adjustments"}
CLAIM_KEYS = {
    "claim_id",
    "payer_claim_id",
    "status_code",
    "charged",
    "paid",
    "patient_responsibility",
    "adjustments",
    "services",
}


def test_samples_exist() -> None:
    assert len(SAMPLES) >= 5


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_round_trips_through_remit_parse_and_imports(
    path: Path, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["remit", "parse", str(path), "--json", "--db", world.ctx.db.url]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(to_json_dict(parse_835(path.read_bytes(), path.name))))
    assert printed["payments"] and set(printed["payments"][0]) == PAYMENT_KEYS
    assert all(set(c) == CLAIM_KEYS for p in printed["payments"] for c in p["claims"])
    with world.ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(ImportedFile)) == 0  # parse changed nothing
    result = import_remittance_file(world.ctx, world.manager, path.read_bytes(), path.name)
    with world.ctx.db.read() as s:
        traces = list(s.scalars(select(Remittance.trace_number).order_by(Remittance.id)))
        lines = s.scalar(select(func.count()).select_from(RemittanceLine))
    assert traces == [p["trace_number"] for p in printed["payments"]]
    assert lines == sum(len(p["claims"]) for p in printed["payments"])
    assert len(result.outcomes) == len(traces)


def _cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str, pin: str = "2222"
) -> tuple[int, str, str]:
    """The console entry point in-process (what ``clinic-billing`` runs): exit code, stdout, stderr."""
    monkeypatch.setenv("CLINIC_BILLING_PIN", pin)
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_malformed_file_is_one_line_with_segment_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "broken.835"
    bad.write_bytes(
        file_835(Pay("T1", (paid_claim("C1", "10.00", "10.00"),))).replace(b"*10.00*10.00*", b"*10.00*1O.00*")
    )
    code, out, err = _cli(
        capsys, monkeypatch, "remit", "parse", str(bad), "--json", "--db", str(tmp_path / "x.sqlite3")
    )
    assert code != 0 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "broken.835" in lines[0] and "segment 13" in lines[0] and "'1O.00' is not an amount" in lines[0]


def test_cli_import_approve_and_export(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    world.claim("CLM0000001", "200.00")
    era = tmp_path / "era.835"
    era.write_bytes(file_835(Pay("TRC7", (paid_claim("CLM0000001", "200.00", "80.00", co="120.00"),))))
    db = world.ctx.db.url
    code, out, err = _cli(capsys, monkeypatch, "remit", "import", str(era), "--db", db, "--user", "manager")
    assert code == 0, err
    assert "1 line(s) applied" in out and "1 posting(s) held" in out
    code, out, err = _cli(capsys, monkeypatch, "remit", "import", str(era), "--db", db, "--user", "manager")
    assert code == 0 and "nothing was changed" in out
    held = next(p for p in world.postings() if p.status == "held")
    args = ("remit", "approve-writeoff", str(held.id), "--db", db)
    code, out, err = _cli(capsys, monkeypatch, *args, "--user", "frontdesk", pin="1111")
    assert code != 0 and "may not approve writeoff" in err and len(err.strip().splitlines()) == 1
    code, out, err = _cli(capsys, monkeypatch, *args, "--user", "manager")
    assert code == 0 and "approved" in out, err
    target = tmp_path / "xero.csv"
    code, out, err = _cli(capsys, monkeypatch, "remit", "export", "xero", "--out", str(target), "--db", db)
    assert code == 0 and target.read_text().startswith("*Narration,")
    csv_out = tmp_path / "cash.csv"
    args = ("remit", "cash-application", "1", "--out", str(csv_out), "--db", db)
    code, out, err = _cli(capsys, monkeypatch, *args)
    assert code == 0 and "2 row(s)" in err, err
    rows = csv_out.read_text().splitlines()
    assert rows[0].startswith("remittance_id,line,payer_claim_id,claim_id,match_rule")
    # cash, the held (now approved) contractual write-off: one row per posting of the line
    assert [r.split(",")[7:10] for r in rows[1:]] == [
        ["REM1:0:1", "applied payment", "80.00"],
        ["REM1:0:a1", "contractual write-off", "120.00"],
    ]
    code, out, err = _cli(capsys, monkeypatch, "remit", "cash-application", "99", "--out", str(csv_out), "--db", db)
    assert code != 0 and "Remittance 99 does not exist" in err and len(err.strip().splitlines()) == 1


def test_remit_parse_reads_insurer_xml_in_the_same_shape(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "resources" / "insurer-xml" / "examples" / "REM-20261127-0042.xml"
    assert main(["remit", "parse", str(example), "--json", "--db", str(tmp_path / "none.sqlite3")]) == 0
    payment = json.loads(capsys.readouterr().out)["payments"][0]
    assert set(payment) == PAYMENT_KEYS and payment["trace_number"] == "BUPA-PAY-0042"
    assert payment["total_paid"] == "126.00" and payment["date"] == "2026-11-27"
    claim = payment["claims"][0]
    assert claim["patient_responsibility"] == "20.00"
    assert {"group": "PR", "reason": "3", "amount": "20.00"} in claim["adjustments"]
    assert not (tmp_path / "none.sqlite3").exists()  # parse opens no database
