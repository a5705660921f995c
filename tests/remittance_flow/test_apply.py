"""Import and apply 835 remittances against claims in the database: to the penny."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.archive import artefact_bytes
from app.audit import SYSTEM
from app.claims.artefacts import ArtefactStore
from app.db.models import AuditEvent, ImportedFile, JournalEntry, JournalLine, Remittance, RemittanceLine, Task
from app.domain.status import ClaimStatus, RemittanceStatus
from app.errors import ParseError
from app.remittance.approvals import rerun_matching
from app.remittance.cash_csv import cash_application_csv
from app.remittance.ingest import import_remittance_file
from app.settings import set_setting
from tests.remittance_flow.conftest import World
from tests.remittance_flow.helpers import Clm, Pay, Svc, file_835, paid_claim


def _count(world: World, model: type) -> int:
    with world.ctx.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _journals_balanced(world: World) -> None:
    with world.ctx.db.read() as s:
        debits = s.scalar(select(func.sum(JournalLine.debit_minor)))
        credits = s.scalar(select(func.sum(JournalLine.credit_minor)))
    assert debits == credits


def test_full_payment_pays_claim_and_raises_copay(world: World) -> None:
    world.claim("CLM0000001", "100.00")
    data = file_835(Pay("TRC1", (paid_claim("CLM0000001", "100.00", "80.00", co="15.00", pr="5.00"),)))
    result = import_remittance_file(world.ctx, world.manager, data, "era.835")
    assert len(result.remittance_ids) == 1
    claim = world.get_claim("CLM0000001")
    assert (claim.paid_minor, claim.patient_resp_minor, claim.status) == (8000, 500, ClaimStatus.PAID)
    assert claim.adjudicated_at is not None
    assert world.invoice_due("CLM0000001") == 500  # the co-pay balance the co-pay flow collects
    kinds = {(p.kind, p.amount_minor, p.status) for p in world.postings()}
    assert kinds == {
        ("applied payment", 8000, "posted"),
        ("contractual write-off", 1500, "posted"),
        ("patient responsibility", 500, "posted"),
    }
    with world.ctx.db.read() as s:
        line = s.scalar(select(RemittanceLine))
        assert line is not None and line.applied and line.claim_id == claim.id
        assert line.match_rule.startswith("claim id (105)")
        assert "exactly as expected" in line.match_rule
        rem = s.scalar(select(Remittance))
        assert rem is not None and rem.status is RemittanceStatus.APPLIED and rem.total_paid_minor == 8000
        store = ArtefactStore(world.ctx.paths.archive)
        doc = artefact_bytes(s, store, "remittance", rem.id, "remittance.json")
        csv = cash_application_csv(s, store, rem.id)
    assert doc is not None and b'"trace_number": "TRC1"' in doc
    assert csv is not None and b"CLM0000001" in csv and b"contractual write-off" in csv
    assert _count(world, JournalEntry) == 1
    _journals_balanced(world)


def test_same_file_again_changes_nothing(world: World) -> None:
    world.claim("CLM0000001", "100.00")
    data = file_835(Pay("TRC1", (paid_claim("CLM0000001", "100.00", "80.00", co="20.00"),)))
    import_remittance_file(world.ctx, world.manager, data, "era.835")
    counts = [_count(world, m) for m in (Remittance, RemittanceLine, JournalEntry, AuditEvent, Task)]
    again = import_remittance_file(world.ctx, world.manager, data, "era-copy.835")
    assert again.duplicate and "already imported" in again.message and "nothing was changed" in again.message
    assert [_count(world, m) for m in (Remittance, RemittanceLine, JournalEntry, AuditEvent, Task)] == counts
    assert world.get_claim("CLM0000001").paid_minor == 8000


def test_reversal_then_correction_in_one_payment(world: World) -> None:
    world.claim("CLM0000001", "100.00", status=ClaimStatus.PAID, paid="80.00")
    reversal = paid_claim("CLM0000001", "-100.00", "-80.00", co="-20.00", status="22")
    corrected = paid_claim("CLM0000001", "100.00", "90.00", co="10.00")
    import_remittance_file(world.ctx, world.manager, file_835(Pay("TRC9", (reversal, corrected))), "rev.835")
    claim = world.get_claim("CLM0000001")
    assert claim.paid_minor == 9000  # 80.00 - 80.00 + 90.00
    assert claim.status is ClaimStatus.PAID  # PAID -> PARTLY_PAID (reversal) -> PAID (correction)
    amounts = sorted((p.kind, p.amount_minor) for p in world.postings())
    assert ("reversal (takeback)", -8000) in amounts and ("applied payment", 9000) in amounts
    with world.ctx.db.read() as s:
        bank = s.scalar(
            select(func.sum(JournalLine.debit_minor - JournalLine.credit_minor)).where(JournalLine.account == "1200")
        )
    assert bank == 1000  # the money that arrived: 90.00 - 80.00
    _journals_balanced(world)


def test_provider_level_adjustment_takeback(world: World) -> None:
    world.claim("CLM0000001", "100.00")
    pay = Pay("TRC2", (paid_claim("CLM0000001", "100.00", "100.00"),), plb=(("WO", "OLDCLAIM7", Decimal("25.00")),))
    import_remittance_file(world.ctx, world.manager, file_835(pay), "plb.835")
    with world.ctx.db.read() as s:
        rem = s.scalar(select(Remittance))
        assert rem is not None and rem.total_paid_minor == 7500 and rem.status is RemittanceStatus.APPLIED
        bank = s.scalar(
            select(func.sum(JournalLine.debit_minor - JournalLine.credit_minor)).where(JournalLine.account == "1200")
        )
        suspense = s.scalar(
            select(func.sum(JournalLine.debit_minor - JournalLine.credit_minor)).where(JournalLine.account == "9999")
        )
    assert (bank, suspense) == (7500, 2500)
    assert ("provider-level adjustment", -2500) in [(p.kind, p.amount_minor) for p in world.postings()]
    _journals_balanced(world)


def test_multi_payment_file_gives_one_remittance_per_payment_in_order(world: World) -> None:
    world.claim("CLM0000001", "100.00")
    world.claim("CLM0000002", "50.00", patient="P002")
    data = file_835(
        Pay("TRC-A", (paid_claim("CLM0000001", "100.00", "100.00"),)),
        Pay("TRC-B", (paid_claim("CLM0000002", "50.00", "50.00"),)),
    )
    result = import_remittance_file(world.ctx, world.manager, data, "two.835")
    with world.ctx.db.read() as s:
        traces = list(s.scalars(select(Remittance.trace_number).order_by(Remittance.id)))
    assert traces == ["TRC-A", "TRC-B"] and len(result.outcomes) == 2
    assert world.get_claim("CLM0000002").paid_minor == 5000


@pytest.mark.parametrize(
    ("tolerance", "status", "words"),
    [(200, ClaimStatus.PAID, "within tolerance"), (100, ClaimStatus.PARTLY_PAID, "beyond tolerance")],
)
def test_partial_payment_against_tolerance(world: World, tolerance: int, status: ClaimStatus, words: str) -> None:
    with world.ctx.db.unit_of_work() as s:
        set_setting(
            s, world.ctx.clock, SYSTEM, "cash.tolerance", {"aetna": {"absolute_minor": tolerance, "percent": "0"}}
        )
    world.claim("CLM0000001", "100.00")
    # allowed 85.00 (CO 15.00), patient 5.00: 80.00 expected, 78.50 paid -> 1.50 short
    claim = paid_claim("CLM0000001", "100.00", "78.50", co="15.00", pr="5.00")
    import_remittance_file(world.ctx, world.manager, file_835(Pay("TRC3", (claim,), total=Decimal("78.50"))), "p.835")
    row = world.get_claim("CLM0000001")
    assert (row.paid_minor, row.status) == (7850, status)
    with world.ctx.db.read() as s:
        rule = s.scalar(select(RemittanceLine.match_rule))
    assert rule is not None and words in rule and "1.50" in rule


def test_corrupt_835_is_refused_quarantined_and_nothing_applied(world: World) -> None:
    world.claim("CLM0000001", "100.00")
    good = file_835(
        Pay("TRC-A", (paid_claim("CLM0000001", "100.00", "100.00"),)),
        Pay("TRC-B", (paid_claim("CLM0000001", "100.00", "12.00"),)),
    ).replace(b"CLP*CLM0000001*1*100.00*12.00", b"CLP*CLM0000001*1*100.00*12.X0")
    with pytest.raises(ParseError) as err:
        import_remittance_file(world.ctx, world.manager, good, "bad.835")
    assert err.value.filename == "bad.835" and err.value.position.startswith("segment ")
    assert "not an amount" in err.value.reason
    assert _count(world, Remittance) == 0 and world.postings() == []
    assert world.get_claim("CLM0000001").paid_minor == 0
    with world.ctx.db.read() as s:
        files = list(s.scalars(select(ImportedFile)))
    assert [(f.status, f.filename) for f in files] == [("quarantined", "bad.835")]
    assert "segment" in files[0].message


def test_truncated_835_names_the_missing_end(world: World) -> None:
    data = file_835(Pay("TRC-A", (paid_claim("CLM0000001", "100.00", "100.00"),)))
    cut = data[: data.index(b"SE*")]
    with pytest.raises(ParseError) as err:
        import_remittance_file(world.ctx, world.manager, cut, "cut.835")
    assert "segment" in str(err.value)
    assert _count(world, Remittance) == 0


def test_unbalanced_payment_is_flagged_not_applied(world: World) -> None:
    world.claim("CLM0000001", "100.00")
    pay = Pay("TRC4", (paid_claim("CLM0000001", "100.00", "100.00"),), total=Decimal("90.00"))
    result = import_remittance_file(world.ctx, world.manager, file_835(pay), "u.835")
    assert result.outcomes[0].status is RemittanceStatus.FLAGGED
    assert world.postings() == [] and _count(world, JournalEntry) == 0
    assert world.get_claim("CLM0000001").paid_minor == 0
    with world.ctx.db.read() as s:
        task = s.scalar(select(Task).where(Task.kind == "remittance_unbalanced"))
        assert task is not None and "90.00" in task.detail and "100.00" in task.detail
        rid = s.scalar(select(Remittance.id))
    assert rid is not None
    again = rerun_matching(world.ctx, world.manager, rid)  # still refused without acceptance
    assert again.status is RemittanceStatus.FLAGGED and world.postings() == []
    accepted = rerun_matching(world.ctx, world.manager, rid, accept_unbalanced=True)
    assert accepted.status is RemittanceStatus.APPLIED and world.get_claim("CLM0000001").paid_minor == 10000


def test_unmatched_line_becomes_task_with_ranked_candidates_then_rerun_applies(world: World) -> None:
    world.claim("CLM0000001", "100.00")
    data = file_835(Pay("TRC5", (paid_claim("CLM-UNKNOWN", "100.00", "100.00"),)))
    result = import_remittance_file(world.ctx, world.manager, data, "un.835")
    assert result.outcomes[0].status is RemittanceStatus.PARTLY_APPLIED
    with world.ctx.db.read() as s:
        task = s.scalar(select(Task).where(Task.kind == "remittance_unmatched"))
        assert task is not None and "no claim matches" in task.detail
        rem = s.scalar(select(Remittance))
        assert rem is not None and rem.unapplied_minor == 10000
    assert [(p.kind, p.amount_minor) for p in world.postings()] == [("unapplied (no claim matched)", 10000)]
    # the claim number is corrected on our side; re-running matching applies the held cash once
    world.claim("CLM-UNKNOWN", "100.00", patient="P002")
    first = rerun_matching(world.ctx, world.manager, rem.id)
    assert first.status is RemittanceStatus.APPLIED and first.applied_lines == 1
    journals = _count(world, JournalEntry)
    second = rerun_matching(world.ctx, world.manager, rem.id)
    assert second.applied_lines == 0 and _count(world, JournalEntry) == journals
    with world.ctx.db.read() as s:
        assert s.scalar(select(Remittance.unapplied_minor)) == 0
        unapplied = s.scalar(
            select(func.sum(JournalLine.credit_minor - JournalLine.debit_minor)).where(JournalLine.account == "2100")
        )
    assert unapplied == 0
    _journals_balanced(world)


def test_the_same_adjustment_on_every_service_line_is_one_posting_per_claim(world: World) -> None:
    world.claim("CLM0000001", "200.00")
    services = tuple(
        Svc("99213", Decimal("100.00"), Decimal("80.00"), adjustments=(("CO", "45", D15), ("PR", "2", D5)))
        for _ in range(2)
    )
    clm = Clm("CLM0000001", Decimal("200.00"), Decimal("160.00"), patient_resp=Decimal("10.00"), services=services)
    import_remittance_file(world.ctx, world.manager, file_835(Pay("TRC1", (clm,))), "era.835")
    postings = sorted((p.kind, p.amount_minor, p.reason_code) for p in world.postings())
    assert postings == [
        ("applied payment", 16000, ""),
        ("contractual write-off", 3000, "CO-45"),
        ("patient responsibility", 1000, "PR-2"),
    ]
    with world.ctx.db.read() as s:  # the line keeps the claim's adjustments, remittance.json every service's own
        line = s.scalar(select(RemittanceLine))
        assert line is not None and line.services_json == ""
        assert json.loads(line.adjustments_json) == [
            {"group": "CO", "reason": "45", "amount": "30.00"},
            {"group": "PR", "reason": "2", "amount": "10.00"},
        ]
        rem = s.scalar(select(Remittance))
        assert rem is not None
        doc = artefact_bytes(s, ArtefactStore(world.ctx.paths.archive), "remittance", rem.id, "remittance.json")
    assert doc is not None
    (claim,) = json.loads(doc)["claims"]
    assert [[a["amount"] for a in svc["adjustments"]] for svc in claim["services"]] == [["15.00", "5.00"]] * 2
    assert world.get_claim("CLM0000001").status is ClaimStatus.PAID


D15, D5 = Decimal("15.00"), Decimal("5.00")
