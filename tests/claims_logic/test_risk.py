"""Denial risk: rules with plain reasons, and a model learnt from the clinic's own history."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.claims.risk import (
    AdjudicatedClaim,
    ClaimFacts,
    RiskPolicy,
    assess_risk,
    train_denial_model,
)
from app.money import Money

TODAY = date(2025, 6, 2)


def facts(claim_id: str = "CLM-1", **kw: object) -> ClaimFacts:
    values: dict[str, object] = {
        "claim_id": claim_id,
        "patient_id": "PAT-1",
        "insurer_id": "AXA",
        "practitioner_id": "DR-A",
        "service_date": date(2025, 6, 1),
        "codes": ("PT-FU",),
        "total_charge": Money.of("65.00"),
        "authorisation_required": False,
        "authorisation_number": "AUTH-1",
        "coverage_start": date(2025, 1, 1),
        "coverage_end": date(2025, 12, 31),
    }
    values.update(kw)
    return ClaimFacts(**values)  # type: ignore[arg-type]


def synthetic_history(n: int = 120) -> list[AdjudicatedClaim]:
    """AXA denies claims sent without an authorisation number; BUPA pays almost everything."""
    history = []
    start = date(2024, 1, 1)
    for i in range(n):
        insurer = "AXA" if i % 2 else "BUPA"
        has_auth = i % 3 != 0
        service = start + timedelta(days=i)
        claim = facts(
            f"H-{i}",
            patient_id=f"PAT-H{i}",
            insurer_id=insurer,
            practitioner_id="DR-A" if i % 4 < 2 else "DR-B",
            service_date=service,
            submitted_on=service + timedelta(days=3 + i % 5),
            total_charge=Money(6000 + (i % 7) * 500),
            authorisation_number="AUTH" if has_auth else None,
            coverage_start=None,
            coverage_end=None,
        )
        denied = (insurer == "AXA" and not has_auth) or i % 29 == 0
        history.append(AdjudicatedClaim(claim, denied))
    return history


def test_no_history_uses_rules_only_and_says_so() -> None:
    result = assess_risk(facts(), today=TODAY)
    assert result.model_used is False
    assert result.score == Decimal("0.00")
    assert not result.needs_review
    assert any("rules only" in r for r in result.reasons)


def test_one_class_history_uses_rules_only() -> None:
    history = [replace(h, denied=False) for h in synthetic_history()]
    result = assess_risk(facts(), today=TODAY, history=history)
    assert result.model_used is False
    assert any("nothing to learn" in r for r in result.reasons)


def test_each_rule_adds_a_plain_reason() -> None:
    claim = facts(
        authorisation_required=True,
        authorisation_number=None,
        service_date=date(2024, 12, 1),
        unmapped_codes=("XRAY-9",),
    )
    pending = [facts("CLM-0", service_date=date(2024, 12, 1))]
    result = assess_risk(claim, today=TODAY, pending=pending)
    text = " ".join(result.reasons)
    assert "pre-authorisation" in text
    assert "outside the patient's cover" in text
    assert "XRAY-9" in text
    assert "CLM-0" in text and "duplicate" in text
    assert "183 days after the service" in text
    assert result.score == Decimal("1.00") or result.score > Decimal("0.95")
    assert result.needs_review


def test_a_denied_earlier_claim_is_not_a_duplicate() -> None:
    earlier = AdjudicatedClaim(facts("CLM-0", submitted_on=TODAY), denied=True)
    result = assess_risk(facts(), today=TODAY, history=[earlier])
    assert not any("duplicate" in r for r in result.reasons)


def test_high_charge_against_the_insurers_history() -> None:
    history = synthetic_history()
    result = assess_risk(facts(total_charge=Money.of("400.00")), today=TODAY, history=history)
    assert any("£400.00" in r and "usually receives" in r for r in result.reasons)


def test_model_ranks_a_claim_without_authorisation_above_a_clean_one() -> None:
    history = synthetic_history()
    training = train_denial_model(history)
    assert training.model is not None
    policy = RiskPolicy(review_threshold=Decimal("0.50"))
    clean = assess_risk(facts(), today=TODAY, history=history, policy=policy, training=training)
    risky = assess_risk(
        facts(authorisation_number=None), today=TODAY, history=history, policy=policy, training=training
    )
    assert clean.model_used and risky.model_used
    assert risky.score > clean.score
    assert risky.needs_review and not clean.needs_review
    assert any("no authorisation number on claims to AXA" in r for r in risky.reasons)
    # the same claim to an insurer that pays without authorisation is not flagged
    bupa = assess_risk(
        facts(insurer_id="BUPA", authorisation_number=None), today=TODAY, history=history, training=training
    )
    assert bupa.score < risky.score


def test_assessment_is_deterministic_and_score_has_two_places() -> None:
    history = synthetic_history()
    first = assess_risk(facts(authorisation_number=None), today=TODAY, history=history)
    second = assess_risk(facts(authorisation_number=None), today=TODAY, history=history)
    assert first == second
    assert first.score == first.score.quantize(Decimal("0.01"))
    assert Decimal(0) <= first.score <= Decimal(1)


@pytest.mark.parametrize(("threshold", "flagged"), [(Decimal("0.60"), True), (Decimal("1.00"), False)])
def test_threshold_is_configurable(threshold: Decimal, flagged: bool) -> None:
    claim = facts(authorisation_required=True, authorisation_number=None)
    result = assess_risk(claim, today=TODAY, policy=RiskPolicy(review_threshold=threshold))
    assert result.score == Decimal("0.60")
    assert result.needs_review is flagged


def test_too_little_history_is_named_in_the_reasons() -> None:
    result = assess_risk(facts(), today=TODAY, history=synthetic_history(20))
    assert not result.model_used
    assert any("20 of 50" in r for r in result.reasons)
