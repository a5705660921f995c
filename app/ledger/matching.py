"""Match a remittance line to our claims: score every candidate, rank them, explain each."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from app.ledger.remittance import OpenClaim, RemittanceLine

CONFIDENT_SCORE = 70
CLOSE_MARGIN = 10


class MatchRule(StrEnum):
    """Which evidence tied a line to a claim, strongest first."""

    CLAIM_ID = "claim id"
    PAYER_CLAIM_ID = "payer claim id"
    PATIENT_DATE_AMOUNT = "patient + service date + charged amount"
    PATIENT_DATE = "patient + service date"
    PATIENT_AMOUNT = "patient + charged amount"


_BASE_SCORE = {
    MatchRule.CLAIM_ID: 100,
    MatchRule.PAYER_CLAIM_ID: 90,
    MatchRule.PATIENT_DATE_AMOUNT: 80,
    MatchRule.PATIENT_DATE: 50,
    MatchRule.PATIENT_AMOUNT: 40,
}


@dataclass(frozen=True, slots=True)
class Candidate:
    """One claim a line might belong to, with its score and the reasons."""

    claim_id: str
    score: int
    rule: MatchRule
    explanation: tuple[str, ...]


def _rule_for(line: RemittanceLine, claim: OpenClaim) -> MatchRule | None:
    if line.claim_id and line.claim_id.strip() == claim.claim_id:
        return MatchRule.CLAIM_ID
    if line.payer_claim_id and claim.payer_claim_id and line.payer_claim_id == claim.payer_claim_id:
        return MatchRule.PAYER_CLAIM_ID
    if not line.patient_ref or line.patient_ref != claim.patient_ref:
        return None
    same_date = line.service_date is not None and line.service_date == claim.service_date
    same_amount = line.charged == claim.charged
    if same_date and same_amount:
        return MatchRule.PATIENT_DATE_AMOUNT
    if same_date:
        return MatchRule.PATIENT_DATE
    if same_amount:
        return MatchRule.PATIENT_AMOUNT
    return None


def score_candidate(line: RemittanceLine, claim: OpenClaim, payer_id: str) -> Candidate | None:
    """Score one claim for one line, or None when nothing ties them."""
    rule = _rule_for(line, claim)
    if rule is None:
        return None
    score = _BASE_SCORE[rule]
    why = [f"matched on {rule.value}"]
    if claim.payer_id == payer_id:
        score += 5
    else:
        score -= 15
        why.append(f"claim is billed to {claim.payer_id}, remittance is from {payer_id}")
    if line.charged != claim.charged:
        score -= 5
        why.append(f"charged {line.charged} on the remittance, {claim.charged} on our claim")
    if line.service_date is not None and line.service_date != claim.service_date:
        score -= 5
        why.append(f"service date {line.service_date} on the remittance, {claim.service_date} on our claim")
    if line.patient_ref and line.patient_ref != claim.patient_ref:
        score -= 5
        why.append(f"patient {line.patient_ref} on the remittance, {claim.patient_ref} on our claim")
    if line.claim_id and rule is not MatchRule.CLAIM_ID:
        why.append(f"claim id {line.claim_id!r} on the remittance is not ours")
    return Candidate(claim.claim_id, score, rule, tuple(why))


def rank_candidates(line: RemittanceLine, claims: Iterable[OpenClaim], payer_id: str) -> tuple[Candidate, ...]:
    """All candidates for ``line``, best first (ties broken by claim id for a stable order)."""
    found = [c for c in (score_candidate(line, claim, payer_id) for claim in claims) if c is not None]
    return tuple(sorted(found, key=lambda c: (-c.score, c.claim_id)))


def confident_choice(ranked: tuple[Candidate, ...]) -> tuple[Candidate | None, str]:
    """The candidate to apply to, or None with the reason a person must decide."""
    if not ranked:
        return None, "no claim matches this line"
    best = ranked[0]
    if best.score < CONFIDENT_SCORE:
        return None, f"best candidate {best.claim_id} matched only on {best.rule.value}"
    if len(ranked) > 1 and best.score - ranked[1].score < CLOSE_MARGIN:
        return None, f"claims {best.claim_id} and {ranked[1].claim_id} match almost equally well"
    return best, ""
