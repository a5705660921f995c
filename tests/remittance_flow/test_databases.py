"""The bulk path (core executemany updates and inserts) on SQLite and PostgreSQL alike."""

from __future__ import annotations

from sqlalchemy import func, select

from app.db.models import JournalLine
from app.domain.status import ClaimStatus
from app.remittance.approvals import decide_writeoff
from app.remittance.ingest import import_remittance_file
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
