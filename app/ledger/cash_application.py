"""Apply a remittance to open claims: match, classify, post, and prove every line balances.

Pipeline per line: rank candidate claims (:mod:`app.ledger.matching`), pick one only when the
match is confident, classify against the contract and the payer's tolerance, then turn the cash
and the CAS adjustments into postings. Lines are applied in file order against a running
balance, so a reversal followed by a corrected payment for the same claim works out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from app.errors import DomainError
from app.ledger.csv_text import money_text, write_csv
from app.ledger.matching import Candidate, confident_choice, rank_candidates
from app.ledger.postings import (
    WRITE_OFF_KINDS,
    ApplicationResult,
    LineApplication,
    Outcome,
    PatientBalance,
    Posting,
    PostingKind,
    UnmatchedLine,
)
from app.ledger.remittance import (
    AdjustmentGroup,
    OpenClaim,
    Remittance,
    RemittanceLine,
    ToleranceRule,
)
from app.money import Money, total

GROUP_KIND: dict[str, PostingKind] = {  # what a CAS group becomes (the fast path books the same)
    AdjustmentGroup.CONTRACTUAL: PostingKind.CONTRACTUAL_WRITE_OFF,
    AdjustmentGroup.PATIENT_RESPONSIBILITY: PostingKind.PATIENT_RESPONSIBILITY,
    AdjustmentGroup.OTHER: PostingKind.OTHER_ADJUSTMENT,
    AdjustmentGroup.PAYER_INITIATED: PostingKind.OTHER_ADJUSTMENT,
    AdjustmentGroup.CORRECTION: PostingKind.CORRECTION,
}
PLB_MEANING = {
    "L6": "interest paid by the payer",
    "WO": "overpayment recovery (takeback)",
    "FB": "forward balance",
    "72": "authorised return",
    "CS": "adjustment",
    "J1": "non-reimbursable",
    "IR": "tax withholding",
}


@dataclass(frozen=True, slots=True)
class _Cash:
    postings: tuple[Posting, ...]
    applied: Money


def _tolerance(rules: Mapping[str, ToleranceRule], payer_id: str, currency: str) -> ToleranceRule:
    rule = rules.get(payer_id) or rules.get("*")
    return rule if rule is not None else ToleranceRule(payer_id, Money.zero(currency))


def _classify(line: RemittanceLine, claim: OpenClaim, rule: ToleranceRule) -> tuple[Outcome, str]:
    if line.is_reversal:
        return Outcome.REVERSAL, (
            f"payer reversed {abs(line.paid)} previously paid (takeback); claim had {claim.already_paid} paid"
        )
    if line.is_denial:
        codes = ", ".join(f"{a.group.value}-{a.reason_code}" for a in line.adjustments) or "none given"
        return Outcome.DENIAL, f"payer denied the claim (paid {line.paid}); reasons: {codes}"
    if any(a.group is AdjustmentGroup.CORRECTION for a in line.adjustments):
        return Outcome.CORRECTION, f"corrected payment of {line.paid} (CR adjustments present)"
    expected = claim.expected - claim.already_paid - line.patient_responsibility
    diff = line.paid - expected
    allowance = rule.allowance(expected)
    if diff.minor == 0:
        return Outcome.FULL_PAYMENT, f"paid {line.paid}, exactly as expected"
    if abs(diff.minor) <= allowance.minor:
        if diff.minor > 0:
            return Outcome.FULL_PAYMENT, f"paid {diff} more than expected, within tolerance {allowance}"
        return Outcome.PARTIAL_PAYMENT, f"paid {-diff} less than expected, within tolerance {allowance}"
    if diff.minor > 0:
        return Outcome.OVERPAYMENT, f"paid {diff} more than expected {expected}"
    return Outcome.UNDERPAYMENT, f"paid {-diff} less than expected {expected}, beyond tolerance {allowance}"


def _cash_postings(prefix: str, line: RemittanceLine, claim: OpenClaim) -> _Cash:
    paid = line.paid
    if paid.minor < 0:
        beyond = -paid.minor > max(claim.already_paid.minor, 0)
        memo = "takeback larger than what was paid on this claim" if beyond else "takeback of earlier payment"
        reversal = Posting(
            f"{prefix}:1",
            PostingKind.REVERSAL,
            paid,
            claim.claim_id,
            claim.patient_ref,
            memo=memo,
            needs_review=beyond,
        )
        return _Cash((reversal,), paid)
    room = max(claim.outstanding.minor, 0)
    applied = Money(min(paid.minor, room), paid.currency)
    over = paid - applied
    postings: list[Posting] = []
    if applied.minor:
        postings.append(Posting(f"{prefix}:1", PostingKind.APPLIED_PAYMENT, applied, claim.claim_id))
    if over.minor:
        memo = f"paid {over} more than the {claim.outstanding} outstanding"
        postings.append(
            Posting(f"{prefix}:2", PostingKind.OVERPAYMENT, over, claim.claim_id, memo=memo, needs_review=True)
        )
    return _Cash(tuple(postings), applied)


def _adjustment_postings(
    prefix: str, line: RemittanceLine, claim: OpenClaim, writeoff_limit: Money
) -> tuple[Posting, ...]:
    postings: list[Posting] = []
    for n, adj in enumerate(line.adjustments, start=1):
        if adj.amount.minor == 0:
            continue
        kind = GROUP_KIND[adj.group]
        above = kind in WRITE_OFF_KINDS and abs(adj.amount).minor > writeoff_limit.minor
        review = kind is PostingKind.OTHER_ADJUSTMENT or (line.is_denial and kind in WRITE_OFF_KINDS)
        memo = f"{adj.group.value}-{adj.reason_code}: {kind.value}"
        if above:
            memo += f" above the {writeoff_limit} limit: needs a manager's approval"
        postings.append(
            Posting(
                f"{prefix}:a{n}",
                kind,
                adj.amount,
                claim.claim_id,
                claim.patient_ref,
                reason_code=f"{adj.group.value}-{adj.reason_code}",
                memo=memo,
                needs_approval=above,
                needs_review=review,
            )
        )
    return tuple(postings)


def _check_balances(what: str, postings: Iterable[Posting], expected: Money) -> None:
    cash = total([p.amount for p in postings if p.is_cash], expected.currency)
    if cash != expected:
        raise DomainError(f"{what}: postings add up to {cash} but {expected} was paid; nothing was applied.")


def _apply_line(
    index: int,
    line: RemittanceLine,
    choice: Candidate,
    ranked: tuple[Candidate, ...],
    state: dict[str, OpenClaim],
    remittance: Remittance,
    rule: ToleranceRule,
    writeoff_limit: Money,
) -> LineApplication:
    claim = state[choice.claim_id]
    prefix = f"{remittance.remittance_id}:{index}"
    outcome, why = _classify(line, claim, rule)
    cash = _cash_postings(prefix, line, claim)
    adjustments = _adjustment_postings(prefix, line, claim, writeoff_limit)
    postings = cash.postings + adjustments
    _check_balances(f"Remittance line {index + 1}", postings, line.paid)
    moved = total([a.amount for a in adjustments], line.paid.currency)
    state[claim.claim_id] = replace(
        claim,
        already_paid=claim.already_paid + line.paid,
        outstanding=claim.outstanding - cash.applied - moved,
    )
    explanation = (*choice.explanation, why)
    return LineApplication(
        index, line, claim.claim_id, choice.rule, choice.score, outcome, explanation, postings, ranked
    )


def _unmatched(index: int, line: RemittanceLine, reason: str, ranked: tuple[Candidate, ...], rid: str) -> UnmatchedLine:
    postings: tuple[Posting, ...] = ()
    if line.paid.minor:
        memo = f"held in suspense: {reason}"
        postings = (Posting(f"{rid}:{index}:1", PostingKind.UNAPPLIED, line.paid, None, line.patient_ref, "", memo),)
    _check_balances(f"Remittance line {index + 1}", postings, line.paid)
    return UnmatchedLine(index, line, reason, ranked, postings)


def _provider_postings(remittance: Remittance) -> tuple[Posting, ...]:
    postings: list[Posting] = []
    for n, plb in enumerate(remittance.provider_adjustments, start=1):
        meaning = PLB_MEANING.get(plb.reason_code, "provider-level adjustment")
        memo = f"PLB {plb.reason_code} {plb.reference}: {meaning}".strip()
        review = plb.reason_code != "L6"
        postings.append(
            Posting(
                f"{remittance.remittance_id}:plb{n}",
                PostingKind.PROVIDER_ADJUSTMENT,
                -plb.amount,
                reason_code=plb.reason_code,
                memo=memo,
                needs_review=review,
            )
        )
    plb_total = total([-p.amount for p in remittance.provider_adjustments], remittance.currency)
    _check_balances("Provider-level adjustments", postings, plb_total)
    return tuple(postings)


def _check_currency(remittance: Remittance, claims: Iterable[OpenClaim], writeoff_limit: Money) -> None:
    amounts: list[Money] = [writeoff_limit]
    for line in remittance.lines:
        amounts += [
            line.charged,
            line.paid,
            line.patient_responsibility,
            *(a.amount for a in line.adjustments),
        ]
    amounts += [p.amount for p in remittance.provider_adjustments]
    for claim in claims:
        amounts += [claim.charged, claim.expected, claim.already_paid, claim.outstanding]
    foreign = sorted({m.currency for m in amounts} - {remittance.currency})
    if foreign:
        raise DomainError(
            f"Remittance {remittance.remittance_id} is in {remittance.currency} but amounts in "
            f"{', '.join(foreign)} were given; nothing was applied."
        )


def apply_remittance(
    remittance: Remittance,
    open_claims: Iterable[OpenClaim],
    rules: Mapping[str, ToleranceRule],
    writeoff_limit: Money,
) -> ApplicationResult:
    """Match and apply every line of ``remittance``; never returns a result that does not balance.

    ``rules`` maps payer id to its tolerance ("*" is the default; none means zero tolerance).
    Write-offs above ``writeoff_limit`` carry ``needs_approval=True``.
    """
    claims = list(open_claims)
    _check_currency(remittance, claims, writeoff_limit)
    state = {c.claim_id: c for c in claims}
    rule = _tolerance(rules, remittance.payer_id, remittance.currency)
    applications: list[LineApplication] = []
    unmatched: list[UnmatchedLine] = []
    for index, line in enumerate(remittance.lines):
        line = line.merged()
        ranked = rank_candidates(line, state.values(), remittance.payer_id)
        choice, reason = confident_choice(ranked)
        if choice is None:
            unmatched.append(_unmatched(index, line, reason, ranked, remittance.remittance_id))
        else:
            applications.append(_apply_line(index, line, choice, ranked, state, remittance, rule, writeoff_limit))
    balances = tuple(
        PatientBalance(p.claim_id or "", p.patient_ref or "", p.amount, p.reason_code, p.posting_id)
        for a in applications
        for p in a.postings
        if p.kind is PostingKind.PATIENT_RESPONSIBILITY
    )
    result = ApplicationResult(
        remittance.remittance_id,
        remittance.payer_id,
        remittance.paid_on,
        remittance.currency,
        tuple(applications),
        tuple(unmatched),
        _provider_postings(remittance),
        balances,
    )
    expected_cash = total([ln.paid for ln in remittance.lines], remittance.currency) - total(
        [p.amount for p in remittance.provider_adjustments], remittance.currency
    )
    _check_balances(f"Remittance {remittance.remittance_id}", result.postings, expected_cash)
    return result


CASH_APPLICATION_HEADER = (
    "remittance_id",
    "line",
    "payer_claim_id",
    "claim_id",
    "match_rule",
    "score",
    "outcome",
    "posting_id",
    "posting_kind",
    "amount",
    "currency",
    "needs_approval",
    "needs_review",
    "explanation",
)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def cash_application_csv(result: ApplicationResult) -> bytes:
    """``cash-application.csv``: one row per posting (an unmatched line with no money: one row)."""
    rows: list[tuple[str, ...]] = []
    rid = result.remittance_id
    for app in result.applications:
        for p in app.postings or (None,):
            rows.append(
                (
                    rid,
                    str(app.line_index + 1),
                    app.line.payer_claim_id or "",
                    app.claim_id,
                    app.rule.value,
                    str(app.score),
                    app.outcome.value,
                    p.posting_id if p else "",
                    p.kind.value if p else "",
                    money_text(p.amount) if p else "0.00",
                    result.currency,
                    _yes(p.needs_approval) if p else "no",
                    _yes(p.needs_review) if p else _yes(app.needs_review),
                    "; ".join((*app.explanation, p.memo) if p and p.memo else app.explanation),
                )
            )
    for un in result.unmatched:
        ranked = ", ".join(f"{c.claim_id} ({c.score}, {c.rule.value})" for c in un.candidates)
        why = un.reason + (f"; candidates: {ranked}" if ranked else "")
        for p in un.postings or (None,):
            rows.append(
                (
                    rid,
                    str(un.line_index + 1),
                    un.line.payer_claim_id or "",
                    un.line.claim_id or "",
                    "",
                    "",
                    Outcome.UNMATCHED.value,
                    p.posting_id if p else "",
                    p.kind.value if p else "",
                    money_text(p.amount) if p else "0.00",
                    result.currency,
                    "no",
                    "yes",
                    why,
                )
            )
    rows.sort(key=lambda r: int(r[1]))
    for p in result.provider_postings:
        rows.append(
            (
                rid,
                "",
                "",
                "",
                "",
                "",
                "provider adjustment",
                p.posting_id,
                p.kind.value,
                money_text(p.amount),
                result.currency,
                "no",
                _yes(p.needs_review),
                p.memo,
            )
        )
    return write_csv(CASH_APPLICATION_HEADER, rows)
