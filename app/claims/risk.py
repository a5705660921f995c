"""Denial risk of a claim before it is submitted.

Two layers, combined as independent chances (``1 - (1 - rules) * (1 - model)``):

1. Rules, each with a weight and a plain reason: authorisation missing where required, service
   outside the cover dates, unmapped codes, a duplicate of another claim (same patient, date and
   code), late filing, and a charge far above what this insurer usually receives.
2. A logistic regression (scikit-learn) trained on the clinic's own adjudicated claims. Used only
   with enough history (``RiskPolicy.min_history``) containing both paid and denied claims;
   otherwise the assessment says it used the rules alone.

Money stays ``Money``: only counts, bands and flags become floats, at the sklearn boundary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from app.money import Money

_ONE: Final = Decimal(1)
_CENT: Final = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """What the risk check needs to know about one claim."""

    claim_id: str
    patient_id: str
    insurer_id: str
    practitioner_id: str
    service_date: date
    codes: tuple[str, ...]  # clinic procedure code of each line
    total_charge: Money
    authorisation_required: bool
    authorisation_number: str | None
    coverage_start: date | None = None
    coverage_end: date | None = None
    unmapped_codes: tuple[str, ...] = ()  # from the coding audit
    submitted_on: date | None = None  # None while not yet submitted

    @property
    def has_authorisation(self) -> bool:
        return bool(self.authorisation_number and self.authorisation_number.strip())


@dataclass(frozen=True, slots=True)
class AdjudicatedClaim:
    """A past claim and the insurer's decision (``facts.submitted_on`` should be set)."""

    facts: ClaimFacts
    denied: bool


@dataclass(frozen=True)
class RiskPolicy:
    """Weights (chance each rule alone adds) and thresholds; all configurable per clinic."""

    review_threshold: Decimal = Decimal("0.50")
    min_history: int = 50
    filing_limit_days: int = 90
    filing_limit_days_by_insurer: Mapping[str, int] = field(default_factory=dict)
    high_charge_ratio: Decimal = Decimal(2)  # charge above this multiple of the insurer's median
    min_claims_for_charge_check: int = 5
    weight_missing_authorisation: Decimal = Decimal("0.60")
    weight_outside_cover: Decimal = Decimal("0.70")
    weight_unmapped_code: Decimal = Decimal("0.60")
    weight_duplicate: Decimal = Decimal("0.60")
    weight_late_filing: Decimal = Decimal("0.50")
    weight_high_charge: Decimal = Decimal("0.20")


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    score: Decimal  # 0.00 to 1.00
    reasons: tuple[str, ...]
    model_used: bool
    needs_review: bool


# --------------------------------------------------------------------------- model


_FEATURE_WORDS: Final = {
    "insurer": "claims to insurer {}",
    "no_auth_insurer": "no authorisation number on claims to {}",
    "practitioner": "claims by practitioner {}",
    "has_auth": "an authorisation number",
    "auth_required": "codes needing authorisation",
    "lines": "the number of lines",
    "charge_band": "the size of the charge",
    "days_to_submit": "the time taken to submit",
    "outside_cover": "service outside the cover dates",
}


def _features(facts: ClaimFacts, submitted_on: date) -> dict[str, Any]:
    """Claim -> feature dict for ``DictVectorizer`` (strings are one-hot encoded)."""
    whole_units = max(int(facts.total_charge.amount), 0)
    features: dict[str, Any] = {
        "insurer": facts.insurer_id,
        "practitioner": facts.practitioner_id,
        "lines": len(facts.codes),
        "charge_band": (whole_units + 1).bit_length(),  # log2 band of the charge in whole units
        "has_auth": int(facts.has_authorisation),
        "auth_required": int(facts.authorisation_required),
        "days_to_submit": max((submitted_on - facts.service_date).days, 0),
        "outside_cover": int(_outside_cover(facts)),
    }
    if not facts.has_authorisation:
        features["no_auth_insurer"] = facts.insurer_id
    return features


@dataclass(frozen=True)
class DenialModel:
    """A fitted model; build it with :func:`train_denial_model`."""

    pipeline: Pipeline
    trained_on: int

    def chance_of_denial(self, facts: ClaimFacts, submitted_on: date) -> tuple[Decimal, str | None]:
        """Probability of denial (2 places) and the feature that pushed it up most, in words."""
        x = [_features(facts, submitted_on)]
        probability = self.pipeline.predict_proba(x)[0][1]
        chance = Decimal(str(float(probability))).quantize(_CENT, rounding=ROUND_HALF_UP)
        vectorizer: DictVectorizer = self.pipeline.named_steps["vectorize"]
        scaled = self.pipeline[:-1].transform(x)[0]
        coefficients = self.pipeline.named_steps["model"].coef_[0]
        contributions = [
            (float(c) * float(v), str(name))
            for c, v, name in zip(coefficients, scaled, vectorizer.get_feature_names_out(), strict=True)
        ]
        best, name = max(contributions)
        return chance, (_describe_feature(name) if best > 0 else None)


def _describe_feature(name: str) -> str:
    key, _, value = name.partition("=")
    return _FEATURE_WORDS.get(key, key).format(value)


@dataclass(frozen=True)
class TrainingOutcome:
    model: DenialModel | None
    note: str  # why there is no model, or what it was trained on


def train_denial_model(history: Sequence[AdjudicatedClaim], policy: RiskPolicy | None = None) -> TrainingOutcome:
    """Fit a logistic regression on the clinic's adjudicated claims (deterministic)."""
    policy = policy or RiskPolicy()
    usable = [h for h in history if h.facts.submitted_on is not None]
    if len(usable) < policy.min_history:
        return TrainingOutcome(
            None,
            f"Not enough adjudicated claims to learn from ({len(usable)} of {policy.min_history} needed); "
            "score from rules only.",
        )
    outcomes = {h.denied for h in usable}
    if len(outcomes) < 2:
        word = "denied" if True in outcomes else "paid"
        return TrainingOutcome(
            None,
            f"All {len(usable)} past claims were {word}, so there is nothing to learn; score from rules only.",
        )
    x = [_features(h.facts, h.facts.submitted_on or h.facts.service_date) for h in usable]
    y = [int(h.denied) for h in usable]
    pipeline = Pipeline(
        [
            ("vectorize", DictVectorizer(sparse=False, sort=True)),
            ("scale", StandardScaler()),
            ("model", LogisticRegression(random_state=0, max_iter=1000)),
        ]
    )
    pipeline.fit(x, y)
    return TrainingOutcome(DenialModel(pipeline, len(usable)), f"Model trained on {len(usable)} past claims.")


# --------------------------------------------------------------------------- rules


def _outside_cover(facts: ClaimFacts) -> bool:
    before = facts.coverage_start is not None and facts.service_date < facts.coverage_start
    after = facts.coverage_end is not None and facts.service_date > facts.coverage_end
    return before or after


def _median_minor(values: list[int]) -> Decimal:
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return Decimal(ordered[mid])
    return (Decimal(ordered[mid - 1]) + Decimal(ordered[mid])) / 2


def _rule_hits(
    claim: ClaimFacts,
    submit_on: date,
    history: Sequence[AdjudicatedClaim],
    pending: Sequence[ClaimFacts],
    policy: RiskPolicy,
) -> list[tuple[Decimal, str]]:
    hits: list[tuple[Decimal, str]] = []
    if claim.authorisation_required and not claim.has_authorisation:
        hits.append(
            (
                policy.weight_missing_authorisation,
                f"{claim.insurer_id} requires a pre-authorisation for this treatment and none is recorded.",
            )
        )
    if _outside_cover(claim):
        start = claim.coverage_start.isoformat() if claim.coverage_start else "?"
        end = claim.coverage_end.isoformat() if claim.coverage_end else "open"
        hits.append(
            (
                policy.weight_outside_cover,
                f"The service date {claim.service_date.isoformat()} is outside the patient's cover ({start} to {end}).",
            )
        )
    if claim.unmapped_codes:
        hits.append(
            (
                policy.weight_unmapped_code,
                f"Code(s) {', '.join(claim.unmapped_codes)} have no mapping to {claim.insurer_id}'s codes.",
            )
        )
    others = [h.facts for h in history if not h.denied] + list(pending)
    for other in others:
        same = set(claim.codes) & set(other.codes)
        if (
            other.claim_id != claim.claim_id
            and other.patient_id == claim.patient_id
            and other.service_date == claim.service_date
            and same
        ):
            hits.append(
                (
                    policy.weight_duplicate,
                    f"Claim {other.claim_id} already bills {', '.join(sorted(same))} for this patient on "
                    f"{claim.service_date.isoformat()}: this looks like a duplicate.",
                )
            )
            break
    limit = policy.filing_limit_days_by_insurer.get(claim.insurer_id, policy.filing_limit_days)
    days = (submit_on - claim.service_date).days
    if days > limit:
        hits.append(
            (
                policy.weight_late_filing,
                f"Submitting {days} days after the service; {claim.insurer_id} accepts claims up to {limit} days.",
            )
        )
    currency = claim.total_charge.currency
    past = [
        h.facts.total_charge.minor
        for h in history
        if h.facts.insurer_id == claim.insurer_id and h.facts.total_charge.currency == currency
    ]
    if len(past) >= policy.min_claims_for_charge_check:
        median = _median_minor(past)
        if median > 0 and Decimal(claim.total_charge.minor) > median * policy.high_charge_ratio:
            typical = Money(int(median.to_integral_value(rounding=ROUND_HALF_UP)), currency)
            hits.append(
                (
                    policy.weight_high_charge,
                    f"The charge {claim.total_charge} is more than {policy.high_charge_ratio}× what "
                    f"{claim.insurer_id} usually receives from this clinic (typically {typical}).",
                )
            )
    return hits


def _either(a: Decimal, b: Decimal) -> Decimal:
    """Chance that at least one of two independent causes leads to a denial."""
    return _ONE - (_ONE - a) * (_ONE - b)


def assess_risk(
    claim: ClaimFacts,
    *,
    today: date,
    history: Sequence[AdjudicatedClaim] = (),
    pending: Sequence[ClaimFacts] = (),
    policy: RiskPolicy | None = None,
    training: TrainingOutcome | None = None,
) -> RiskAssessment:
    """Score one claim before submission.

    ``history`` holds the clinic's adjudicated claims (for duplicates, typical charges and the
    model); ``pending`` holds submitted claims still awaiting a decision (for duplicates).
    Pass ``training`` to reuse a model fitted once with :func:`train_denial_model`.
    """
    policy = policy or RiskPolicy()
    submit_on = claim.submitted_on or today
    hits = _rule_hits(claim, submit_on, history, pending, policy)
    score = Decimal(0)
    for weight, _ in hits:
        score = _either(score, weight)
    reasons = [reason for _, reason in hits]

    training = training if training is not None else train_denial_model(history, policy)
    model_used = training.model is not None
    if training.model is not None:
        chance, driver = training.model.chance_of_denial(claim, submit_on)
        score = _either(score, chance)
        text = f"Past claims like this one were denied about {int(chance * 100)}% of the time"
        notable = driver is not None and chance >= Decimal("0.25")
        reasons.append(f"{text} (mainly because of {driver})." if notable else f"{text}.")
    else:
        reasons.append(training.note)

    score = min(max(score, Decimal(0)), _ONE).quantize(_CENT, rounding=ROUND_HALF_UP)
    return RiskAssessment(
        score=score,
        reasons=tuple(reasons),
        model_used=model_used,
        needs_review=score >= policy.review_threshold,
    )
