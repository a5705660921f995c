"""The claim lifecycle around sending: create from a signed-off encounter, the reviewer's return,
correction after a rejection, void and replacement, adjudication; the one way statuses change.

Pre-flight lives in :mod:`app.claims.preflight`, packing and queueing in :mod:`app.claims.submission`.
Every status change goes through ``advance()`` (via :func:`move`) and is audit-logged in the same
transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import Actor, record, snapshot
from app.claims.artefacts import ArtefactStore
from app.clock import Clock
from app.context import AppContext
from app.db.models import Charge, Claim, ClaimLine, Encounter, Patient, Payer, Task
from app.domain.status import (
    ClaimStatus,
    PayerKind,
    TaskPriority,
    TaskStatus,
    advance,
    can_move,
)
from app.errors import DomainError, NotFound, ValidationFailed
from app.money import Money
from app.tasks import open_task, set_task_status
from app.users import Permission, require

ADJUDICATED = frozenset({ClaimStatus.PAID, ClaimStatus.PARTLY_PAID, ClaimStatus.DENIED})


def store_of(ctx: AppContext) -> ArtefactStore:
    return ArtefactStore(ctx.paths.archive)


def get_claim(session: Session, claim_id: int, *, lock: bool = False) -> Claim:
    claim = session.get(Claim, claim_id, with_for_update=lock)
    if claim is None:
        raise NotFound(f"Claim {claim_id} does not exist.")
    return claim


def move(session: Session, clock: Clock, actor: Actor, claim: Claim, target: ClaimStatus, reason: str = "") -> None:
    """Change a claim's status (through READY or DRAFT when no direct move exists), audit-logged."""
    if claim.status == target:
        return
    before = snapshot(claim)
    path = [target]
    if not can_move(claim.status, target):
        via = next((m for m in (ClaimStatus.READY, ClaimStatus.DRAFT) if can_move(claim.status, m)), None)
        if via is not None and can_move(via, target):
            path = [via, target]
    for step in path:
        claim.status = advance(f"Claim {claim.number}", claim.status, step)
    claim.updated_at = clock.now()
    record(session, clock, actor, f"claim.{target.value}", "claim", claim.id, before, snapshot(claim), reason)


# --------------------------------------------------------------------------- create


def create_claim(ctx: AppContext, actor: Actor, encounter_id: int) -> int:
    """A DRAFT claim from a signed-off encounter of an insured patient; one live claim per encounter."""
    require(actor, Permission.PREPARE_CLAIMS)
    with ctx.db.unit_of_work() as s:
        enc = s.get(Encounter, encounter_id)
        if enc is None:
            raise NotFound(f"Encounter {encounter_id} does not exist.")
        if enc.signed_off_at is None:
            raise DomainError(
                f"Encounter {encounter_id} is not signed off yet: the clinician must sign the note first."
            )
        patient = s.get(Patient, enc.patient_id)
        assert patient is not None
        payer = s.get(Payer, patient.insurer_id) if patient.insurer_id else None
        if payer is None or payer.kind not in (PayerKind.INSURER, PayerKind.HMO):
            raise DomainError(f"Patient {patient.ref} has no insurer on record, so there is nothing to claim.")
        existing = s.scalar(
            select(Claim).where(Claim.encounter_id == enc.id, Claim.status != ClaimStatus.VOID).limit(1)
        )
        if existing is not None:
            raise DomainError(f"Encounter {encounter_id} is already claimed as {existing.number}.")
        charges = list(s.scalars(select(Charge).where(Charge.encounter_id == enc.id).order_by(Charge.id)))
        if not charges:
            raise DomainError(f"Encounter {encounter_id} has no charges to claim.")
        return _new_claim(s, ctx.clock, actor, enc, patient, payer.id, charges).id


def _new_claim(
    s: Session, clock: Clock, actor: Actor, enc: Encounter, patient: Patient, payer_id: int, charges: list[Charge]
) -> Claim:
    now = clock.now()
    claim = Claim(
        number=f"TMP-{enc.id}-{len(charges)}"[:20],
        clinic_id=enc.clinic_id,
        patient_id=patient.id,
        practitioner_id=enc.practitioner_id,
        payer_id=payer_id,
        encounter_id=enc.id,
        service_date=enc.service_date,
        status=ClaimStatus.DRAFT,
        total_minor=sum(c.amount_minor for c in charges),
        paid_minor=0,
        patient_resp_minor=0,
        currency=charges[0].currency,
        authorisation_number=patient.authorisation_number,
        risk_reasons="[]",
        submission_count=0,
        created_at=now,
        updated_at=now,
    )
    s.add(claim)
    s.flush()
    claim.number = f"CLM-{claim.id:06d}"
    s.add_all(
        ClaimLine(
            claim_id=claim.id,
            line_no=n,
            clinic_code=c.clinic_code,
            description=c.description,
            units=c.units,
            amount_minor=c.amount_minor,
            currency=c.currency,
        )
        for n, c in enumerate(charges, start=1)
    )
    s.flush()
    record(s, clock, actor, "claim.create", "claim", claim.id, None, snapshot(claim), f"from encounter {enc.id}")
    return claim


# --------------------------------------------------------------------------- decisions after the check


def return_for_rework(ctx: AppContext, actor: Actor, claim_id: int, reason: str) -> str:
    """The reviewer does not let a risky claim go: back to DRAFT with a task saying why."""
    require(actor, Permission.REVIEW_RISK)
    if not reason.strip():
        raise ValidationFailed("Say why the claim goes back", ["the reason is empty"])
    with ctx.db.unit_of_work() as s:
        claim = get_claim(s, claim_id, lock=True)
        if claim.status is not ClaimStatus.NEEDS_REVIEW:
            raise DomainError(f"{claim.number} is {claim.status.value}, not waiting for a risk review.")
        record(
            s,
            ctx.clock,
            actor,
            "claim.risk_review",
            "claim",
            claim.id,
            None,
            {"decision": "returned", "score": str(claim.risk_score), "reasons": json.loads(claim.risk_reasons)},
            reason,
        )
        move(s, ctx.clock, actor, claim, ClaimStatus.DRAFT, reason)
        open_task(
            s,
            ctx.clock,
            actor,
            kind="claim_rework",
            title=f"{claim.number} returned after risk review",
            detail=reason,
            recommended_fix="Fix what the reviewer names, then run the check again.",
            owner_role="front_desk",
            entity_type="claim",
            entity_id=claim.id,
            dedupe_key=f"claim-rework:{claim.id}",
        )
        return f"{claim.number} returned to draft."


def void_claim(ctx: AppContext, actor: Actor, claim_id: int, reason: str) -> str:
    """Withdraw a claim. A sent one also gets a task to tell the insurer (the channels have no void message)."""
    require(actor, Permission.SUBMIT_CLAIMS)
    if not reason.strip():
        raise ValidationFailed("Say why the claim is voided", ["the reason is empty"])
    with ctx.db.unit_of_work() as s:
        claim = get_claim(s, claim_id, lock=True)
        if claim.status is ClaimStatus.VOID:
            raise DomainError(f"{claim.number} is already void.")
        was_sent = claim.status in (ClaimStatus.SUBMITTED, ClaimStatus.ACKNOWLEDGED)
        move(s, ctx.clock, actor, claim, ClaimStatus.VOID, reason)
        if was_sent:
            payer = s.get(Payer, claim.payer_id)
            open_task(
                s,
                ctx.clock,
                actor,
                kind="claim_void_notice",
                title=f"Tell {payer.name if payer else 'the insurer'} that {claim.number} is withdrawn",
                detail=f"Insurer reference {claim.insurer_ref or 'none yet'}. Reason: {reason}",
                recommended_fix="Withdraw the claim on the insurer's portal or by phone, quoting both references.",
                owner_role="manager",
                priority=TaskPriority.HIGH,
                entity_type="claim",
                entity_id=claim.id,
                dedupe_key=f"claim-void:{claim.id}",
            )
        return f"{claim.number} voided."


def replace_claim(ctx: AppContext, actor: Actor, claim_id: int, reason: str) -> int:
    """Void a claim and start its replacement (a new DRAFT from the same encounter, linked to it)."""
    void_claim(ctx, actor, claim_id, reason)
    with ctx.db.unit_of_work() as s:
        old = get_claim(s, claim_id)
        enc = s.get(Encounter, old.encounter_id) if old.encounter_id else None
        if enc is None:
            raise DomainError(f"{old.number} has no encounter to rebuild it from.")
        patient = s.get(Patient, old.patient_id)
        assert patient is not None
        charges = list(s.scalars(select(Charge).where(Charge.encounter_id == enc.id).order_by(Charge.id)))
        new = _new_claim(s, ctx.clock, actor, enc, patient, old.payer_id, charges)
        new.replaces_claim_id = old.id
        new.authorisation_number = old.authorisation_number or new.authorisation_number
        record(s, ctx.clock, actor, "claim.replaced", "claim", old.id, None, {"replacement": new.number}, reason)
        return new.id


def correct_claim(
    ctx: AppContext,
    actor: Actor,
    claim_id: int,
    reason: str,
    *,
    authorisation_number: str | None = None,
    diagnosis_codes: Sequence[str] | None = None,
) -> str:
    """A rejected claim, corrected: REJECTED → CORRECTED, changes audit-logged, the rejection task closed."""
    require(actor, Permission.PREPARE_CLAIMS)
    if not reason.strip():
        raise ValidationFailed("Say what was corrected", ["the note is empty"])
    with ctx.db.unit_of_work() as s:
        claim = get_claim(s, claim_id, lock=True)
        if claim.status is not ClaimStatus.REJECTED:
            raise DomainError(f"{claim.number} is {claim.status.value}: only a rejected claim can be corrected.")
        if authorisation_number is not None:
            claim.authorisation_number = authorisation_number.strip()
        if diagnosis_codes is not None and claim.encounter_id:
            enc = s.get(Encounter, claim.encounter_id)
            assert enc is not None
            before = snapshot(enc)
            enc.diagnosis_codes = ",".join(d.strip().upper() for d in diagnosis_codes if d.strip())
            record(s, ctx.clock, actor, "encounter.diagnoses", "encounter", enc.id, before, snapshot(enc), reason)
        move(s, ctx.clock, actor, claim, ClaimStatus.CORRECTED, reason)
        close_rejection_tasks(s, ctx.clock, actor, claim.id, reason)
        return f"{claim.number} corrected; check and submit it again."


def record_adjudication(
    ctx: AppContext, actor: Actor, claim_id: int, status: ClaimStatus, paid: Money, patient_share: Money, reason: str
) -> str:
    """The insurer's decision entered by hand (or from a status answer): paid, partly paid or denied."""
    require(actor, Permission.IMPORT_FILES)
    if status not in ADJUDICATED:
        raise DomainError(f"{status.value} is not an adjudication (paid, partly paid or denied).")
    with ctx.db.unit_of_work() as s:
        claim = get_claim(s, claim_id, lock=True)
        total = Money(claim.total_minor, claim.currency)
        if paid.currency != claim.currency or paid.minor < 0 or paid.minor + patient_share.minor > total.minor:
            raise ValidationFailed(f"{claim.number}: the amounts do not fit the claim total {total}")
        claim.paid_minor, claim.patient_resp_minor = paid.minor, patient_share.minor
        claim.adjudicated_at = ctx.clock.now()
        move(s, ctx.clock, actor, claim, status, reason)
        return f"{claim.number} {status.value}: paid {paid}."


def close_rejection_tasks(session: Session, clock: Clock, actor: Actor, claim_id: int, reason: str) -> None:
    open_tasks = session.scalars(
        select(Task).where(
            Task.entity_type == "claim",
            Task.entity_id == claim_id,
            Task.kind == "claim_rejected",
            Task.status.in_([TaskStatus.OPEN, TaskStatus.IN_PROGRESS]),
        )
    )
    for task in list(open_tasks):
        set_task_status(session, clock, actor, task.id, TaskStatus.DONE, reason)
