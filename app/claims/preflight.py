"""Pre-flight of a claim before it is sent: eligibility and authorisation via the payer's channel
(failures go to the front desk as a task) → ``eligibility.json``; the coding audit against the
clinic's mapping table → ``coding-audit.csv``; the denial-risk score with its reasons (rules, then
a model trained on the clinic's own adjudicated claims). Above ``claims.risk_threshold`` the claim
waits for a person's review (NEEDS_REVIEW). The network call happens outside any transaction.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.archive import keep_artefact
from app.audit import Actor, record, snapshot
from app.claims import coding, mapping_store, risk
from app.claims.channels import PayerProfile, open_channel, payer_profile
from app.claims.service import ADJUDICATED, get_claim, move, store_of
from app.clock import Clock
from app.connectors.base import EligibilityResult
from app.context import AppContext
from app.db.models import Claim, ClaimLine, Encounter, Patient, Payer
from app.domain.status import ClaimStatus, InsurerChannelKind, TaskPriority
from app.errors import ClinicBillingError, DomainError
from app.money import Money
from app.settings import get_setting
from app.tasks import open_task
from app.users import Permission, require

ELIGIBILITY = "eligibility.json"
CODING_AUDIT = "coding-audit.csv"
CHECKABLE = frozenset({ClaimStatus.DRAFT, ClaimStatus.READY, ClaimStatus.NEEDS_REVIEW, ClaimStatus.CORRECTED})
LIVE = frozenset(  # claims on their way to the insurer: a second one for the same visit is a duplicate
    {
        ClaimStatus.READY,
        ClaimStatus.NEEDS_REVIEW,
        ClaimStatus.QUEUED,
        ClaimStatus.SUBMITTED,
        ClaimStatus.ACKNOWLEDGED,
        ClaimStatus.CORRECTED,
    }
)


@dataclass(frozen=True)
class CheckResult:
    number: str
    status: ClaimStatus
    covered: bool
    eligibility_messages: tuple[str, ...]
    problems: tuple[str, ...]  # every coding problem, errors and warnings
    blocking: bool
    risk_score: Decimal
    risk_reasons: tuple[str, ...]

    def __str__(self) -> str:
        if self.blocking:
            return f"{self.number} cannot be submitted: " + " ".join(self.problems)
        review = " — waits for a person's review" if self.status is ClaimStatus.NEEDS_REVIEW else ""
        return f"{self.number} checked: {self.status.value}, denial risk {self.risk_score}{review}"


@dataclass(frozen=True)
class _Eligibility:
    result: EligibilityResult | None
    source: str
    error: str


def _diagnoses(session: Session, claim: Claim) -> list[str]:
    enc = session.get(Encounter, claim.encounter_id) if claim.encounter_id else None
    return [d for d in (enc.diagnosis_codes if enc else "").split(",") if d.strip()]


def coding_audit(session: Session, claim: Claim) -> tuple[coding.CodingAudit, list[coding.CodeMapping]]:
    mappings, dictionary = mapping_store.audit_inputs(session, claim.clinic_id, claim.payer_id)
    lines = session.scalars(select(ClaimLine).where(ClaimLine.claim_id == claim.id).order_by(ClaimLine.line_no))
    audit = coding.audit_claim(
        [coding.ClaimLine(ln.line_no, ln.clinic_code, ln.units) for ln in lines],
        mappings,
        dictionary,
        claim.service_date,
        _diagnoses(session, claim),
        claim.authorisation_number,
    )
    return audit, mappings


def _ask_eligibility(
    ctx: AppContext, profile: PayerProfile, patient: Patient, claim: Claim, codes: list[str]
) -> _Eligibility:
    if profile.channel is InsurerChannelKind.NONE:
        start, end = patient.cover_start, patient.cover_end
        covered = bool(start and start <= claim.service_date and (end is None or claim.service_date <= end))
        messages = () if covered else ("The visit is outside the cover dates on the patient's record.",)
        result = EligibilityResult(covered, start, end, patient.authorisation_number or None, None, messages)
        return _Eligibility(result, "patient record (this payer has no electronic channel)", "")
    try:
        with open_channel(ctx, profile) as channel:
            return _Eligibility(
                channel.check_eligibility(patient.member_id, claim.service_date, codes), channel.name, ""
            )
    except ClinicBillingError as exc:
        return _Eligibility(None, profile.name, str(exc))


def _eligibility_json(claim: Claim, patient: Patient, e: _Eligibility, checked_at: str) -> bytes:
    r = e.result
    doc = {
        "claim": claim.number,
        "checked_at": checked_at,
        "source": e.source,
        "member_id": patient.member_id,
        "service_date": claim.service_date.isoformat(),
        "covered": r.covered if r else None,
        "coverage_start": r.coverage_start.isoformat() if r and r.coverage_start else None,
        "coverage_end": r.coverage_end.isoformat() if r and r.coverage_end else None,
        "authorisation_number": r.authorisation_number if r else None,
        "visits_left": r.visits_left if r else None,
        "messages": list(r.messages) if r else [],
        "error": e.error or None,
    }
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def check_claim(ctx: AppContext, actor: Actor, claim_id: int) -> CheckResult:
    """Pre-flight: eligibility (network), coding audit and denial risk; writes eligibility.json and coding-audit.csv."""
    require(actor, Permission.PREPARE_CLAIMS)
    with ctx.db.read() as s:
        claim = get_claim(s, claim_id)
        if claim.status not in CHECKABLE:
            raise DomainError(f"{claim.number} is {claim.status.value}: only claims not yet sent can be checked.")
        patient = s.get(Patient, claim.patient_id)
        assert patient is not None
        profile = payer_profile(s, claim.payer_id)
        codes = list(s.scalars(select(ClaimLine.clinic_code).where(ClaimLine.claim_id == claim.id)))
    eligibility = _ask_eligibility(ctx, profile, patient, claim, codes)
    with ctx.db.unit_of_work() as s:
        return _record_check(s, ctx, actor, claim_id, eligibility)


def _record_check(s: Session, ctx: AppContext, actor: Actor, claim_id: int, e: _Eligibility) -> CheckResult:
    clock = ctx.clock
    claim = get_claim(s, claim_id, lock=True)
    patient = s.get(Patient, claim.patient_id)
    assert patient is not None
    before = snapshot(claim)
    r = e.result
    if r is not None and r.authorisation_number and not claim.authorisation_number:
        claim.authorisation_number = r.authorisation_number
    audit, mappings = coding_audit(s, claim)
    mapped = {m.line_no: m.insurer_code for m in audit.mapped}
    for line in s.scalars(select(ClaimLine).where(ClaimLine.claim_id == claim.id)):
        line.insurer_code = mapped.get(line.line_no, "")
    threshold = Decimal(str(get_setting(s, "claims.risk_threshold")))
    assessment = _assess(s, claim, patient, audit, mappings, r, clock, threshold)
    claim.risk_score = assessment.score
    claim.risk_reasons = json.dumps(list(assessment.reasons), ensure_ascii=False)
    claim.updated_at = clock.now()
    record(s, clock, actor, "claim.checked", "claim", claim.id, before, snapshot(claim), _summary(audit, e))
    if audit.blocking:
        if claim.status in (ClaimStatus.READY, ClaimStatus.NEEDS_REVIEW):
            move(s, clock, actor, claim, ClaimStatus.DRAFT, "coding audit found blocking problems")
    else:
        target = ClaimStatus.NEEDS_REVIEW if assessment.needs_review else ClaimStatus.READY
        move(s, clock, actor, claim, target, f"denial risk {assessment.score} (threshold {threshold})")
    store = store_of(ctx)
    keep_artefact(
        s, clock, store, "claim", claim.id, ELIGIBILITY, _eligibility_json(claim, patient, e, clock.now().isoformat())
    )
    keep_artefact(s, clock, store, "claim", claim.id, CODING_AUDIT, coding.coding_audit_csv(audit))
    if e.error or (r is not None and not r.covered):
        why = e.error or " ".join(r.messages if r else ()) or "the insurer does not confirm cover"
        open_task(
            s,
            clock,
            actor,
            kind="claim_eligibility",
            title=f"{claim.number}: cover not confirmed for {patient.first_name} {patient.last_name}",
            detail=f"Eligibility check via {e.source}: {why}",
            recommended_fix="Check the patient's policy and member number with the patient or the insurer, "
            "then run the check again.",
            owner_role="front_desk",
            priority=TaskPriority.HIGH,
            entity_type="claim",
            entity_id=claim.id,
            dedupe_key=f"claim-eligibility:{claim.id}",
        )
    return CheckResult(
        claim.number,
        claim.status,
        bool(r and r.covered),
        (*(r.messages if r else ()), *((e.error,) if e.error else ())),
        tuple(p.message for p in audit.problems),
        audit.blocking,
        assessment.score,
        assessment.reasons,
    )


def _summary(audit: coding.CodingAudit, e: _Eligibility) -> str:
    cover = (
        "cover confirmed"
        if e.result and e.result.covered
        else f"cover NOT confirmed{': ' + e.error if e.error else ''}"
    )
    return f"{cover}; {len(audit.problems)} coding problem(s){' (blocking)' if audit.blocking else ''}"


def _facts(claim: Claim, codes: Sequence[str], payer_code: str) -> risk.ClaimFacts:
    return risk.ClaimFacts(
        claim_id=claim.number,
        patient_id=str(claim.patient_id),
        insurer_id=payer_code,
        practitioner_id=str(claim.practitioner_id),
        service_date=claim.service_date,
        codes=tuple(codes),
        total_charge=Money(claim.total_minor, claim.currency),
        authorisation_required=False,
        authorisation_number=claim.authorisation_number,
        submitted_on=claim.submitted_at.date() if claim.submitted_at else None,
    )


def _assess(
    s: Session,
    claim: Claim,
    patient: Patient,
    audit: coding.CodingAudit,
    mappings: list[coding.CodeMapping],
    r: EligibilityResult | None,
    clock: Clock,
    threshold: Decimal,
) -> risk.RiskAssessment:
    payer_code = _payer_code(s, claim.payer_id)
    codes = [m.clinic_code for m in audit.mapped] + [p.clinic_code for p in audit.problems if p.clinic_code]
    needs_auth = {m.clinic_code for m in mappings if m.requires_authorisation and m.is_valid_on(claim.service_date)}
    facts = dataclasses.replace(
        _facts(claim, sorted(set(codes)), payer_code),
        authorisation_required=bool(needs_auth & set(codes)),
        coverage_start=(r.coverage_start if r else None) or patient.cover_start,
        coverage_end=(r.coverage_end if r else None) or patient.cover_end,
        unmapped_codes=tuple(p.clinic_code for p in audit.problems if p.code is coding.ProblemCode.UNMAPPED),
    )
    history, pending = _risk_history(s, claim)
    policy = risk.RiskPolicy(review_threshold=threshold)
    return risk.assess_risk(facts, today=clock.now().date(), history=history, pending=pending, policy=policy)


def _payer_code(s: Session, payer_id: int) -> str:
    payer = s.get(Payer, payer_id)
    assert payer is not None
    return payer.code


def _risk_history(s: Session, claim: Claim) -> tuple[list[risk.AdjudicatedClaim], list[risk.ClaimFacts]]:
    """The clinic's last 1,000 adjudicated claims (model, duplicates, typical charge) and the patient's live ones."""
    past = list(
        s.scalars(
            select(Claim)
            .where(Claim.clinic_id == claim.clinic_id, Claim.status.in_([*ADJUDICATED, ClaimStatus.CLOSED]))
            .where(Claim.id != claim.id)
            .order_by(Claim.id.desc())
            .limit(1000)
        )
    )
    live = list(
        s.scalars(
            select(Claim).where(
                Claim.patient_id == claim.patient_id,
                Claim.id != claim.id,
                Claim.status.in_(LIVE),
            )
        )
    )
    ids = [c.id for c in past + live]
    codes: dict[int, list[str]] = {}
    for claim_id, code in s.execute(
        select(ClaimLine.claim_id, ClaimLine.clinic_code).where(ClaimLine.claim_id.in_(ids))
    ):
        codes.setdefault(claim_id, []).append(code)
    payers = {p.id: p.code for p in s.scalars(select(Payer))}
    history = [
        risk.AdjudicatedClaim(_facts(c, codes.get(c.id, []), payers[c.payer_id]), c.status is ClaimStatus.DENIED)
        for c in past
    ]
    return history, [_facts(c, codes.get(c.id, []), payers[c.payer_id]) for c in live]
