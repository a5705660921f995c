"""Every status the app knows, each an enum with ONE transitions table.

``advance(entity_name, current, target)`` is the only way a service changes a status: an illegal
move raises :class:`app.errors.IllegalTransition`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from app.errors import IllegalTransition


class ClaimStatus(StrEnum):
    DRAFT = "draft"
    READY = "ready"
    NEEDS_REVIEW = "needs_review"  # denial risk above threshold: a person decides
    QUEUED = "queued"  # in the outbox, waiting for the network
    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    CORRECTED = "corrected"
    PAID = "paid"
    PARTLY_PAID = "partly_paid"
    DENIED = "denied"
    CLOSED = "closed"
    VOID = "void"


_ADJUDICATED = {ClaimStatus.PAID, ClaimStatus.PARTLY_PAID, ClaimStatus.DENIED}

CLAIM_TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    ClaimStatus.DRAFT: frozenset({ClaimStatus.READY, ClaimStatus.VOID}),
    ClaimStatus.READY: frozenset({ClaimStatus.DRAFT, ClaimStatus.NEEDS_REVIEW, ClaimStatus.QUEUED, ClaimStatus.VOID}),
    ClaimStatus.NEEDS_REVIEW: frozenset({ClaimStatus.QUEUED, ClaimStatus.DRAFT, ClaimStatus.VOID}),
    ClaimStatus.QUEUED: frozenset({ClaimStatus.SUBMITTED, ClaimStatus.REJECTED}),
    ClaimStatus.SUBMITTED: frozenset({ClaimStatus.ACKNOWLEDGED, ClaimStatus.REJECTED, *_ADJUDICATED, ClaimStatus.VOID}),
    ClaimStatus.ACKNOWLEDGED: frozenset({ClaimStatus.REJECTED, *_ADJUDICATED, ClaimStatus.VOID}),
    ClaimStatus.REJECTED: frozenset({ClaimStatus.CORRECTED, ClaimStatus.VOID}),
    ClaimStatus.CORRECTED: frozenset(
        {ClaimStatus.READY, ClaimStatus.NEEDS_REVIEW, ClaimStatus.QUEUED, ClaimStatus.VOID}
    ),
    ClaimStatus.PAID: frozenset({ClaimStatus.CLOSED, ClaimStatus.PARTLY_PAID}),  # a reversal can reopen
    ClaimStatus.PARTLY_PAID: frozenset({ClaimStatus.PAID, ClaimStatus.CLOSED, ClaimStatus.DENIED}),
    ClaimStatus.DENIED: frozenset(
        {ClaimStatus.CLOSED, ClaimStatus.CORRECTED, ClaimStatus.PAID, ClaimStatus.PARTLY_PAID}
    ),
    ClaimStatus.CLOSED: frozenset(),
    ClaimStatus.VOID: frozenset(),
}


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTLY_REFUNDED = "partly_refunded"
    DISPUTED = "disputed"


PAYMENT_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.PENDING: frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.FAILED}),
    PaymentStatus.SUCCEEDED: frozenset({PaymentStatus.REFUNDED, PaymentStatus.PARTLY_REFUNDED, PaymentStatus.DISPUTED}),
    PaymentStatus.PARTLY_REFUNDED: frozenset(
        {PaymentStatus.REFUNDED, PaymentStatus.PARTLY_REFUNDED, PaymentStatus.DISPUTED}
    ),
    PaymentStatus.DISPUTED: frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED}),
    PaymentStatus.REFUNDED: frozenset(),
    PaymentStatus.FAILED: frozenset(),
}


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PART_PAID = "part_paid"
    PAID = "paid"
    VOID = "void"


INVOICE_TRANSITIONS: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.OPEN: frozenset({InvoiceStatus.PART_PAID, InvoiceStatus.PAID, InvoiceStatus.VOID}),
    InvoiceStatus.PART_PAID: frozenset({InvoiceStatus.PAID, InvoiceStatus.OPEN, InvoiceStatus.PART_PAID}),
    InvoiceStatus.PAID: frozenset({InvoiceStatus.PART_PAID, InvoiceStatus.OPEN}),  # refunds/reversals reopen
    InvoiceStatus.VOID: frozenset(),
}


class PayoutStatus(StrEnum):
    EXPECTED = "expected"
    RECEIVED = "received"
    MATCHED = "matched"
    VARIANCE = "variance"
    HELD = "held"
    POSTED = "posted"


PAYOUT_TRANSITIONS: dict[PayoutStatus, frozenset[PayoutStatus]] = {
    PayoutStatus.EXPECTED: frozenset({PayoutStatus.RECEIVED}),
    PayoutStatus.RECEIVED: frozenset({PayoutStatus.MATCHED, PayoutStatus.VARIANCE}),
    PayoutStatus.MATCHED: frozenset({PayoutStatus.POSTED, PayoutStatus.VARIANCE}),
    PayoutStatus.VARIANCE: frozenset({PayoutStatus.HELD, PayoutStatus.MATCHED}),
    PayoutStatus.HELD: frozenset({PayoutStatus.MATCHED, PayoutStatus.POSTED}),
    PayoutStatus.POSTED: frozenset(),
}


class ShiftStatus(StrEnum):
    OPEN = "open"
    COUNTING = "counting"
    CLOSED = "closed"


SHIFT_TRANSITIONS: dict[ShiftStatus, frozenset[ShiftStatus]] = {
    ShiftStatus.OPEN: frozenset({ShiftStatus.COUNTING, ShiftStatus.CLOSED}),
    ShiftStatus.COUNTING: frozenset({ShiftStatus.OPEN, ShiftStatus.CLOSED}),
    ShiftStatus.CLOSED: frozenset(),  # later corrections are adjustment entries, never edits
}


class RefundStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    SENT = "sent"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


REFUND_TRANSITIONS: dict[RefundStatus, frozenset[RefundStatus]] = {
    RefundStatus.PROPOSED: frozenset({RefundStatus.APPROVED, RefundStatus.REJECTED, RefundStatus.CANCELLED}),
    RefundStatus.APPROVED: frozenset({RefundStatus.SENT, RefundStatus.CANCELLED}),
    RefundStatus.SENT: frozenset({RefundStatus.SUCCEEDED, RefundStatus.FAILED}),
    RefundStatus.FAILED: frozenset({RefundStatus.APPROVED, RefundStatus.CANCELLED}),
    RefundStatus.SUCCEEDED: frozenset(),
    RefundStatus.REJECTED: frozenset(),
    RefundStatus.CANCELLED: frozenset(),
}


class RefundReason(StrEnum):
    PATIENT_REQUEST = "patient_request"
    DUPLICATE_CHARGE = "duplicate_charge"
    INSURANCE_OVERPAYMENT = "insurance_overpayment"
    PRODUCT_RETURN = "product_return"
    PRODUCT_RECALL = "product_recall"
    MANUAL = "manual"
    SUBSCRIPTION_CANCELLATION = "subscription_cancellation"


class DisputeKind(StrEnum):
    CARD = "card"
    PATIENT_BILLING = "patient_billing"
    REMITTANCE_LINE = "remittance_line"


class DisputeStatus(StrEnum):
    OPEN = "open"
    EVIDENCE_SUBMITTED = "evidence_submitted"
    WON = "won"
    LOST = "lost"
    CORRECTED = "corrected"


DISPUTE_TRANSITIONS: dict[DisputeStatus, frozenset[DisputeStatus]] = {
    DisputeStatus.OPEN: frozenset(
        {DisputeStatus.EVIDENCE_SUBMITTED, DisputeStatus.WON, DisputeStatus.LOST, DisputeStatus.CORRECTED}
    ),
    DisputeStatus.EVIDENCE_SUBMITTED: frozenset({DisputeStatus.WON, DisputeStatus.LOST, DisputeStatus.CORRECTED}),
    DisputeStatus.WON: frozenset(),
    DisputeStatus.LOST: frozenset(),
    DisputeStatus.CORRECTED: frozenset(),
}


class RemittanceStatus(StrEnum):
    RECEIVED = "received"
    APPLIED = "applied"
    PARTLY_APPLIED = "partly_applied"
    FLAGGED = "flagged"  # does not balance: a person looks before anything is applied


REMITTANCE_TRANSITIONS: dict[RemittanceStatus, frozenset[RemittanceStatus]] = {
    RemittanceStatus.RECEIVED: frozenset(
        {RemittanceStatus.APPLIED, RemittanceStatus.PARTLY_APPLIED, RemittanceStatus.FLAGGED}
    ),
    RemittanceStatus.PARTLY_APPLIED: frozenset({RemittanceStatus.APPLIED, RemittanceStatus.PARTLY_APPLIED}),
    RemittanceStatus.FLAGGED: frozenset(
        {RemittanceStatus.RECEIVED, RemittanceStatus.APPLIED, RemittanceStatus.PARTLY_APPLIED}
    ),
    RemittanceStatus.APPLIED: frozenset(),
}


class SettlementStatus(StrEnum):
    GENERATED = "generated"
    PAID = "paid"
    DISPUTED = "disputed"
    RESOLVED = "resolved"


SETTLEMENT_TRANSITIONS: dict[SettlementStatus, frozenset[SettlementStatus]] = {
    SettlementStatus.GENERATED: frozenset({SettlementStatus.PAID, SettlementStatus.DISPUTED}),
    SettlementStatus.PAID: frozenset({SettlementStatus.DISPUTED}),
    SettlementStatus.DISPUTED: frozenset({SettlementStatus.RESOLVED}),
    SettlementStatus.RESOLVED: frozenset(),
}


class TaskStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


TASK_TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.OPEN: frozenset({TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.CANCELLED}),
    TaskStatus.IN_PROGRESS: frozenset({TaskStatus.OPEN, TaskStatus.DONE, TaskStatus.CANCELLED}),
    TaskStatus.DONE: frozenset({TaskStatus.OPEN}),
    TaskStatus.CANCELLED: frozenset(),
}


class TaskPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"  # permanent failure: a task was opened


OUTBOX_TRANSITIONS: dict[OutboxStatus, frozenset[OutboxStatus]] = {
    OutboxStatus.PENDING: frozenset({OutboxStatus.SENDING, OutboxStatus.DEAD}),
    OutboxStatus.SENDING: frozenset({OutboxStatus.SENT, OutboxStatus.PENDING, OutboxStatus.DEAD}),
    OutboxStatus.SENT: frozenset(),
    OutboxStatus.DEAD: frozenset({OutboxStatus.PENDING}),  # a person may retry after fixing the cause
}


class PayerKind(StrEnum):
    INSURER = "insurer"
    HMO = "hmo"
    MARKETPLACE = "marketplace"
    CARD_PROCESSOR = "card_processor"


class InsurerChannelKind(StrEnum):
    SFTP_XML = "sftp_xml"
    HTTP_PORTAL = "http_portal"
    X12 = "x12"
    NONE = "none"


class Role(StrEnum):
    FRONT_DESK = "front_desk"
    MANAGER = "manager"
    FINANCE = "finance"
    ADMIN = "admin"


E = TypeVar("E", bound=StrEnum)

TRANSITIONS: dict[type[StrEnum], dict[object, frozenset[object]]] = {
    ClaimStatus: CLAIM_TRANSITIONS,  # type: ignore[dict-item]
    PaymentStatus: PAYMENT_TRANSITIONS,  # type: ignore[dict-item]
    InvoiceStatus: INVOICE_TRANSITIONS,  # type: ignore[dict-item]
    PayoutStatus: PAYOUT_TRANSITIONS,  # type: ignore[dict-item]
    ShiftStatus: SHIFT_TRANSITIONS,  # type: ignore[dict-item]
    RefundStatus: REFUND_TRANSITIONS,  # type: ignore[dict-item]
    DisputeStatus: DISPUTE_TRANSITIONS,  # type: ignore[dict-item]
    RemittanceStatus: REMITTANCE_TRANSITIONS,  # type: ignore[dict-item]
    SettlementStatus: SETTLEMENT_TRANSITIONS,  # type: ignore[dict-item]
    TaskStatus: TASK_TRANSITIONS,  # type: ignore[dict-item]
    OutboxStatus: OUTBOX_TRANSITIONS,  # type: ignore[dict-item]
}


def can_move(current: E, target: E) -> bool:
    table = TRANSITIONS[type(current)]
    return target in table[current]


def advance(entity: str, current: E, target: E) -> E:
    """Return ``target`` if the move is allowed, else raise IllegalTransition."""
    if type(current) is not type(target):
        raise TypeError(f"{entity}: cannot compare {type(current).__name__} with {type(target).__name__}")
    if not can_move(current, target):
        raise IllegalTransition(entity, current.value, target.value)
    return target
