"""``clinic-billing payouts import / reconcile --json / replay / release`` on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.audit import SYSTEM
from app.cli.main import main
from app.context import AppContext
from app.domain.status import Role
from app.users import create_user
from tests.payouts.samples import CLASSPASS_PAYOUT
from tests.payouts_flow.conftest import SALES, add_sales, configure


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_import_reconcile_replay_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "desk.sqlite3")
    ctx = AppContext.open(db)
    add_sales(ctx, SALES)
    configure(ctx, payouts__batch_variance_limit_minor=100)
    with ctx.db.unit_of_work() as s:
        create_user(s, ctx.clock, SYSTEM, "fiona", "Fiona", Role.FINANCE, "3333")
    ctx.close()
    statement = tmp_path / "po_2026_03_001.json"
    statement.write_bytes(CLASSPASS_PAYOUT)

    code, out, err = run(capsys, "payouts", "import", "classpass", str(statement), "--db", db)
    assert code == 0, err
    assert "1 payout(s) received" in out
    code, out, _ = run(capsys, "payouts", "import", "classpass", str(statement), "--db", db)
    assert code == 0 and "imported before" in out

    code, out, err = run(
        capsys, "payouts", "reconcile", "--from", "2026-03-01", "--to", "2026-03-31", "--json", "--db", db
    )
    assert code == 0, err
    counts = json.loads(out)
    assert {k: counts[k] for k in ("matched", "variance", "unmatched", "variance_total")} == {
        "matched": 2,
        "variance": 1,
        "unmatched": 0,
        "variance_total": {"GBP": "£5.00"},
    }
    (held,) = counts["held"]

    code, out, err = run(
        capsys, "payouts", "replay", "--from", "2026-03-01", "--to", "2026-03-31", "--json", "--db", db
    )
    assert code == 0, err
    replay = json.loads(out)
    assert (replay["matched"], replay["variance"], replay["differences"]) == (2, 1, [])

    monkeypatch.setenv("CLINIC_BILLING_PIN", "3333")
    code, _, err = run(capsys, "payouts", "release", str(held), "--reason", "ok", "--user", "fiona", "--db", db)
    assert code == 2 and "open variance" in err

    code, _, err = run(capsys, "payouts", "import", "treatwell", str(tmp_path / "nope.csv"), "--db", db)
    assert code == 2 and "does not exist" in err
