"""Polls Stripe and Square: payments, refunds, payouts with their entries, and disputes.

Fetching happens outside any transaction; storing is one unit of work per poll. Each payment is
stored once (unique provider + reference), so polling the same window again adds nothing even
though localstripe ignores idempotency keys. Each payment goes to exactly one shift
(:class:`app.shifts.schedule.ShiftLocator`). A successful poll records how fresh the provider data
is (``shifts.provider_data_as_of.<provider>``) and marks the provider online.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import health
from app.audit import SYSTEM, Actor, record, snapshot
from app.clock import Clock
from app.connectors.base import PaymentProcessor, PayoutEntry, ProviderDispute, ProviderPayment, ProviderPayout
from app.connectors.base import ProviderRefund as SeenRefund
from app.context import AppContext
from app.db.models import Clinic, Dispute, Payment, Payout, PayoutLine, Practitioner, Refund
from app.domain.status import (
    DisputeKind,
    DisputeStatus,
    PaymentStatus,
    PayoutStatus,
    RefundReason,
    RefundStatus,
    advance,
    can_move,
)
from app.errors import ConfigurationError, ConflictError, ConnectorError
from app.routes import endpoint
from app.settings import get_setting, set_setting
from app.shifts.disputes import upsert_dispute
from app.shifts.schedule import ShiftLocator, clinic_for_terminal, open_todays_shifts

PROVIDERS = ("stripe", "square")
SECRET_NAMES = {"stripe": "stripe.api_key", "square": "square.access_token"}
FRESHNESS_KEY = "shifts.provider_data_as_of."
FIRST_WINDOW = timedelta(days=3)
OVERLAP = timedelta(days=1)  # re-read the last day: late refunds and payouts are caught, nothing doubles
_DONE_REFUNDS = {"succeeded", "completed"}


@dataclass(frozen=True)
class Snapshot:
    """What one provider returned for a window, before anything is stored."""

    provider: str
    until: datetime
    payments: list[ProviderPayment]
    refunds: list[SeenRefund]
    payouts: list[ProviderPayout]
    entries: dict[str, list[PayoutEntry]]
    disputes: list[ProviderDispute]


@dataclass
class SyncReport:
    provider: str
    payments: int = 0
    refunds: int = 0
    payouts: int = 0
    disputes_opened: int = 0
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"{self.provider}: {self.payments} new payment(s), {self.refunds} refund(s), "
            f"{self.payouts} payout(s), {self.disputes_opened} new dispute(s)"
        )
        return text + (f"; {'; '.join(self.notes)}" if self.notes else "")


def build_processor(ctx: AppContext, provider: str) -> PaymentProcessor:
    """The connector for ``provider`` from its address in Settings and its credential in the keyring."""
    base = endpoint(ctx, provider)
    if base is None:
        raise ConfigurationError(f"{provider.capitalize()} is not set up: add its address in Settings → Providers.")
    secret = ctx.secret(SECRET_NAMES[provider])
    if provider == "stripe":
        from app.connectors.stripe_cards import StripeCardProcessor

        return StripeCardProcessor(secret, base)
    from app.connectors.square_cards import SquareCardProcessor

    return SquareCardProcessor(secret, base)


def data_as_of(session: Session, provider: str) -> datetime | None:
    value = get_setting(session, FRESHNESS_KEY + provider)
    return datetime.fromisoformat(value) if value else None


def provider_data_as_of(session: Session) -> datetime | None:
    """The oldest 'data as of' of the card providers that were ever polled (None: never polled)."""
    stamps = [s for s in (data_as_of(session, p) for p in PROVIDERS) if s is not None]
    return min(stamps) if stamps else None


def fetch(ctx: AppContext, processor: PaymentProcessor, since: datetime | None = None) -> Snapshot:
    """Read the provider's window (network only; nothing stored)."""
    provider = processor.name
    until = ctx.clock.now()
    with ctx.db.read() as s:
        last = data_as_of(s, provider)
        start = since or (last - OVERLAP if last else until - FIRST_WINDOW)
        known = set(s.scalars(select(Payout.provider_ref).where(Payout.source == provider)))
        oldest_open = s.scalar(
            select(func.min(Dispute.opened_at)).where(
                Dispute.provider == provider,
                Dispute.kind == DisputeKind.CARD,
                Dispute.status.in_([DisputeStatus.OPEN, DisputeStatus.EVIDENCE_SUBMITTED]),
            )
        )
    payouts = [p for p in processor.list_payouts(start, until) if p.provider_ref not in known]
    entries = {p.provider_ref: processor.list_payout_entries(p.provider_ref) for p in payouts}
    dispute_start = min(start, oldest_open) if oldest_open else start
    return Snapshot(
        provider,
        until,
        processor.list_payments(start, until),
        processor.list_refunds(start, until),
        payouts,
        entries,
        processor.list_disputes(dispute_start, until),
    )


def sync_provider(
    ctx: AppContext, processor: PaymentProcessor, *, since: datetime | None = None, actor: Actor = SYSTEM
) -> SyncReport:
    """Fetch one provider's window and store it; a dead network marks the provider offline and raises."""
    try:
        snap = fetch(ctx, processor, since)
    except ConnectorError as exc:
        health.mark(ctx.db, ctx.clock, processor.name, False, str(exc))
        raise
    try:
        with ctx.db.unit_of_work() as s:
            report = store(s, ctx.clock, actor, snap)
    except IntegrityError as exc:  # the unique (provider, reference) keys held: nothing was stored twice
        raise ConflictError(
            f"{processor.name.capitalize()} was polled from another desk at the same moment; "
            "nothing was stored twice. The next poll picks up anything missing."
        ) from exc
    health.mark(ctx.db, ctx.clock, processor.name, True)
    return report


def store(session: Session, clock: Clock, actor: Actor, snap: Snapshot) -> SyncReport:
    report = SyncReport(snap.provider)
    writer = _Writer(session, clock, actor, snap.provider)
    report.payments = writer.payments(snap.payments)
    report.refunds = writer.refunds(snap.refunds, report.notes)
    for seen in snap.disputes:
        report.disputes_opened += int(upsert_dispute(session, clock, actor, seen)[1])
    for payout in snap.payouts:
        writer.payout(payout, snap.entries.get(payout.provider_ref, []))
        report.payouts += 1
    set_setting(session, clock, actor, FRESHNESS_KEY + snap.provider, snap.until.isoformat())
    return report


class _Writer:
    def __init__(self, session: Session, clock: Clock, actor: Actor, provider: str) -> None:
        self.s, self.clock, self.actor, self.provider = session, clock, actor, provider
        self.locator = ShiftLocator(session, clock, actor)
        self.clinics = {c.id: c for c in session.scalars(select(Clinic).order_by(Clinic.id))}
        if not self.clinics:
            raise ConfigurationError("No clinic is set up yet: add one before polling card takings.")
        self.practitioners = set(session.scalars(select(Practitioner.id)))

    def _clinic(self, terminal: str, metadata: dict[str, str]) -> Clinic:
        clinic_id = clinic_for_terminal(self.s, terminal)
        if clinic_id is None and metadata.get("clinic_id", "").isdigit():
            clinic_id = int(metadata["clinic_id"])
        return self.clinics.get(clinic_id or 0) or next(iter(self.clinics.values()))

    def payments(self, seen: list[ProviderPayment]) -> int:
        refs = [p.provider_ref for p in seen]
        known: set[str] = set()
        for chunk in range(0, len(refs), 500):
            known |= set(
                self.s.scalars(
                    select(Payment.provider_ref).where(
                        Payment.provider == self.provider, Payment.provider_ref.in_(refs[chunk : chunk + 500])
                    )
                )
            )
        added = 0
        for p in seen:
            if p.provider_ref in known:
                continue
            known.add(p.provider_ref)
            meta = dict(p.metadata)
            terminal = p.terminal_id or meta.get("terminal_id", "")
            clinic = self._clinic(terminal, meta)
            practitioner = int(meta["practitioner_id"]) if meta.get("practitioner_id", "").isdigit() else None
            row = Payment(
                clinic_id=clinic.id,
                practitioner_id=practitioner if practitioner in self.practitioners else None,
                shift_id=self.locator.locate(clinic, p.created_at, terminal).id,
                provider=self.provider,
                provider_ref=p.provider_ref,
                method=p.method,
                terminal_id=terminal[:60],
                card_fingerprint=(p.card_fingerprint or "")[:60],
                taken_at=p.created_at,
                gross_minor=p.gross.minor,
                fee_minor=p.fee.minor,
                net_minor=p.net.minor,
                refunded_minor=0,
                currency=p.gross.currency,
                status=PaymentStatus.SUCCEEDED,
            )
            self.s.add(row)
            self.s.flush()
            record(self.s, self.clock, self.actor, "payment.received", "payment", row.id, None, snapshot(row))
            added += 1
        return added

    def refunds(self, seen: list[SeenRefund], notes: list[str]) -> int:
        added = 0
        for r in seen:
            if r.status.lower() not in _DONE_REFUNDS:
                continue
            if self.s.scalar(select(Refund.id).where(Refund.provider_ref == r.provider_ref)) is not None:
                continue
            payment = self._payment(r.payment_ref)
            if payment is None:
                notes.append(f"refund {r.provider_ref} is for payment {r.payment_ref}, which is not in our records")
                continue
            clinic = self.clinics[payment.clinic_id]
            refund = Refund(
                payment_id=payment.id,
                amount_minor=r.amount.minor,
                currency=r.amount.currency,
                reason=RefundReason.MANUAL,
                note=f"Refunded at {self.provider.capitalize()} (terminal or dashboard)",
                status=RefundStatus.SUCCEEDED,
                provider_ref=r.provider_ref,
                method="original",
                shift_id=self.locator.locate(clinic, r.created_at, payment.terminal_id).id,
                created_at=r.created_at,
                updated_at=self.clock.now(),
            )
            self.s.add(refund)
            before = snapshot(payment)
            payment.refunded_minor += r.amount.minor
            full = payment.refunded_minor >= payment.gross_minor
            target = PaymentStatus.REFUNDED if full else PaymentStatus.PARTLY_REFUNDED
            if can_move(payment.status, target):
                payment.status = advance("Payment", payment.status, target)
            self.s.flush()
            record(self.s, self.clock, self.actor, "refund.seen", "refund", refund.id, None, snapshot(refund))
            record(self.s, self.clock, self.actor, "payment.refunded", "payment", payment.id, before, snapshot(payment))
            added += 1
        return added

    def _payment(self, ref: str | None) -> Payment | None:
        if not ref:
            return None
        found: Payment | None = self.s.scalar(
            select(Payment).where(Payment.provider == self.provider, Payment.provider_ref == ref)
        )
        return found

    def _entry_payment(self, entry: PayoutEntry) -> Payment | None:
        if entry.entry_type == "refund" and entry.source_ref:
            refund = self.s.scalar(select(Refund).where(Refund.provider_ref == entry.source_ref))
            return self.s.get(Payment, refund.payment_id) if refund else None
        if entry.entry_type == "dispute" and entry.source_ref:
            dispute = self.s.scalar(
                select(Dispute).where(Dispute.provider == self.provider, Dispute.provider_ref == entry.source_ref)
            )
            return self.s.get(Payment, dispute.payment_id) if dispute and dispute.payment_id else None
        return self._payment(entry.source_ref)

    def payout(self, seen: ProviderPayout, entries: list[PayoutEntry]) -> None:
        payout = Payout(
            source=self.provider,
            provider_ref=seen.provider_ref,
            payout_date=seen.arrival_date,
            expected_minor=seen.amount.minor,
            received_minor=None,
            currency=seen.amount.currency,
            status=PayoutStatus.EXPECTED,
            created_at=self.clock.now(),
        )
        self.s.add(payout)
        self.s.flush()
        for entry in entries:
            payment = self._entry_payment(entry)
            if payment is not None and entry.entry_type == "charge":
                payment.payout_id = payout.id
            self.s.add(
                PayoutLine(
                    payout_id=payout.id,
                    entry_type=entry.entry_type,
                    booking_id=(entry.source_ref or "")[:60],
                    gross_minor=entry.gross.minor,
                    commission_minor=0,
                    processing_fee_minor=entry.fee.minor,
                    vat_on_fees_minor=0,
                    net_minor=entry.net.minor,
                    currency=entry.net.currency,
                    payment_id=payment.id if payment else None,
                    match_rule="provider reference" if payment else "",
                    variance_minor=0,
                    status="matched" if payment else "unmatched",
                )
            )
        self.s.flush()
        after = {**(snapshot(payout) or {}), "entries": len(entries)}
        record(self.s, self.clock, self.actor, "payout.expected", "payout", payout.id, None, after)


def poll(ctx: AppContext, provider: str) -> str:
    """One scheduled or on-demand poll: store the window, then raise settlement-delay alerts."""
    from app.shifts.settlement import flag_settlement_delays

    try:
        report = sync_provider(ctx, build_processor(ctx, provider))
    except ConnectorError as exc:
        return f"failed: {exc} (stored data is kept; the shift can still be closed)"
    with ctx.db.unit_of_work() as s:
        open_todays_shifts(s, ctx.clock, SYSTEM)
        delayed = flag_settlement_delays(s, ctx.clock, SYSTEM)
    return str(report) + (f"; {delayed} settlement delay(s) flagged" if delayed else "")


def _poller(provider: str) -> Callable[[AppContext], str]:
    def run(ctx: AppContext) -> str:
        return poll(ctx, provider)

    run.__name__ = f"poll_{provider}"
    return run


POLLS: dict[str, Callable[[AppContext], str]] = {p: _poller(p) for p in PROVIDERS}


def refresh_all(ctx: AppContext, actor: Actor = SYSTEM) -> dict[str, Any]:
    """Poll every configured card provider now; returns provider -> report text or the error."""
    out: dict[str, Any] = {}
    for provider in PROVIDERS:
        if endpoint(ctx, provider) is None:
            continue
        try:
            out[provider] = str(sync_provider(ctx, build_processor(ctx, provider), actor=actor))
        except (ConnectorError, ConfigurationError, ConflictError) as exc:  # close-out goes on from stored data
            out[provider] = exc
    return out
