"""Remittance files the claims runbook collected (status "received") are applied by collect_pending."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.archive import register_incoming
from app.audit import SYSTEM
from app.claims.artefacts import ArtefactStore
from app.db.models import ImportedFile
from app.domain.status import ClaimStatus
from app.remittance.sync import POLLS, collect_pending
from tests.remittance_flow.conftest import World
from tests.remittance_flow.helpers import Pay, file_835, paid_claim

XML_EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "insurer-xml" / "examples" / "REM-20261127-0042.xml"


def _left_by_claims_runbook(world: World, kind: str, source: str, name: str, data: bytes) -> None:
    with world.ctx.db.unit_of_work() as s:
        reg = register_incoming(
            s,
            world.ctx.clock,
            SYSTEM,
            ArtefactStore(world.ctx.paths.archive),
            kind=kind,
            source=source,
            filename=name,
            data=data,
        )
        reg.file.status = "received"


def test_collect_pending_applies_xml_and_835_once_and_quarantines_bad(world: World) -> None:
    assert POLLS == {}
    world.claim("CLM-000123", "156.00", payer="bupa", insurer_ref="BUPA-7781234")
    world.claim("CLM0000001", "100.00")
    _left_by_claims_runbook(world, "insurer_xml", "bupa", XML_EXAMPLE.name, XML_EXAMPLE.read_bytes())
    _left_by_claims_runbook(
        world, "x12_835", "aetna", "era.835", file_835(Pay("T1", (paid_claim("CLM0000001", "100.00", "100.00"),)))
    )
    _left_by_claims_runbook(world, "x12_835", "aetna", "bad.835", b"ISA*00*bad~")
    report = collect_pending(world.ctx)
    assert report.startswith("2 remittance file(s) applied") and "bad.835" in report
    assert world.get_claim("CLM-000123").status is ClaimStatus.PAID
    assert world.get_claim("CLM0000001").paid_minor == 10000
    with world.ctx.db.read() as s:
        statuses = dict(s.execute(select(ImportedFile.filename, ImportedFile.status)).all())
    assert statuses == {XML_EXAMPLE.name: "processed", "era.835": "processed", "bad.835": "quarantined"}
    assert collect_pending(world.ctx) == "0 remittance file(s) applied"
