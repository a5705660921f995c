"""Build journal entries from cash application, payouts, shift close-outs and refunds.

Each builder takes plain records, looks accounts up in an :class:`AccountMap`, and returns
entries whose ids are derived from the source, so re-building never double-posts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from app.errors import DomainError
from app.ledger.chart import AccountMap, AccountRole
from app.ledger.journals import EntryBuilder, JournalEntry
from app.ledger.postings import ApplicationResult, Posting, PostingKind
from app.money import Money, total

_R = AccountRole
_BALANCE_MOVES = {
    PostingKind.CONTRACTUAL_WRITE_OFF: _R.CONTRACTUAL_ADJUSTMENTS,
    PostingKind.OTHER_ADJUSTMENT: _R.BAD_DEBT,
    PostingKind.CORRECTION: _R.CONTRACTUAL_ADJUSTMENTS,
    PostingKind.PATIENT_RESPONSIBILITY: _R.AR_PATIENTS,
}


def _book_posting(b: EntryBuilder, p: Posting, accounts: AccountMap, payer: str) -> None:
    memo = f"{p.claim_id or 'no claim'}: {p.memo or p.kind.value}"
    ar_insurers = accounts.code(_R.AR_INSURERS)
    if p.kind in (PostingKind.APPLIED_PAYMENT, PostingKind.REVERSAL):
        b.add(ar_insurers, -p.amount, memo, payer)
    elif p.kind in (PostingKind.OVERPAYMENT, PostingKind.UNAPPLIED):
        b.add(accounts.code(_R.UNAPPLIED_CASH), -p.amount, memo, payer)
    elif p.kind is PostingKind.PROVIDER_ADJUSTMENT:
        role = _R.INTEREST_INCOME if p.reason_code == "L6" else _R.SUSPENSE
        b.add(accounts.code(role), -p.amount, p.memo, payer)
    else:
        party = p.patient_ref or "" if p.kind is PostingKind.PATIENT_RESPONSIBILITY else ""
        b.add(accounts.code(_BALANCE_MOVES[p.kind]), p.amount, memo, party)
        b.add(ar_insurers, -p.amount, memo, payer)


def journal_for_application(result: ApplicationResult, accounts: AccountMap) -> JournalEntry | None:
    """The remittance's cash and the balance moves that need nobody's approval.

    Held postings (write-offs awaiting approval or review) are left out; book them later with
    :func:`journals_for_approved_adjustments`.
    """
    rid, payer = result.remittance_id, result.payer_id
    b = EntryBuilder(result.currency)
    b.add(accounts.code(_R.BANK), result.total_cash, f"remittance {rid} received", payer)
    for posting in result.postings:
        if not posting.held:
            _book_posting(b, posting, accounts, payer)
    return b.build(result.paid_on, f"Remittance {rid} from {payer}", "remittance", rid, "cash-application")


def journals_for_approved_adjustments(
    result: ApplicationResult, approved_posting_ids: Iterable[str], accounts: AccountMap
) -> tuple[JournalEntry, ...]:
    """One entry per held posting a manager approved (ids of other remittances are ignored)."""
    approved = set(approved_posting_ids)
    entries: list[JournalEntry] = []
    for posting in result.postings:
        if posting.held and posting.posting_id in approved:
            b = EntryBuilder(result.currency)
            _book_posting(b, posting, accounts, result.payer_id)
            description = f"Approved {posting.kind.value} on {posting.claim_id} ({result.remittance_id})"
            purpose = f"approved:{posting.posting_id}"
            entry = b.build(result.paid_on, description, "remittance", result.remittance_id, purpose)
            if entry is not None:
                entries.append(entry)
    return tuple(entries)


class PayoutChannel(StrEnum):
    CARD_PROCESSOR = "card processor"
    MARKETPLACE = "marketplace"


class TenderMethod(StrEnum):
    CASH = "cash"
    CARD = "card"
    MARKETPLACE = "marketplace"
    BANK_TRANSFER = "bank transfer"


class TakingsUse(StrEnum):
    """Where takings go: income, or paying off what patients owe."""

    TREATMENTS = "treatments"
    PRODUCTS = "products"
    PATIENT_BALANCES = "patient balances"


_USE_ROLE = {
    TakingsUse.TREATMENTS: _R.INCOME_TREATMENTS,
    TakingsUse.PRODUCTS: _R.INCOME_PRODUCTS,
    TakingsUse.PATIENT_BALANCES: _R.AR_PATIENTS,
}


def _tender_account(accounts: AccountMap, method: TenderMethod, provider: str) -> str:
    if method is TenderMethod.CARD:
        return accounts.card_clearing_for(provider)
    if method is TenderMethod.MARKETPLACE:
        return accounts.marketplace_clearing_for(provider)
    if method is TenderMethod.CASH:
        return accounts.code(_R.UNDEPOSITED_CASH)
    return accounts.code(_R.BANK)


@dataclass(frozen=True, slots=True)
class PayoutRecord:
    """A processor or marketplace payout: gross less commission, fee and VAT on fees is net."""

    payout_id: str
    provider: str
    channel: PayoutChannel
    paid_on: date
    gross: Money
    commission: Money
    processing_fee: Money
    vat_on_fees: Money
    net: Money


def journal_for_payout(payout: PayoutRecord, accounts: AccountMap) -> JournalEntry:
    """Bank gets net; fees, commission and input VAT are expensed; the clearing account empties."""
    deductions = payout.commission + payout.processing_fee + payout.vat_on_fees
    if payout.gross - deductions != payout.net:
        raise DomainError(
            f"Payout {payout.payout_id}: gross {payout.gross} less fees {deductions} is not the net {payout.net}."
        )
    if payout.channel is PayoutChannel.MARKETPLACE:
        clearing = accounts.marketplace_clearing_for(payout.provider)
    else:
        clearing = accounts.card_clearing_for(payout.provider)
    b = EntryBuilder(payout.gross.currency)
    b.add(accounts.code(_R.BANK), payout.net, f"{payout.provider} payout {payout.payout_id}")
    b.add(accounts.code(_R.MARKETPLACE_COMMISSION), payout.commission, "commission")
    b.add(accounts.code(_R.PROCESSOR_FEES), payout.processing_fee, "processing fees")
    b.add(accounts.code(_R.INPUT_VAT), payout.vat_on_fees, "VAT on fees")
    b.add(clearing, -payout.gross, f"{payout.provider} gross takings paid out")
    entry = b.build(
        payout.paid_on, f"{payout.provider} payout {payout.payout_id}", "payout", payout.payout_id, "payout"
    )
    if entry is None:
        raise DomainError(f"Payout {payout.payout_id} has no amounts to book.")
    return entry


@dataclass(frozen=True, slots=True)
class ShiftTakings:
    """What one tender took during a shift (provider: "stripe", "sumup", ...; "" for cash)."""

    method: TenderMethod
    provider: str
    amount: Money


@dataclass(frozen=True, slots=True)
class ShiftAllocation:
    use: TakingsUse
    amount: Money


@dataclass(frozen=True, slots=True)
class ShiftFee:
    """A fee a terminal provider deducted at source during the shift."""

    provider: str
    amount: Money
    vat: Money


@dataclass(frozen=True, slots=True)
class ShiftClose:
    """A shift's close-out: takings by tender, what they were for, fees, and the counted cash."""

    shift_id: str
    closed_on: date
    takings: tuple[ShiftTakings, ...]
    allocations: tuple[ShiftAllocation, ...]
    fees: tuple[ShiftFee, ...] = ()
    cash_counted: Money | None = None


def journal_for_shift(shift: ShiftClose, accounts: AccountMap) -> JournalEntry | None:
    """Takings into clearing/undeposited cash, out to income or patient balances; over/short to suspense."""
    if not shift.takings:
        return None
    currency = shift.takings[0].amount.currency
    taken = total([t.amount for t in shift.takings], currency)
    allocated = total([a.amount for a in shift.allocations], currency)
    if taken != allocated:
        raise DomainError(f"Shift {shift.shift_id}: takings {taken} but {allocated} allocated to income.")
    b = EntryBuilder(currency)
    for t in shift.takings:
        b.add(
            _tender_account(accounts, t.method, t.provider),
            t.amount,
            f"{t.method.value} {t.provider}".strip(),
        )
    for a in shift.allocations:
        b.add(accounts.code(_USE_ROLE[a.use]), -a.amount, a.use.value)
    for fee in shift.fees:
        b.add(accounts.code(_R.PROCESSOR_FEES), fee.amount, f"{fee.provider} fees")
        b.add(accounts.code(_R.INPUT_VAT), fee.vat, f"VAT on {fee.provider} fees")
        b.add(accounts.card_clearing_for(fee.provider), -(fee.amount + fee.vat), f"{fee.provider} fees deducted")
    if shift.cash_counted is not None:
        cash = total([t.amount for t in shift.takings if t.method is TenderMethod.CASH], currency)
        b.move(
            accounts.code(_R.UNDEPOSITED_CASH),
            accounts.code(_R.SUSPENSE),
            shift.cash_counted - cash,
            "cash over/short",
        )
    return b.build(shift.closed_on, f"Shift {shift.shift_id} close-out", "shift", shift.shift_id, "close-out")


@dataclass(frozen=True, slots=True)
class RefundRecord:
    """Money given back to a patient (a credit note / refund receipt in the accounts)."""

    refund_id: str
    refunded_on: date
    amount: Money
    method: TenderMethod
    provider: str
    patient_ref: str
    patient_name: str
    reason: str
    refunded_use: TakingsUse = TakingsUse.TREATMENTS


def refund_accounts(refund: RefundRecord, accounts: AccountMap) -> tuple[str, str]:
    """(account debited, tender account credited) for a refund; shared with the exports."""
    role = _R.AR_PATIENTS if refund.refunded_use is TakingsUse.PATIENT_BALANCES else _R.REFUNDS
    return accounts.code(role), _tender_account(accounts, refund.method, refund.provider)


def journal_for_refund(refund: RefundRecord, accounts: AccountMap) -> JournalEntry:
    """Debit refunds (or the patient's credit balance), credit the tender the money left by."""
    if refund.amount.minor <= 0:
        raise DomainError(f"Refund {refund.refund_id} must be for more than {Money.zero(refund.amount.currency)}.")
    debit, tender = refund_accounts(refund, accounts)
    b = EntryBuilder(refund.amount.currency)
    b.add(debit, refund.amount, refund.reason, refund.patient_name)
    b.add(
        tender,
        -refund.amount,
        f"refund by {refund.method.value} {refund.provider}".strip(),
        refund.patient_name,
    )
    entry = b.build(
        refund.refunded_on,
        f"Refund {refund.refund_id} to {refund.patient_name}",
        "refund",
        refund.refund_id,
        "refund",
    )
    if entry is None:  # unreachable: two non-zero lines were added above
        raise DomainError(f"Refund {refund.refund_id} has no amounts to book.")
    return entry
