"""Faults: a cut connection and a restart, lost answers, duplicates, bad payloads, bad codes, bad files."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.claims import dispatch
from app.claims.mapping_store import edit_mapping, list_mappings
from app.claims.preflight import check_claim
from app.claims.service import store_of
from app.claims.submission import claim_artefacts, submit_all_ready, submit_claim
from app.db.models import AuditEvent, Claim, ImportedFile, OutboxMessage, Practitioner, Task
from app.domain.status import ClaimStatus, OutboxStatus
from app.errors import DomainError, ValidationFailed
from app.outbox import Dispatcher
from app.paths import AppPaths
from tests.claims_flow.conftest import World, ack_xml, reopen, visible, x12_999


def _ready(world: World, payer: str, **kwargs: object) -> int:
    claim_id = world.claim(payer, **kwargs)
    assert check_claim(world.ctx, world.manager, claim_id).status is ClaimStatus.READY
    return claim_id


def _audit_count(world: World) -> int:
    with world.ctx.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def test_connection_cut_mid_upload_and_restart_sends_exactly_one_copy(world: World, paths: AppPaths) -> None:
    claim_id = _ready(world, "bupa")
    submit_claim(world.ctx, world.manager, claim_id)
    world.sftp.cut_connection_after(300)  # inside the first file
    report = world.dispatch()
    assert report.retried == 1 and world.sftp.cuts == 1
    assert world.status(claim_id) is ClaimStatus.QUEUED
    inbox = world.sftp.root / "inbox"
    assert visible(inbox) == []  # half a file is never visible under its final name
    world.ctx.close()  # the app is closed ...
    world.clock.advance(timedelta(hours=2))
    restarted = reopen(world, paths)  # ... and started again
    assert world.dispatch(restarted).sent == 1
    number = world.get(claim_id).number
    assert visible(inbox) == [f"{number}-treatment-note.pdf", f"{number}.xml"]
    assert [p.name for p in inbox.iterdir() if p.name.endswith(".part")] == []
    assert world.dispatch(restarted).sent == 0
    assert world.status(claim_id) is ClaimStatus.SUBMITTED and world.get(claim_id).submission_count == 1


def test_crash_after_upload_before_recording_does_not_send_twice(world: World, paths: AppPaths) -> None:
    claim_id = _ready(world, "bupa")
    submit_claim(world.ctx, world.manager, claim_id)
    dispatcher = Dispatcher(world.ctx.db, world.clock, dispatch.routes(world.ctx))
    (msg_id,) = dispatcher._lease_due(10, None)
    with world.ctx.db.read() as s:
        msg = s.get(OutboxMessage, msg_id)
        assert msg is not None
        payload, key = json.loads(msg.payload_json), msg.idempotency_key
    dispatch.routes(world.ctx)["claim.submit"].handler(payload, key)  # sent; then the app dies
    world.clock.advance(timedelta(minutes=10))  # the lease runs out
    restarted = reopen(world, paths)
    assert world.dispatch(restarted).sent == 1
    assert len(visible(world.sftp.root / "inbox")) == 2
    with restarted.db.read() as s:
        log = claim_artefacts(s, store_of(restarted), claim_id)["dispatch-log.ndjson"].decode()
    (line,) = log.splitlines()
    assert "already on the insurer's server" in json.loads(line)["detail"]


def test_portal_answer_lost_is_retried_with_the_same_key_and_one_claim(world: World) -> None:
    claim_id = _ready(world, "axa")
    submit_claim(world.ctx, world.manager, claim_id)
    world.portal.drop_next(2, after_handling=True)  # login answer and claim answer lost
    for _ in range(3):
        world.dispatch()
        world.clock.advance(timedelta(hours=2))
    assert len(world.portal.claims) == 1
    (stored,) = world.portal.claims.values()
    assert world.status(claim_id) is ClaimStatus.SUBMITTED and world.get(claim_id).insurer_ref == stored.reference


def test_a_duplicate_submission_is_impossible(world: World) -> None:
    claim_id = _ready(world, "bupa")
    submit_claim(world.ctx, world.manager, claim_id)
    with pytest.raises(DomainError, match="already queued"):
        submit_claim(world.ctx, world.manager, claim_id)
    assert submit_all_ready(world.ctx, world.manager).done == []
    world.dispatch()
    with pytest.raises(DomainError, match="already submitted"):
        submit_claim(world.ctx, world.manager, claim_id)
    world.dispatch()
    assert world.outbox_count() == 1
    assert len([n for n in visible(world.sftp.root / "inbox") if n.endswith(".xml")]) == 1


def test_an_xml_that_breaks_the_xsd_is_refused_before_dispatch(world: World) -> None:
    with world.ctx.db.unit_of_work() as s:
        prac = s.get(Practitioner, world.practitioner_id)
        assert prac is not None
        prac.registration_number = "SST 2231"  # not a body the insurer's schema knows
    claim_id = _ready(world, "bupa")
    with pytest.raises(ValidationFailed) as refused:
        submit_claim(world.ctx, world.manager, claim_id)
    assert any("Registration" in p for p in refused.value.problems), refused.value.problems
    assert world.status(claim_id) is ClaimStatus.READY and world.outbox_count() == 0
    with world.ctx.db.read() as s:
        assert set(claim_artefacts(s, store_of(world.ctx), claim_id)) == {"eligibility.json", "coding-audit.csv"}


def test_an_unmapped_or_invalid_code_blocks_submission_naming_the_code(world: World) -> None:
    blocked = world.claim("bupa", codes=("PHY01", "ZZZ99"))
    result = check_claim(world.ctx, world.manager, blocked)
    assert result.blocking and result.status is ClaimStatus.DRAFT
    assert "ZZZ99 has no mapping" in str(result)
    with world.ctx.db.read() as s:
        csv_text = claim_artefacts(s, store_of(world.ctx), blocked)["coding-audit.csv"].decode()
    assert "ZZZ99" in csv_text and "UNMAPPED" in csv_text
    with pytest.raises(DomainError, match="run the pre-flight check"):
        submit_claim(world.ctx, world.manager, blocked)

    ready = _ready(world, "bupa")  # then someone breaks the mapping before sending
    with world.ctx.db.unit_of_work() as s:
        (row,) = [m for m in list_mappings(s, world.clinic_id, world.payers["bupa"]) if m.clinic_code == "PHY01"]
        edit_mapping(s, world.clock, world.manager, row.id, insurer_code="NOPE1")
    with pytest.raises(ValidationFailed) as refused:
        submit_claim(world.ctx, world.manager, ready)
    assert any("NOPE1" in p and "not in bupa's code list" in p for p in refused.value.problems)
    assert world.outbox_count() == 0


def test_a_malformed_acknowledgement_is_quarantined_and_nothing_else_changes(world: World) -> None:
    claim_id = _ready(world, "bupa")
    submit_claim(world.ctx, world.manager, claim_id)
    world.dispatch()
    number = world.get(claim_id).number
    outbound = world.sftp.root / "outbound"
    good = ack_xml(number).decode()
    (outbound / "ACK-bad.xml").write_text(good.replace("</Status>", "</Stat>"))
    before = world.get(claim_id)
    world.poll("insurer_sftp")
    with world.ctx.db.read() as s:
        (row,) = s.scalars(select(ImportedFile))
        tasks = list(s.scalars(select(Task).where(Task.kind == "file_quarantined")))
    assert row.status == "quarantined" and row.message.startswith("ACK-bad.xml: line 2, column")
    assert len(tasks) == 1 and "ACK-bad.xml" in tasks[0].title
    after = world.get(claim_id)
    assert (after.status, after.insurer_ref, after.updated_at) == (before.status, before.insurer_ref, before.updated_at)
    assert visible(outbound) == ["ACK-bad.xml"]
    events = _audit_count(world)
    world.poll("insurer_sftp")  # seen before: not read again
    assert _audit_count(world) == events


def test_a_malformed_999_is_quarantined_naming_the_segment(world: World) -> None:
    claim_id = _ready(world, "aetna")
    submit_claim(world.ctx, world.manager, claim_id)
    world.dispatch()
    bad = x12_999(1).replace(b"AK9*A*1*1*1", b"AK9*A*one*1*1")
    (world.clearing.root / "outbound" / "bad.999").write_bytes(bad)
    world.poll("clearinghouse")
    with world.ctx.db.read() as s:
        (row,) = s.scalars(select(ImportedFile))
        assert s.scalar(select(Claim.status).where(Claim.id == claim_id)) is ClaimStatus.SUBMITTED
    assert row.status == "quarantined" and row.message.startswith("bad.999: segment ")


def test_dead_message_after_a_permanent_refusal_rejects_the_claim_with_a_task(world: World) -> None:
    claim_id = _ready(world, "bupa")
    number = world.get(claim_id).number
    (world.sftp.root / "inbox" / f"{number}.xml").write_bytes(b"<Claim>an older version</Claim>")
    submit_claim(world.ctx, world.manager, claim_id)
    report = world.dispatch()
    assert report.dead == 1
    assert world.status(claim_id) is ClaimStatus.REJECTED
    with world.ctx.db.read() as s:
        kinds = {t.kind for t in s.scalars(select(Task))}
        assert s.scalar(select(OutboxMessage.status)) is OutboxStatus.DEAD
    assert {"claim_rejected", "outbox_failed"} <= kinds
