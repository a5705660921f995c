"""A claim from signed-off encounter to adjudicated on each channel, with every artefact kept.

Adjudication: the insurer's remittance file IS collected (SFTP outbound, portal, clearinghouse 835)
and registered for the remittance runbook, but claims does not apply remittances; the paid status
is then entered with ``record_adjudication`` (a direct status update, as a person or the remittance
runbook would).
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from app.claims.preflight import check_claim
from app.claims.service import record_adjudication, store_of
from app.claims.submission import claim_artefacts, pack_claim, submit_claim
from app.db.models import ImportedFile
from app.domain.status import ClaimStatus
from app.money import Money
from tests.claims_flow.conftest import World, ack_xml, remittance_xml, visible, x12_277ca, x12_999
from tests.x12.oracle import pyx12_validate

EVERY_ARTEFACT = {"eligibility.json", "coding-audit.csv", "attachments.zip", "hash-report.json", "dispatch-log.ndjson"}


def _through_submit(world: World, payer: str) -> int:
    claim_id = world.claim(payer)
    result = check_claim(world.ctx, world.manager, claim_id)
    assert result.status is ClaimStatus.READY and result.covered and not result.blocking, str(result)
    pack_claim(world.ctx, world.manager, claim_id)
    submit_claim(world.ctx, world.manager, claim_id)
    assert world.status(claim_id) is ClaimStatus.QUEUED
    report = world.dispatch()
    assert report.sent == 1, report.errors
    assert world.status(claim_id) is ClaimStatus.SUBMITTED
    return claim_id


def _artefacts(world: World, claim_id: int) -> dict[str, bytes]:
    with world.ctx.db.read() as s:
        return claim_artefacts(s, store_of(world.ctx), claim_id)


def _registered(world: World, kind: str) -> list[ImportedFile]:
    with world.ctx.db.read() as s:
        return list(s.scalars(select(ImportedFile).where(ImportedFile.kind == kind)))


def _adjudicate(world: World, claim_id: int) -> None:
    claim = world.get(claim_id)
    record_adjudication(
        world.ctx, world.manager, claim_id, ClaimStatus.PAID, Money(claim.total_minor, "GBP"), Money(0, "GBP"), "paid"
    )
    assert world.status(claim_id) is ClaimStatus.PAID


def test_sftp_xml_claim_end_to_end(world: World) -> None:
    claim_id = _through_submit(world, "bupa")
    number = world.get(claim_id).number
    inbox = world.sftp.root / "inbox"
    assert visible(inbox) == [f"{number}-treatment-note.pdf", f"{number}.xml"]
    outbound = world.sftp.root / "outbound"
    (outbound / "ACK-1.xml").write_bytes(ack_xml(number, ref="BUPA-7781234"))
    world.poll("insurer_sftp")
    claim = world.get(claim_id)
    assert claim.status is ClaimStatus.ACKNOWLEDGED and claim.insurer_ref == "BUPA-7781234"
    assert visible(outbound / "processed") == ["ACK-1.xml"]
    (outbound / "REM-1.xml").write_bytes(remittance_xml(number, "BUPA-7781234", "75.00"))
    world.poll("insurer_sftp")
    (remittance,) = _registered(world, "insurer_xml")
    assert remittance.status == "received" and world.status(claim_id) is ClaimStatus.ACKNOWLEDGED
    assert visible(outbound) == ["REM-1.xml"]  # left for the remittance runbook
    _adjudicate(world, claim_id)
    files = _artefacts(world, claim_id)
    assert set(files) == EVERY_ARTEFACT | {f"{number}.xml"}
    assert files[f"{number}.xml"] == (inbox / f"{number}.xml").read_bytes()
    report = json.loads(files["hash-report.json"])
    assert {f["name"] for f in report["files"]} == {f"{number}.xml", "treatment-note.pdf"}
    (line,) = files["dispatch-log.ndjson"].decode().splitlines()
    assert json.loads(line)["event"] == "sent"


def test_portal_claim_end_to_end(world: World) -> None:
    claim_id = _through_submit(world, "axa")
    claim = world.get(claim_id)
    (stored,) = world.portal.claims.values()
    assert claim.insurer_ref == stored.reference and stored.payload_name == f"{claim.number}.xml"
    assert set(stored.attachments) == {"treatment-note.pdf"}
    world.portal.add_remittance("REM-AXA-1.xml", remittance_xml(claim.number, stored.reference, "75.00", "AXA"),
                                world.clock.now())  # fmt: skip
    world.poll("insurer_portal")
    assert world.status(claim_id) is ClaimStatus.ACKNOWLEDGED  # the portal reports it RECEIVED
    assert [f.filename for f in _registered(world, "insurer_xml")] == ["REM-AXA-1.xml"]
    _adjudicate(world, claim_id)
    assert set(_artefacts(world, claim_id)) == EVERY_ARTEFACT | {f"{claim.number}.xml"}


def test_clearinghouse_claim_end_to_end(world: World, tmp_path: Path) -> None:
    claim_id = _through_submit(world, "aetna")
    number = world.get(claim_id).number
    inbox = world.clearing.root / "inbox"
    (sent_name,) = visible(inbox)
    assert sent_name.startswith(number) and sent_name.endswith(".837")
    ok, errors = pyx12_validate(inbox / sent_name)
    assert ok, errors
    control = int((inbox / sent_name).read_text()[90:99])
    outbound = world.clearing.root / "outbound"
    (outbound / "a.999").write_bytes(x12_999(control))
    world.poll("clearinghouse")
    assert world.status(claim_id) is ClaimStatus.SUBMITTED  # a 999 only accepts the file
    (outbound / "b.277").write_bytes(x12_277ca(number, payer_ref="AET-1107000014420"))
    world.poll("clearinghouse")
    claim = world.get(claim_id)
    assert claim.status is ClaimStatus.ACKNOWLEDGED and claim.insurer_ref == "AET-1107000014420"
    assert visible(outbound / "processed") == ["a.999", "b.277"]
    sample = Path("/work/shared/x12-samples/linuxforhealth/835_005010X221A1/managed-care.835").read_bytes()
    (outbound / "c.835").write_bytes(sample)
    world.poll("clearinghouse")
    assert [f.status for f in _registered(world, "x12_835")] == ["received"]
    _adjudicate(world, claim_id)
    assert set(_artefacts(world, claim_id)) == EVERY_ARTEFACT | {sent_name}
