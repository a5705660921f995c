"""cash-application.csv built on request: after a re-run, and for lines applied before routine
postings were derived from lines (all their postings are rows)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from app.archive import keep_artefact
from app.claims.artefacts import ArtefactStore
from app.db.models import LedgerPosting, Remittance, RemittanceLine
from app.domain.status import RemittanceStatus
from app.errors import DomainError
from app.remittance.approvals import rerun_matching
from app.remittance.cash_csv import cash_application_csv
from app.remittance.ingest import import_remittance_file
from app.remittance.postings import remittance_postings
from tests.remittance_flow.conftest import World
from tests.remittance_flow.helpers import Pay, file_835, paid_claim

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _rows(world: World, rid: int) -> list[dict[str, str]]:
    with world.ctx.db.read() as s:
        data = cash_application_csv(s, ArtefactStore(world.ctx.paths.archive), rid)
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


def test_a_remittance_applied_by_an_older_version_exports_its_kept_files_then_what_came_since(
    world: World,
) -> None:
    """An older version kept cash-application.csv at import and stored every posting as a row
    (lines without a posting prefix). Its export is that file as kept, then the rows of lines a
    re-run applied since; nothing is derived twice."""
    claim_id = world.claim("CLM0000001", "100.00")
    store = ArtefactStore(world.ctx.paths.archive)
    kept = b"remittance_id,line\r\nREM1,1\r\nREM1,2\r\n"  # as kept (its content is the older version's)
    with world.ctx.db.unit_of_work() as s:
        rem = Remittance(
            source_format="x12_835",
            filename="old.835",
            raw_sha256="0" * 64,
            trace_number="OLD1",
            payment_date=date(2026, 11, 1),
            total_paid_minor=13000,
            unapplied_minor=5000,
            currency="GBP",
            received_at=NOW,
            status=RemittanceStatus.PARTLY_APPLIED,
        )
        s.add(rem)
        s.flush()
        rid = rem.id
        common = {"remittance_id": rid, "status_code": "1", "currency": "GBP", "applied_at": None}
        s.add(
            RemittanceLine(
                **common,
                claim_id=claim_id,
                claim_ref="CLM0000001",
                charged_minor=10000,
                paid_minor=8000,
                adjustments_json='[{"group": "CO", "reason": "45", "amount": "20.00"}]',
                match_rule="claim id (105): matched on claim id",
                applied=True,
            )
        )
        s.add(
            RemittanceLine(
                **common,
                claim_ref="CLM-LATE",
                charged_minor=5000,
                paid_minor=5000,
                match_rule="unmatched: no claim matches",
            )
        )
        rows = (
            ("REM1:0:1", "applied payment", 8000, claim_id),
            ("REM1:0:a1", "contractual write-off", 2000, claim_id),
            ("REM1:1:1", "unapplied (no claim matched)", 5000, None),
        )
        for key, kind, amount, claim in rows:
            s.add(
                LedgerPosting(
                    posting_key=key,
                    source_kind="remittance",
                    source_id=rid,
                    kind=kind,
                    claim_id=claim,
                    amount_minor=amount,
                    currency="GBP",
                    created_at=NOW,
                )
            )
        keep_artefact(s, world.ctx.clock, store, "remittance", rid, "cash-application.csv", kept)
    with world.ctx.db.read() as s:
        assert sorted(p.posting_key for p in remittance_postings(s, rid)) == ["REM1:0:1", "REM1:0:a1", "REM1:1:1"]
        assert cash_application_csv(s, store, rid) == kept
    world.claim("CLM-LATE", "50.00")
    assert rerun_matching(world.ctx, world.manager, rid).applied_lines == 1
    with world.ctx.db.read() as s:
        text = cash_application_csv(s, store, rid)
        assert len(remittance_postings(s, rid)) == 4  # the re-run's cash, derived from its line
    assert text.startswith(kept)
    (added,) = csv.DictReader(
        io.StringIO(
            "remittance_id,line,payer_claim_id,claim_id,match_rule,score,outcome,"
            "posting_id,posting_kind,amount,currency,needs_approval,needs_review,explanation\r\n"
            + text[len(kept) :].decode()
        )
    )
    assert (added["line"], added["claim_id"], added["posting_id"], added["amount"]) == (
        "2",
        "CLM-LATE",
        "REM1-rerun1:1:1",
        "50.00",
    )


def test_a_remittance_with_nothing_applied_has_no_cash_application(world: World) -> None:
    world.claim("CLM0000001", "100.00")
    unbalanced = Pay("TRC3", (paid_claim("CLM0000001", "100.00", "80.00", co="20.00"),), total=D("90.00"))
    result = import_remittance_file(world.ctx, world.manager, file_835(unbalanced), "era.835")
    assert result.outcomes[0].status is RemittanceStatus.FLAGGED
    with world.ctx.db.read() as s, pytest.raises(DomainError, match="nothing of it has been applied yet"):
        cash_application_csv(s, ArtefactStore(world.ctx.paths.archive), result.remittance_ids[0])
