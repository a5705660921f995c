"""Adjudication through the real remittance path, one test per channel.

The insurer leaves its remittance where the channel poll collects it (SFTP ``outbound/``, the
portal's remittance documents, the clearinghouse's 835); the ``remittance_collect`` job applies it.
Nothing calls ``record_adjudication``: the claim's status, paid amount, the patient's share on the
invoice and the journal come from the remittance alone.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from app.claims.preflight import check_claim
from app.claims.submission import submit_claim
from app.db.models import AuditEvent, ImportedFile, Invoice, Remittance
from app.domain.status import ClaimStatus, RemittanceStatus
from app.jobs import remittance_collect
from app.ledger.chart import AccountRole
from app.ledger.store import load_entries
from app.queries.claims import claim_detail
from app.remittance.apply import ledger_id
from app.remittance.policy import account_map
from tests.claims_flow.conftest import World, ack_xml, visible, x12_277ca
from tests.x12.make835 import Clm, Pay, Svc, build_835
from tests.x12.oracle import pyx12_validate


def _submitted(world: World, payer: str, codes: tuple[str, ...] = ("PHY01",)) -> int:
    claim_id = world.claim(payer, codes=codes)
    assert check_claim(world.ctx, world.manager, claim_id).status is ClaimStatus.READY
    submit_claim(world.ctx, world.manager, claim_id)
    assert world.dispatch().sent == 1
    return claim_id


def remittance(number: str, ref: str, *, insurer: str, charged: str, paid: str, patient: str, trace: str) -> bytes:
    """An insurer XML remittance for one claim (the shape of resources/insurer-xml/examples)."""
    adjusted = Decimal(charged) - Decimal(paid) - Decimal(patient)
    adjustment = (
        f'<Adjustment code="FEE-SCHEDULE" currency="GBP" text="Above the fee schedule">{adjusted:.2f}</Adjustment>'
        if adjusted
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Remittance xmlns="urn:clinic-billing-desk:insurer:remittance:v1" version="1.0">'
        f"<InsurerCode>{insurer}</InsurerCode><PaymentReference>{trace}</PaymentReference>"
        f'<PaymentDate>2026-11-27</PaymentDate><TotalPaid currency="GBP">{paid}</TotalPaid>'
        f"<Claim><ClaimId>{number}</ClaimId><InsurerClaimRef>{ref}</InsurerClaimRef>"
        f'<Charged currency="GBP">{charged}</Charged><Paid currency="GBP">{paid}</Paid>'
        f'<PatientResponsibility currency="GBP">{patient}</PatientResponsibility>{adjustment}'
        "</Claim></Remittance>\n"
    ).encode()


def _invoice_due(world: World, claim_id: int) -> int:
    encounter_id = world.get(claim_id).encounter_id
    with world.ctx.db.read() as s:
        due = s.scalar(select(Invoice.patient_due_minor).where(Invoice.encounter_id == encounter_id))
    assert due is not None
    return due


def _applied(world: World, trace: str) -> Remittance:
    with world.ctx.db.read() as s:
        rem = s.scalar(select(Remittance).where(Remittance.trace_number == trace))
    assert rem is not None and rem.status is RemittanceStatus.APPLIED, rem
    return rem


def _journal(world: World, rem: Remittance) -> tuple[int, int, int]:
    """(bank debit, patients' receivable debit, insurers' receivable credit) of the remittance's journal."""
    with world.ctx.db.read() as s:
        (entry,) = [e for e in load_entries(s, source_kind="remittance") if e.source_id == ledger_id(rem.id)]
        accounts = account_map(s)
    assert sum(ln.debit.minor for ln in entry.lines) == sum(ln.credit.minor for ln in entry.lines)

    def total(role: AccountRole, side: str) -> int:
        return sum(getattr(ln, side).minor for ln in entry.lines if ln.account == accounts.code(role))

    return (
        total(AccountRole.BANK, "debit"),
        total(AccountRole.AR_PATIENTS, "debit"),
        total(AccountRole.AR_INSURERS, "credit"),
    )


def _file_status(world: World, name: str) -> str:
    with world.ctx.db.read() as s:
        return str(s.scalar(select(ImportedFile.status).where(ImportedFile.filename == name)))


def _adjudicated_by_the_remittance(world: World, claim_id: int) -> None:
    """No hand-entered decision: the status change is in the remittance's audit event, not a claim.* one."""
    number, status = world.get(claim_id).number, world.status(claim_id)
    with world.ctx.db.read() as s:
        actions = set(s.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "claim")))
        (applied,) = s.scalars(select(AuditEvent.after_json).where(AuditEvent.action == "remittance.apply"))
    assert not actions & {"claim.paid", "claim.partly_paid", "claim.denied"}
    changes = json.loads(applied)["changes"]["claims"]
    change = dict(zip(changes["columns"], changes["rows"][0], strict=True))
    assert change["claim"] == number and [change["status_before"], change["status_after"]] == [
        "acknowledged",
        status.value,
    ]
    with world.ctx.db.read() as s:  # and the claim's own timeline shows the remittance
        timeline = claim_detail(s, claim_id).timeline
    assert any(e.action.startswith("remittance ") and "paid £" in e.detail for e in timeline)


def test_sftp_remittance_collected_and_applied_partly_patient(world: World) -> None:
    claim_id = _submitted(world, "bupa", codes=("PHY01", "PHY02"))  # 75.00 + 55.00
    number = world.get(claim_id).number
    outbound = world.sftp.root / "outbound"
    (outbound / "ACK-1.xml").write_bytes(ack_xml(number, ref="BUPA-7781234"))
    world.poll("insurer_sftp")
    assert world.status(claim_id) is ClaimStatus.ACKNOWLEDGED
    body = remittance(number, "BUPA-7781234", insurer="BUPA", charged="130.00", paid="104.01", patient="25.99",
                      trace="BUPA-PAY-7")  # fmt: skip
    (outbound / "REM-7.xml").write_bytes(body)
    assert "1 remittance" in world.poll("insurer_sftp")
    assert world.status(claim_id) is ClaimStatus.ACKNOWLEDGED  # collected, not applied yet

    report = remittance_collect(world.ctx)
    assert report.startswith("1 remittance file(s) applied"), report
    claim = world.get(claim_id)
    assert claim.status is ClaimStatus.PAID and claim.adjudicated_at is not None
    assert (claim.paid_minor, claim.patient_resp_minor) == (10401, 2599)
    assert _invoice_due(world, claim_id) == 2599
    assert _journal(world, _applied(world, "BUPA-PAY-7")) == (10401, 2599, 10401 + 2599)
    assert _file_status(world, "REM-7.xml") == "processed"
    world.poll("insurer_sftp")  # the file is still on the server: collected again, recognised as the same
    assert remittance_collect(world.ctx) == "0 remittance file(s) applied"
    assert world.get(claim_id).paid_minor == 10401 and _invoice_due(world, claim_id) == 2599
    _adjudicated_by_the_remittance(world, claim_id)


def test_portal_remittance_collected_and_applied_in_full(world: World) -> None:
    claim_id = _submitted(world, "axa")
    claim = world.get(claim_id)
    (stored,) = world.portal.claims.values()
    body = remittance(claim.number, stored.reference, insurer="AXA", charged="75.00", paid="75.00", patient="0.00",
                      trace="AXA-PAY-1")  # fmt: skip
    world.portal.add_remittance("REM-AXA-1.xml", body, world.clock.now())
    world.poll("insurer_portal")
    assert world.status(claim_id) is ClaimStatus.ACKNOWLEDGED  # the portal reports it RECEIVED

    assert remittance_collect(world.ctx).startswith("1 remittance file(s) applied")
    claim = world.get(claim_id)
    assert claim.status is ClaimStatus.PAID
    assert (claim.paid_minor, claim.patient_resp_minor) == (7500, 0)
    assert _invoice_due(world, claim_id) == 0
    assert _journal(world, _applied(world, "AXA-PAY-1")) == (7500, 0, 7500)
    _adjudicated_by_the_remittance(world, claim_id)


def test_clearinghouse_835_collected_and_applied_underpaid(world: World, tmp_path: Path) -> None:
    claim_id = _submitted(world, "aetna", codes=("PHY01", "PHY02"))  # 130.00
    number = world.get(claim_id).number
    outbound = world.clearing.root / "outbound"
    (outbound / "b.277").write_bytes(x12_277ca(number, payer_ref="AET-1107000014420"))
    world.poll("clearinghouse")
    assert world.status(claim_id) is ClaimStatus.ACKNOWLEDGED
    services = (
        Svc("97161", Decimal("75.00"), Decimal("50.00"), adjustments=(("PR", "2", Decimal("10.00")),)),
        Svc("97110", Decimal("55.00"), Decimal("30.33"), adjustments=(("PR", "1", Decimal("4.67")),)),
    )
    clm = Clm(number, Decimal("130.00"), Decimal("80.33"), patient_resp=Decimal("14.67"),
              payer_claim_id="AET-1107000014420", services=services)  # fmt: skip
    era = build_835([Pay("EFT-AET-1", (clm,), payer="AETNA", paid_on=date(2026, 11, 27))]).encode()
    (tmp_path / "era.835").write_bytes(era)
    ok, errors = pyx12_validate(tmp_path / "era.835")
    assert ok, errors
    (outbound / "era.835").write_bytes(era)
    world.poll("clearinghouse")
    assert visible(outbound) == ["era.835"]  # registered and left for the remittance runbook

    assert remittance_collect(world.ctx).startswith("1 remittance file(s) applied")
    claim = world.get(claim_id)
    assert claim.status is ClaimStatus.PARTLY_PAID  # 35.00 unexplained: beyond tolerance
    assert (claim.paid_minor, claim.patient_resp_minor) == (8033, 1467)
    assert _invoice_due(world, claim_id) == 1467
    assert _journal(world, _applied(world, "EFT-AET-1")) == (8033, 1467, 8033 + 1467)
    _adjudicated_by_the_remittance(world, claim_id)
