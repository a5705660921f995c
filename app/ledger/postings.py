"""What cash application produces: postings per line, outcomes, and the whole result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from app.ledger.matching import Candidate, MatchRule
from app.ledger.remittance import RemittanceLine
from app.money import Money, total


class Outcome(StrEnum):
    """How a remittance line was classified."""

    FULL_PAYMENT = "full payment"
    PARTIAL_PAYMENT = "partial payment within tolerance"
    UNDERPAYMENT = "underpayment beyond tolerance"
    OVERPAYMENT = "overpayment"
    DENIAL = "denial"
    REVERSAL = "reversal"
    CORRECTION = "correction"
    UNMATCHED = "unmatched"


class PostingKind(StrEnum):
    """What a posting does. Cash kinds move money; the others move balances between accounts."""

    APPLIED_PAYMENT = "applied payment"
    OVERPAYMENT = "overpayment (unapplied credit)"
    REVERSAL = "reversal (takeback)"
    UNAPPLIED = "unapplied (no claim matched)"
    PROVIDER_ADJUSTMENT = "provider-level adjustment"
    CONTRACTUAL_WRITE_OFF = "contractual write-off"
    PATIENT_RESPONSIBILITY = "patient responsibility"
    OTHER_ADJUSTMENT = "other adjustment"
    CORRECTION = "correction"


CASH_KINDS = frozenset(
    {
        PostingKind.APPLIED_PAYMENT,
        PostingKind.OVERPAYMENT,
        PostingKind.REVERSAL,
        PostingKind.UNAPPLIED,
        PostingKind.PROVIDER_ADJUSTMENT,
    }
)
WRITE_OFF_KINDS = frozenset({PostingKind.CONTRACTUAL_WRITE_OFF, PostingKind.OTHER_ADJUSTMENT})


@dataclass(frozen=True, slots=True)
class Posting:
    """One amount to book. ``posting_id`` is deterministic (remittance, line, sequence)."""

    posting_id: str
    kind: PostingKind
    amount: Money
    claim_id: str | None = None
    patient_ref: str | None = None
    reason_code: str = ""
    memo: str = ""
    needs_approval: bool = False
    needs_review: bool = False

    @property
    def is_cash(self) -> bool:
        return self.kind in CASH_KINDS

    @property
    def held(self) -> bool:
        """A balance move that waits for a manager (cash is never held: it has arrived)."""
        return not self.is_cash and (self.needs_approval or self.needs_review)


@dataclass(frozen=True, slots=True)
class PatientBalance:
    """A co-pay/deductible the patient now owes, from a PR adjustment."""

    claim_id: str
    patient_ref: str
    amount: Money
    reason_code: str
    posting_id: str


@dataclass(frozen=True, slots=True)
class LineApplication:
    """A line applied to one claim, with the evidence and the postings."""

    line_index: int
    line: RemittanceLine
    claim_id: str
    rule: MatchRule
    score: int
    outcome: Outcome
    explanation: tuple[str, ...]
    postings: tuple[Posting, ...]
    candidates: tuple[Candidate, ...]

    @property
    def needs_review(self) -> bool:
        flagged = self.outcome in (Outcome.UNDERPAYMENT, Outcome.OVERPAYMENT, Outcome.DENIAL)
        return flagged or any(p.needs_review or p.needs_approval for p in self.postings)


@dataclass(frozen=True, slots=True)
class UnmatchedLine:
    """A line no claim matched confidently: a task for a person, candidates best first."""

    line_index: int
    line: RemittanceLine
    reason: str
    candidates: tuple[Candidate, ...]
    postings: tuple[Posting, ...]


@dataclass(frozen=True, slots=True)
class ApplicationResult:
    """Everything one remittance did. Cash postings add up to the money received."""

    remittance_id: str
    payer_id: str
    paid_on: date
    currency: str
    applications: tuple[LineApplication, ...]
    unmatched: tuple[UnmatchedLine, ...]
    provider_postings: tuple[Posting, ...]
    patient_balances: tuple[PatientBalance, ...]

    @property
    def postings(self) -> tuple[Posting, ...]:
        """Every posting, in line order, then the provider-level ones."""
        lines: list[tuple[int, tuple[Posting, ...]]] = [(a.line_index, a.postings) for a in self.applications]
        lines += [(u.line_index, u.postings) for u in self.unmatched]
        ordered = [p for _, group in sorted(lines, key=lambda item: item[0]) for p in group]
        return (*ordered, *self.provider_postings)

    @property
    def total_cash(self) -> Money:
        """The money the payer sent: sum of line payments less PLB adjustments."""
        return total([p.amount for p in self.postings if p.is_cash], self.currency)

    @property
    def unapplied(self) -> Money:
        """Cash not applied to any claim balance (unmatched lines and overpayments)."""
        kinds = (PostingKind.UNAPPLIED, PostingKind.OVERPAYMENT)
        return total([p.amount for p in self.postings if p.kind in kinds], self.currency)

    @property
    def awaiting_approval(self) -> tuple[Posting, ...]:
        """Write-offs above the limit that a manager must approve before they are booked."""
        return tuple(p for p in self.postings if p.needs_approval)
