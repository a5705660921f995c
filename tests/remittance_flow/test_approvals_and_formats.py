"""Held write-offs and a manager's decision; insurer XML and CSV remittances; journal exports."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.audit import SYSTEM
from app.db.models import AuditEvent, JournalEntry, Remittance, Task
from app.domain.status import ClaimStatus, RemittanceStatus
from app.errors import PermissionDenied, ValidationFailed
from app.remittance.approvals import decide_writeoff, rerun_matching
from app.remittance.exports import JournalFormat, export_journals
from app.remittance.ingest import import_remittance_file
from app.settings import set_setting
from tests.remittance_flow.conftest import World
from tests.remittance_flow.helpers import Pay, file_835, paid_claim

XML_EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "insurer-xml" / "examples" / "REM-20261127-0042.xml"


def _journal_count(world: World) -> int:
    with world.ctx.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(JournalEntry)) or 0)


def test_writeoff_above_limit_is_held_until_a_manager_approves(world: World) -> None:
    world.claim("CLM0000001", "200.00")
    # CO-45 of 120.00 is above the default 50.00 limit
    data = file_835(Pay("TRC7", (paid_claim("CLM0000001", "200.00", "80.00", co="120.00"),)))
    result = import_remittance_file(world.ctx, world.manager, data, "w.835")
    assert result.outcomes[0].held_postings == 1
    held = [p for p in world.postings() if p.status == "held"]
    assert [(p.kind, p.amount_minor) for p in held] == [("contractual write-off", 12000)]
    with world.ctx.db.read() as s:
        assert s.scalar(select(Task.title).where(Task.kind == "writeoff_approval")) is not None
    journals = _journal_count(world)
    with pytest.raises(PermissionDenied):
        decide_writeoff(world.ctx, world.frontdesk, held[0].id, approve=True)
    assert {p.status for p in world.postings() if p.id == held[0].id} == {"held"}
    message = decide_writeoff(world.ctx, world.manager, held[0].id, approve=True)
    assert "approved" in message and _journal_count(world) == journals + 1
    assert {p.status for p in world.postings() if p.id == held[0].id} == {"approved"}
    with world.ctx.db.read() as s:
        assert (
            s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "ledger_posting.approve"))
            == 1
        )
    with pytest.raises(Exception, match="not waiting for approval"):
        decide_writeoff(world.ctx, world.manager, held[0].id, approve=True)
    # re-running matching and re-importing post nothing twice
    with world.ctx.db.read() as s:
        rid = s.scalar(select(Remittance.id))
    assert rid is not None
    again = rerun_matching(world.ctx, world.manager, rid)
    assert again.journals_posted == () and _journal_count(world) == journals + 1


def test_reject_needs_a_reason_and_is_logged(world: World) -> None:
    world.claim("CLM0000001", "200.00")
    data = file_835(Pay("TRC8", (paid_claim("CLM0000001", "200.00", "80.00", co="120.00"),)))
    import_remittance_file(world.ctx, world.manager, data, "w.835")
    held = next(p for p in world.postings() if p.status == "held")
    with pytest.raises(ValidationFailed):
        decide_writeoff(world.ctx, world.manager, held.id, approve=False)
    decide_writeoff(world.ctx, world.manager, held.id, approve=False, reason="contract says 60.00 only")
    assert next(p for p in world.postings() if p.id == held.id).status == "rejected"
    with world.ctx.db.read() as s:
        reason = s.scalar(select(AuditEvent.reason).where(AuditEvent.action == "ledger_posting.reject"))
    assert reason == "contract says 60.00 only"


def test_insurer_xml_remittance_is_applied_with_copay(world: World) -> None:
    world.claim("CLM-000123", "156.00", payer="bupa", insurer_ref="BUPA-7781234")
    result = import_remittance_file(world.ctx, world.manager, XML_EXAMPLE.read_bytes(), XML_EXAMPLE.name)
    assert result.kind == "insurer_xml_remittance"
    claim = world.get_claim("CLM-000123")
    assert (claim.paid_minor, claim.patient_resp_minor, claim.status) == (12600, 2000, ClaimStatus.PAID)
    assert world.invoice_due("CLM-000123") == 2000
    with world.ctx.db.read() as s:
        rem = s.scalar(select(Remittance))
        assert rem is not None and rem.payer_id == world.payers["bupa"] and rem.status is RemittanceStatus.APPLIED


def test_csv_remittance_with_saved_mapping(world: World) -> None:
    world.claim("CLM0000001", "100.00", payer="bupa")
    world.claim("CLM0000002", "60.00", payer="bupa", patient="P002")
    mapping = {
        "source": "bupa",
        "columns": {
            "trace_number": "Payment Ref",
            "payment_date": "Paid On",
            "claim_id": "Our Ref",
            "charged": "Billed",
            "paid": "Paid",
            "patient_responsibility": "Excess",
            "contractual": "Discount",
        },
        "date_formats": ["%d/%m/%Y"],
    }
    with world.ctx.db.unit_of_work() as s:
        set_setting(s, world.ctx.clock, SYSTEM, "csv_mappings.remittance.bupa", mapping)
    data = (
        b"Payment Ref,Paid On,Our Ref,Billed,Paid,Excess,Discount\n"
        b"PAY-9,27/11/2026,CLM0000001,100.00,70.00,10.00,20.00\n"
        b"PAY-9,27/11/2026,CLM0000002,60.00,60.00,0.00,0.00\n"
    )
    result = import_remittance_file(world.ctx, world.manager, data, "bupa.csv", payer_code="bupa")
    assert result.kind == "remittance_csv" and len(result.remittance_ids) == 1
    assert world.get_claim("CLM0000001").paid_minor == 7000 and world.invoice_due("CLM0000001") == 1000
    assert world.get_claim("CLM0000002").status is ClaimStatus.PAID


def test_csv_with_wrong_columns_is_refused_and_quarantined(world: World) -> None:
    with world.ctx.db.unit_of_work() as s:
        set_setting(
            s,
            world.ctx.clock,
            SYSTEM,
            "csv_mappings.remittance.bupa",
            {
                "source": "bupa",
                "columns": {"trace_number": "Ref", "payment_date": "Date", "charged": "Billed", "paid": "Paid"},
            },
        )
    with pytest.raises(ValidationFailed, match="column 'Ref'"):
        import_remittance_file(
            world.ctx, world.manager, b"Reference,Date,Billed,Paid\nX,2026-01-01,1,1\n", "b.csv", payer_code="bupa"
        )
    with world.ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Remittance)) == 0


def test_front_desk_cannot_import(world: World) -> None:
    with pytest.raises(PermissionDenied):
        import_remittance_file(world.ctx, world.frontdesk, file_835(Pay("T", ())), "x.835")


def test_journal_exports_xero_and_qbo(world: World) -> None:
    with world.ctx.db.unit_of_work() as s:
        set_setting(
            s,
            world.ctx.clock,
            SYSTEM,
            "accounting.external_map",
            {"codes": {"1200": "090"}, "names": {"1100": "Debtors - insurers"}},
        )
    world.claim("CLM0000001", "100.00")
    data = file_835(Pay("TRC1", (paid_claim("CLM0000001", "100.00", "80.00", co="15.00", pr="5.00"),)))
    import_remittance_file(world.ctx, world.manager, data, "era.835")
    ours = list(csv.DictReader(io.StringIO(export_journals(world.ctx, JournalFormat.JOURNALS).decode())))
    assert sum(Decimal(r["debit"]) for r in ours) == sum(Decimal(r["credit"]) for r in ours) == Decimal("100.00")
    assert {r["account_code"] for r in ours} >= {"1200", "1100", "1110", "4100"}
    xero = list(csv.DictReader(io.StringIO(export_journals(world.ctx, JournalFormat.XERO).decode())))
    bank = [r for r in xero if r["*AccountCode"] == "090"]
    assert bank and bank[0]["*Amount"] == "80.00" and bank[0]["*Date"] == "05/01/2024"
    assert sum(int(r["*Amount"].replace(".", "")) for r in xero) == 0
    qbo = list(csv.DictReader(io.StringIO(export_journals(world.ctx, JournalFormat.QBO).decode())))
    assert any(r["Account"] == "Debtors - insurers" and r["Credits"] for r in qbo)
    assert len({r["Journal No"] for r in qbo}) == 1
