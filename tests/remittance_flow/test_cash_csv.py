"""cash-application.csv built on request: after a re-run, and for lines applied before routine
postings were derived from lines (all their postings are rows)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from sqlalchemy import select

from app.db.models import LedgerPosting, Remittance, RemittanceLine
from app.remittance.approvals import rerun_matching
from app.remittance.cash_csv import cash_application_csv
from app.remittance.ingest import import_remittance_file
from app.remittance.postings import remittance_postings
from tests.remittance_flow.conftest import World
from tests.remittance_flow.helpers import Pay, file_835, paid_claim

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _rows(world: World, rid: int) -> list[dict[str, str]]:
    with world.ctx.db.read() as s:
        data = cash_application_csv(s, rid)
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_after_a_rerun_the_line_shows_its_claim_after_the_first_runs_unapplied_cash(world: World) -> None:
    world.claim("CLM0000001", "100.00")
    lines = (paid_claim("CLM0000001", "100.00", "80.00", co="20.00"), paid_claim("CLM-LATE", "50.00", "50.00"))
    result = import_remittance_file(world.ctx, world.manager, file_835(Pay("TRC9", lines)), "era.835")
    rid = result.remittance_ids[0]
    first = _rows(world, rid)
    assert [(r["line"], r["posting_id"], r["posting_kind"], r["amount"]) for r in first] == [
        ("1", "REM1:0:1", "applied payment", "80.00"),
        ("1", "REM1:0:a1", "contractual write-off", "20.00"),
        ("2", "REM1:1:1", "unapplied (no claim matched)", "50.00"),
    ]
    assert first[2]["outcome"] == "unmatched" and "no claim matches" in first[2]["explanation"]
    world.claim("CLM-LATE", "50.00")
    assert rerun_matching(world.ctx, world.manager, rid).applied_lines == 1
    after = _rows(world, rid)
    assert [(r["line"], r["claim_id"], r["posting_id"], r["posting_kind"]) for r in after] == [
        ("1", "CLM0000001", "REM1:0:1", "applied payment"),
        ("1", "CLM0000001", "REM1:0:a1", "contractual write-off"),
        ("2", "CLM-LATE", "REM1:1:1", "unapplied (no claim matched)"),
        ("2", "CLM-LATE", "REM1-rerun1:1:1", "applied payment"),
    ]
    assert after[3]["outcome"] == "full payment" and after[3]["match_rule"] == "claim id"
    with world.ctx.db.read() as s:  # the routine postings are not rows: derived from the lines
        stored = set(s.scalars(select(LedgerPosting.posting_key)))
        every = {p.posting_key for p in remittance_postings(s, rid)}
    assert stored == {"REM1:1:1"} and every == {r["posting_id"] for r in after}


def test_lines_applied_before_derived_postings_keep_their_rows(world: World) -> None:
    """A remittance applied by an older version: its lines have no posting prefix, every posting
    is a row; nothing is derived twice and the file lists the rows."""
    claim_id = world.claim("CLM0000001", "100.00")
    with world.ctx.db.unit_of_work() as s:
        rem = Remittance(
            source_format="x12_835",
            filename="old.835",
            raw_sha256="0" * 64,
            trace_number="OLD1",
            payment_date=date(2026, 11, 1),
            total_paid_minor=8000,
            unapplied_minor=0,
            currency="GBP",
            received_at=NOW,
        )
        s.add(rem)
        s.flush()
        s.add(
            RemittanceLine(
                remittance_id=rem.id,
                claim_id=claim_id,
                claim_ref="CLM0000001",
                status_code="1",
                charged_minor=10000,
                paid_minor=8000,
                currency="GBP",
                adjustments_json='[{"group": "CO", "reason": "45", "amount": "20.00"}]',
                match_rule="claim id (105): matched on claim id",
                applied=True,
            )
        )
        for key, kind, amount in (("REM1:0:1", "applied payment", 8000), ("REM1:0:a1", "contractual write-off", 2000)):
            s.add(
                LedgerPosting(
                    posting_key=key,
                    source_kind="remittance",
                    source_id=rem.id,
                    kind=kind,
                    claim_id=claim_id,
                    amount_minor=amount,
                    currency="GBP",
                    created_at=NOW,
                )
            )
        rid = rem.id
    with world.ctx.db.read() as s:
        assert sorted(p.posting_key for p in remittance_postings(s, rid)) == ["REM1:0:1", "REM1:0:a1"]
    rows = _rows(world, rid)
    assert [(r["posting_id"], r["amount"], r["claim_id"]) for r in rows] == [
        ("REM1:0:1", "80.00", "CLM0000001"),
        ("REM1:0:a1", "20.00", "CLM0000001"),
    ]
    assert rows[0]["explanation"] == "claim id (105): matched on claim id"  # what the line said then
