"""Pre-flight, risk review, rejections with advice, correction and resubmission, void/replace, SLA."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.audit import verify
from app.claims.lanes import claims_in_lane
from app.claims.mapping_store import import_mappings, list_mappings
from app.claims.preflight import check_claim
from app.claims.service import (
    correct_claim,
    replace_claim,
    return_for_rework,
    void_claim,
)
from app.claims.submission import approve_and_submit, pack_claim, submit_claim
from app.db.models import AuditEvent, Claim, Patient, Payer, SequenceCounter, Task
from app.domain.status import ClaimStatus, TaskPriority, TaskStatus
from app.errors import DomainError, ParseError, PermissionDenied, ValidationFailed
from app.jobs import sla_check
from app.queries.paging import ListQuery
from tests.claims_flow.conftest import MEMBERS, World, ack_xml, cover_record, visible, x12_277ca, x12_999
from tests.x12.oracle import pyx12_validate


def _tasks(world: World, kind: str) -> list[Task]:
    with world.ctx.db.read() as s:
        return list(s.scalars(select(Task).where(Task.kind == kind)))


def _sent(world: World, payer: str) -> int:
    claim_id = world.claim(payer)
    assert check_claim(world.ctx, world.manager, claim_id).status is ClaimStatus.READY
    submit_claim(world.ctx, world.manager, claim_id)
    assert world.dispatch().sent == 1
    return claim_id


def test_eligibility_failure_goes_to_the_front_desk(world: World) -> None:
    world.portal.members.clear()  # the insurer does not know the member
    claim_id = world.claim("axa")
    result = check_claim(world.ctx, world.manager, claim_id)
    assert not result.covered and "does not know member number AXA12345678" in result.eligibility_messages[0]
    (task,) = _tasks(world, "claim_eligibility")
    assert task.owner_role == "front_desk" and "AXA12345678" in task.detail
    with world.ctx.db.unit_of_work() as s:  # and an unreachable insurer is a task too, not a crash
        payer = s.get(Payer, world.payers["bupa"])
        assert payer is not None
        payer.settings_json = json.dumps({**json.loads(payer.settings_json), "endpoint": "sftp://127.0.0.1:9"})
    other = world.claim("bupa")
    result = check_claim(world.ctx, world.manager, other)
    assert "connection failed" in " ".join(result.eligibility_messages)
    assert len(_tasks(world, "claim_eligibility")) == 2


def test_risk_above_threshold_waits_for_review_and_the_decision_is_logged(world: World) -> None:
    (world.sftp.root / "eligibility" / f"{MEMBERS['bupa']}.json").write_bytes(
        cover_record(MEMBERS["bupa"], end="2026-10-31")
    )
    with world.ctx.db.unit_of_work() as s:
        patient = s.scalar(select(Patient).where(Patient.member_id == MEMBERS["bupa"]))
        assert patient is not None
        patient.cover_end = date(2026, 10, 31)
    risky = world.claim("bupa")
    result = check_claim(world.ctx, world.manager, risky)
    assert result.status is ClaimStatus.NEEDS_REVIEW and result.risk_score >= 0.6
    assert any("outside the patient's cover" in r for r in result.risk_reasons)
    with pytest.raises(DomainError, match="waits for a person's review"):
        submit_claim(world.ctx, world.manager, risky)
    with pytest.raises(PermissionDenied):
        approve_and_submit(world.ctx, world.frontdesk, risky, "looks fine")
    approve_and_submit(world.ctx, world.manager, risky, "Patient renewed; insurer confirmed by phone")
    assert world.status(risky) is ClaimStatus.QUEUED
    other = world.claim("bupa", day=date(2026, 11, 17))
    check_claim(world.ctx, world.manager, other)
    return_for_rework(world.ctx, world.manager, other, "Get the renewed policy number first")
    assert world.status(other) is ClaimStatus.DRAFT
    with world.ctx.db.read() as s:
        decisions = [
            json.loads(e.after_json)
            for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "claim.risk_review"))
        ]
        assert verify(s).ok
    assert [d["decision"] for d in decisions] == ["approved", "returned"]
    assert decisions[0]["score"] == str(result.risk_score) and decisions[0]["reasons"]


def test_xml_rejection_opens_a_task_then_correct_and_resubmit(world: World) -> None:
    claim_id = _sent(world, "bupa")
    number = world.get(claim_id).number
    (world.sftp.root / "outbound" / "ACK-2.xml").write_bytes(ack_xml(number, accepted=False, code="AUTH_MISSING"))
    world.poll("insurer_sftp")
    assert world.status(claim_id) is ClaimStatus.REJECTED
    (task,) = _tasks(world, "claim_rejected")
    assert "AUTH_MISSING" in task.title and "pre-authorisation" in task.detail
    assert task.recommended_fix and task.owner_role == "front_desk" and task.priority is TaskPriority.HIGH
    correct_claim(world.ctx, world.manager, claim_id, "Added the authorisation", authorisation_number="PA-1234")
    (task,) = _tasks(world, "claim_rejected")
    assert task.status is TaskStatus.DONE
    (world.sftp.root / "inbox" / f"{number}.xml").unlink()  # the insurer took the first file away
    submit_claim(world.ctx, world.manager, claim_id)
    assert world.dispatch().sent == 1
    claim = world.get(claim_id)
    assert claim.status is ClaimStatus.SUBMITTED and claim.submission_count == 2
    assert b"PA-1234" in (world.sftp.root / "inbox" / f"{number}.xml").read_bytes()


def test_999_and_277ca_rejections_explain_what_to_fix(world: World) -> None:
    first = _sent(world, "aetna")
    (name,) = visible(world.clearing.root / "inbox")
    control = int(name.rsplit("-", 1)[1][:-4])
    (world.clearing.root / "outbound" / "r.999").write_bytes(x12_999(control, accepted=False))
    world.poll("clearinghouse")
    assert world.status(first) is ClaimStatus.REJECTED
    (task,) = _tasks(world, "claim_rejected")
    assert "I12" in task.title and task.recommended_fix
    world.clock.advance(timedelta(days=1))
    second = world.claim("aetna", day=date(2026, 11, 19))
    check_claim(world.ctx, world.manager, second)
    submit_claim(world.ctx, world.manager, second)
    world.dispatch()
    number = world.get(second).number
    (world.clearing.root / "outbound" / "r.277").write_bytes(x12_277ca(number, accepted=False))
    world.poll("clearinghouse")
    assert world.status(second) is ClaimStatus.REJECTED
    task = next(t for t in _tasks(world, "claim_rejected") if t.entity_id == second)
    assert "A7:562:85" in task.title and "National Provider Identifier" in task.detail
    assert "NPI" in task.recommended_fix


def test_every_837p_passes_pyx12_and_control_numbers_come_from_the_sequence(world: World) -> None:
    ids = [world.claim("aetna", day=date(2026, 11, d), codes=("PHY01", "PHY02")) for d in (16, 17)]
    for claim_id in ids:
        check_claim(world.ctx, world.manager, claim_id)
        pack_claim(world.ctx, world.manager, claim_id)
        submit_claim(world.ctx, world.manager, claim_id)  # reuses the packed control number
    world.dispatch()
    inbox = world.clearing.root / "inbox"
    names = visible(inbox)
    assert [n.rsplit("-", 1)[1] for n in names] == ["000000001.837", "000000002.837"]
    for name in names:
        text = (inbox / name).read_text()
        assert text.split("*")[13] == name.rsplit("-", 1)[1][:9]  # ISA13
        ok, errors = pyx12_validate(inbox / name)
        assert ok, errors
    with world.ctx.db.read() as s:
        assert s.get(SequenceCounter, "x12.interchange_control").value == 2  # type: ignore[union-attr]


def test_void_and_replacement_of_a_sent_claim(world: World) -> None:
    claim_id = _sent(world, "bupa")
    new_id = replace_claim(world.ctx, world.manager, claim_id, "Wrong practitioner on the claim")
    assert world.status(claim_id) is ClaimStatus.VOID
    new = world.get(new_id)
    assert new.status is ClaimStatus.DRAFT and new.replaces_claim_id == claim_id
    (notice,) = _tasks(world, "claim_void_notice")
    assert world.get(claim_id).insurer_ref in notice.detail or "none yet" in notice.detail
    with pytest.raises(DomainError):
        void_claim(world.ctx, world.manager, claim_id, "again")


def test_sla_breach_after_48_hours_is_escalated_and_in_its_lane(world: World) -> None:
    claim_id = _sent(world, "bupa")
    world.clock.advance(timedelta(hours=47, minutes=59))
    sla_check(world.ctx)
    assert _tasks(world, "claim_sla_breach") == []
    world.clock.advance(timedelta(minutes=2))  # app.jobs.sla_check compares strictly (see the report)
    sla_check(world.ctx)
    (task,) = _tasks(world, "claim_sla_breach")
    assert task.priority is TaskPriority.URGENT and task.entity_id == claim_id
    with world.ctx.db.read() as s:
        page = claims_in_lane(s, ListQuery(), "sla", world.clock.now())
        rejected = claims_in_lane(s, ListQuery(), "rejections", world.clock.now())
    assert [r.id for r in page.rows] == [claim_id] and rejected.total == 0


def test_mapping_import_is_all_or_nothing_and_lists_every_problem(world: World) -> None:
    bad = (
        b"clinic_code,insurer_code,description,valid_from,valid_to,requires_authorisation\n"
        b"PHY01,BPHY01,ok,2024-01-01,,no\nPHY02,,missing,2024-01-01,,no\nACU01,BACU01,bad date,31/31/2024,,maybe\n"
    )
    with world.ctx.db.unit_of_work() as s:
        before = list_mappings(s, world.clinic_id, world.payers["bupa"])
    with pytest.raises(ValidationFailed) as failed, world.ctx.db.unit_of_work() as s:
        import_mappings(s, world.clock, world.manager, bad, "bupa.csv", world.clinic_id, world.payers["bupa"])
    assert len(failed.value.problems) == 3 and "row 3, column insurer_code" in failed.value.problems[0]
    with pytest.raises(ParseError, match="missing column"), world.ctx.db.unit_of_work() as s:
        import_mappings(s, world.clock, world.manager, b"code,x\n", "x.csv", world.clinic_id, world.payers["bupa"])
    with world.ctx.db.read() as s:
        assert list_mappings(s, world.clinic_id, world.payers["bupa"]) == before
        assert s.scalar(select(Claim.id)) is None
