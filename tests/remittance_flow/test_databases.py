"""The bulk path (core executemany updates and inserts) on SQLite and PostgreSQL alike."""

from __future__ import annotations

from sqlalchemy import func, select

from app.claims.artefacts import ArtefactStore
from app.db.models import JournalLine, LedgerPosting, RemittanceLine
from app.domain.status import ClaimStatus
from app.remittance.approvals import decide_writeoff
from app.remittance.cash_csv import cash_application_csv
from app.remittance.ingest import import_remittance_file
from app.remittance.postings import remittance_postings
from app.settings import set_setting
from tests.remittance_flow.conftest import World
from tests.remittance_flow.helpers import Pay, file_835, paid_claim


def test_apply_reversal_copay_and_approval_on_both_databases(any_world: World) -> None:
    w = any_world
    w.claim("CLM0000001", "100.00", status=ClaimStatus.PAID, paid="80.00")
    w.claim("CLM0000002", "200.00", patient="P002")
    data = file_835(
        Pay(
            "TRC1",
            (
                paid_claim("CLM0000001", "-100.00", "-80.00", co="-20.00", status="22"),
                paid_claim("CLM0000002", "200.00", "70.00", co="120.00", pr="10.00"),
            ),
        )
    )
    import_remittance_file(w.ctx, w.manager, data, "era.835")
    first, second = w.get_claim("CLM0000001"), w.get_claim("CLM0000002")
    assert (first.paid_minor, first.status) == (0, ClaimStatus.PARTLY_PAID)
    assert (second.paid_minor, second.patient_resp_minor, second.status) == (7000, 1000, ClaimStatus.PAID)
    assert w.invoice_due("CLM0000002") == 1000
    held = next(p for p in w.postings() if p.status == "held")
    decide_writeoff(w.ctx, w.manager, held.id, approve=True)
    with w.ctx.db.read() as s:
        debits, credits = s.execute(select(func.sum(JournalLine.debit_minor), func.sum(JournalLine.credit_minor))).one()
    assert debits == credits
    assert import_remittance_file(w.ctx, w.manager, data, "era.835").duplicate
    with w.ctx.db.read() as s:  # rows and derived postings, and the file built from them, alike on both
        keys = [p.posting_key for p in remittance_postings(s, 1)]
        text = cash_application_csv(s, ArtefactStore(w.ctx.paths.archive), 1).decode()
    assert keys == ["REM1:0:1", "REM1:0:a1", "REM1:1:1", "REM1:1:a1", "REM1:1:a2"]
    assert [line.split(",")[7] for line in text.splitlines()[1:]] == keys
    # a later payment sees the write-off kept on the line: 200 - 70 paid - 10 patient - 120 written off = 0 due
    again = file_835(Pay("TRC2", (paid_claim("CLM0000002", "200.00", "5.00"),)))
    import_remittance_file(w.ctx, w.manager, again, "era2.835")
    with w.ctx.db.read() as s:
        memo = s.scalar(select(LedgerPosting.memo).where(LedgerPosting.posting_key == "REM2:0:2"))
    assert memo == "paid £5.00 more than the £0.00 outstanding"


def test_a_routine_write_off_kept_on_the_line_counts_for_later_payments_on_both_databases(any_world: World) -> None:
    w = any_world
    with w.ctx.db.unit_of_work() as s:
        set_setting(s, w.ctx.clock, w.manager, "cash.writeoff_limit_minor", 100_000)
    w.claim("CLM0000003", "100.00")
    first = file_835(Pay("TRC3", (paid_claim("CLM0000003", "100.00", "80.00", co="20.00"),)))
    import_remittance_file(w.ctx, w.manager, first, "era3.835")
    with w.ctx.db.read() as s:  # not held: no row, the line keeps it
        assert s.scalar(select(func.count()).select_from(LedgerPosting)) == 0
        assert s.scalar(select(RemittanceLine.written_off_minor)) == 2000
    late = file_835(Pay("TRC4", (paid_claim("CLM0000003", "100.00", "5.00"),)))
    import_remittance_file(w.ctx, w.manager, late, "era4.835")
    with w.ctx.db.read() as s:
        memo = s.scalar(select(LedgerPosting.memo).where(LedgerPosting.posting_key == "REM2:0:2"))
    assert memo == "paid £5.00 more than the £0.00 outstanding"  # 100 - 80 paid - 20 written off
