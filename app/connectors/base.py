"""The small interfaces every provider module implements, and the plain records they return.

Connectors never touch the database: they take and return these frozen records. Money is
:class:`app.money.Money`; datetimes are aware UTC. Transport failures are translated at the
boundary into :class:`app.errors.TransientError` (retry may help) or
:class:`app.errors.PermanentError` (a person must act).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from app.money import Money

# --------------------------------------------------------------------------- card processors


@dataclass(frozen=True, slots=True)
class ProviderPayment:
    provider: str  # "stripe", "square", "paypal"
    provider_ref: str  # pi_..., Square payment id, PayPal capture id
    created_at: datetime
    gross: Money
    fee: Money
    net: Money
    status: str  # provider's own word, e.g. "succeeded", "COMPLETED"
    method: str = "card_present"
    terminal_id: str | None = None
    customer_ref: str | None = None
    card_fingerprint: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderRefund:
    provider: str
    provider_ref: str
    payment_ref: str
    amount: Money
    status: str  # "succeeded", "pending", "failed"
    created_at: datetime
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderPayout:
    provider: str
    provider_ref: str
    amount: Money  # net amount the bank should receive
    arrival_date: date
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PayoutEntry:
    """One line of a payout: a payment, refund, fee, dispute or adjustment, with gross/fee/net."""

    payout_ref: str
    entry_type: str  # "charge", "refund", "dispute", "adjustment", "fee"
    source_ref: str | None  # the payment/refund/dispute id this entry settles
    gross: Money
    fee: Money
    net: Money


@dataclass(frozen=True, slots=True)
class ProviderDispute:
    provider: str
    provider_ref: str
    payment_ref: str
    amount: Money
    reason: str
    status: str  # provider's word: "needs_response", "won", "lost", ...
    evidence_due_by: datetime | None
    created_at: datetime


def reuse_refund(provider: str, existing: ProviderRefund | None, amount: Money, key: str) -> ProviderRefund | None:
    """Exactly-once refunds: the refund already made with ``key`` is returned instead of making a second one;
    the same key with a different amount is a programming or data error and is refused."""
    if existing is not None and existing.amount != amount:
        from app.errors import PermanentError

        raise PermanentError(provider, f"refund {key} was already made for {existing.amount}, not {amount}")
    return existing


class PaymentProcessor(Protocol):
    """A card processor (Stripe, Square, PayPal): read takings, execute refunds."""

    name: str

    def list_payments(self, since: datetime, until: datetime) -> list[ProviderPayment]: ...

    def list_refunds(self, since: datetime, until: datetime) -> list[ProviderRefund]: ...

    def list_payouts(self, since: datetime, until: datetime) -> list[ProviderPayout]: ...

    def list_payout_entries(self, payout_ref: str) -> list[PayoutEntry]: ...

    def list_disputes(self, since: datetime, until: datetime) -> list[ProviderDispute]: ...

    def find_refund(self, idempotency_key: str, payment_ref: str | None = None) -> ProviderRefund | None:
        """The refund created earlier with this key (kept in the provider's metadata), if any."""
        ...

    def create_refund(self, payment_ref: str, amount: Money, idempotency_key: str) -> ProviderRefund:
        """Create a refund exactly once: implementations call ``find_refund`` first."""
        ...


# --------------------------------------------------------------------------- insurers


@dataclass(frozen=True, slots=True)
class EligibilityResult:
    covered: bool
    coverage_start: date | None
    coverage_end: date | None
    authorisation_number: str | None
    visits_left: int | None
    messages: tuple[str, ...] = ()
    raw: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ClaimSubmission:
    """What leaves the clinic for one claim: the payload plus attachments."""

    claim_ref: str  # our claim number, e.g. "CLM-000123"
    payload_name: str  # "CLM-000123.xml" or "CLM-000123.837"
    payload: bytes
    attachments: Mapping[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SubmissionReceipt:
    claim_ref: str
    insurer_ref: str | None  # the insurer's claim reference if the channel returns one
    accepted_at: datetime
    detail: str = ""


@dataclass(frozen=True, slots=True)
class InboundFile:
    """A file an insurer left for us: acknowledgement, rejection or remittance."""

    name: str
    content: bytes


class InsurerChannel(Protocol):
    """One way of talking to insurers (SFTP+XML, HTTP portal, X12 clearinghouse)."""

    name: str

    def check_eligibility(
        self, member_id: str, service_date: date, procedure_codes: list[str]
    ) -> EligibilityResult: ...

    def submit(self, submission: ClaimSubmission, idempotency_key: str) -> SubmissionReceipt:
        """Send one claim; sending the same key twice must not create a second claim."""
        ...

    def fetch_inbound(self) -> list[InboundFile]:
        """Collect acknowledgements and remittances waiting for us."""
        ...


# --------------------------------------------------------------------------- marketplaces


@dataclass(frozen=True, slots=True)
class RawSettlement:
    """A marketplace settlement exactly as received, before any parsing."""

    source: str  # "classpass", "treatwell"
    name: str
    content: bytes
    received_at: datetime


class MarketplaceSource(Protocol):
    name: str

    def fetch_settlements(self, since: datetime) -> list[RawSettlement]: ...


# --------------------------------------------------------------------------- notifications


@dataclass(frozen=True, slots=True)
class Notification:
    to: str  # email address, phone number or webhook channel
    subject: str
    body: str
    attachments: Mapping[str, bytes] = field(default_factory=dict)


class Notifier(Protocol):
    name: str

    def send(self, notification: Notification, idempotency_key: str) -> str:
        """Deliver; return the provider's message id."""
        ...
