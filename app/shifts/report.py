"""``shift-report.pdf``: a shift's :class:`ShiftReport` built from the database, printed, archived.

When the card providers could not be reached, the report is built from stored data and carries
"provider data as of HH:MM" (the time of the last successful poll).
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.archive import keep_artefact
from app.claims.artefacts import ArtefactStore
from app.context import AppContext
from app.db.models import Clinic, Dispute, Payment, Payout, Practitioner, Shift
from app.domain.status import DisputeStatus, ShiftStatus
from app.money import Money
from app.reports.pdf_common import ClinicDetails
from app.reports.shift_model import (
    UK_DENOMINATIONS,
    CashCount,
    OpenDispute,
    PaymentRow,
    PayoutCheck,
    SettlementEta,
    ShiftReport,
    ShiftState,
    TakingsLine,
    uk_cash_count,
)
from app.reports.shift_report import render_shift_pdf
from app.shifts.service import CASH, ShiftSummary, summarise
from app.shifts.settlement import window_days
from app.shifts.sync import provider_data_as_of

ARTEFACT = "shift-report.pdf"
PROVIDER_NAMES = {"stripe": "Stripe", "square": "Square", "cash": "Cash", "paypal": "PayPal"}
METHOD_NAMES = {"card_present": "Card present", "card": "Card online", "cash": "Cash"}


def provider_label(provider: str) -> str:
    return PROVIDER_NAMES.get(provider, provider.capitalize())


def method_label(method: str) -> str:
    return METHOD_NAMES.get(method, method.replace("_", " ").capitalize())


def _clinic(clinic: Clinic) -> ClinicDetails:
    lines = tuple(p.strip() for p in clinic.address.replace("\n", ",").split(",") if p.strip())
    registration = f"Provider no. {clinic.provider_number}" if clinic.provider_number else None
    return ClinicDetails(clinic.name, lines, registration=registration)


def _cash(summary: ShiftSummary) -> CashCount | None:
    if summary.counted_cash is None:
        return None
    counts = dict(summary.cash_count)
    reason = summary.difference_reason or None
    if sum(d * n for d, n in counts.items()) != summary.counted_cash.minor:
        counts, rest = {}, summary.counted_cash.minor  # a total typed in: shown as the fewest notes and coins
        for d in UK_DENOMINATIONS:
            counts[d], rest = divmod(rest, d)
        reason = f"{reason or ''} (counted total entered without a denomination count)".strip()
    return CashCount(summary.opening_float, summary.expected_cash, uk_cash_count(counts), reason)


def _payments(session: Session, shift_id: int, currency: str) -> tuple[PaymentRow, ...]:
    rows = session.execute(
        select(
            Payment.taken_at,
            Payment.provider,
            Payment.method,
            Payment.provider_ref,
            Payment.terminal_id,
            Practitioner.name,
            Payment.gross_minor,
            Payment.fee_minor,
            Payment.net_minor,
        )
        .outerjoin(Practitioner, Practitioner.id == Payment.practitioner_id)
        .where(Payment.shift_id == shift_id)
        .order_by(Payment.taken_at, Payment.id)
    )
    return tuple(
        PaymentRow(
            taken,
            provider_label(prov),
            method_label(meth),
            ref,
            term or "—",
            name or "—",
            Money(g, currency),
            Money(f, currency),
            Money(n, currency),
        )
        for taken, prov, meth, ref, term, name, g, f, n in rows
    )


def _payouts(session: Session, shift_id: int) -> tuple[PayoutCheck, ...]:
    linked = select(Payment.payout_id).where(Payment.shift_id == shift_id, Payment.payout_id.is_not(None))
    payouts = session.scalars(select(Payout).where(Payout.id.in_(linked)).order_by(Payout.payout_date, Payout.id))
    return tuple(
        PayoutCheck(
            provider_label(p.source),
            p.provider_ref,
            Money(p.expected_minor, p.currency),
            None if p.received_minor is None else Money(p.received_minor, p.currency),
        )
        for p in payouts
    )


def _disputes(session: Session, shift_id: int) -> tuple[OpenDispute, ...]:
    rows = session.execute(
        select(Dispute, Payment.provider_ref)
        .join(Payment, Payment.id == Dispute.payment_id)
        .where(Payment.shift_id == shift_id, Dispute.status.in_([DisputeStatus.OPEN, DisputeStatus.EVIDENCE_SUBMITTED]))
        .order_by(Dispute.due_at)
    )
    return tuple(
        OpenDispute(
            provider_label(d.provider),
            d.provider_ref,
            ref,
            Money(d.amount_minor, d.currency),
            d.reason,
            (d.due_at or d.opened_at).date(),
        )
        for d, ref in rows
    )


def _settlements(session: Session, shift: Shift, summary: ShiftSummary) -> tuple[SettlementEta, ...]:
    rows = session.execute(
        select(Payment.provider, Payment.net_minor).where(
            Payment.shift_id == shift.id, Payment.payout_id.is_(None), Payment.provider != CASH
        )
    ).all()
    owed: dict[str, int] = {}
    for provider, net in rows:
        owed[provider] = owed.get(provider, 0) + int(net)
    eta = shift.ends_at.date() + timedelta(days=window_days(session))
    return tuple(
        SettlementEta(provider_label(p), Money(amount, summary.currency), eta) for p, amount in sorted(owed.items())
    )


def build_shift_report(session: Session, shift_id: int, now: datetime) -> ShiftReport:
    summary = summarise(session, shift_id)
    shift = session.get(Shift, shift_id)
    clinic = session.get(Clinic, summary.clinic_id)
    assert shift is not None and clinic is not None
    closed = summary.status is ShiftStatus.CLOSED
    staff = [summary.closed_by] if summary.closed_by else []
    staff += [p.practitioner for p in summary.by_practitioner if p.practitioner != "Not recorded"]
    terminals = sorted(
        set(session.scalars(select(Payment.terminal_id).where(Payment.shift_id == shift_id).distinct())) - {""}
    )
    return ShiftReport(
        shift_ref=f"{shift.id:06d}",
        clinic=_clinic(clinic),
        desk=summary.desk,
        terminal=", ".join(terminals) or "—",
        staff=tuple(staff),
        state=ShiftState.CLOSED if closed else ShiftState.OPEN,
        period_start=summary.starts_at,
        period_end=summary.ends_at,
        display_timezone=summary.timezone,
        takings=tuple(
            TakingsLine(provider_label(t.provider), method_label(t.method), t.count, t.gross, t.fee)
            for t in summary.takings
        ),
        payouts=_payouts(session, shift_id),
        cash=_cash(summary),
        payments=_payments(session, shift_id, summary.currency),
        disputes=_disputes(session, shift_id),
        settlements=_settlements(session, shift, summary),
        closed_by=summary.closed_by or None,
        checked_by=None,
        generated_at=now,
        provider_data_as_of=summary.provider_data_as_of if closed else provider_data_as_of(session),
        currency=summary.currency,
    )


def render_report(session: Session, shift_id: int, now: datetime) -> bytes:
    buffer = io.BytesIO()
    render_shift_pdf(build_shift_report(session, shift_id, now), buffer)
    return buffer.getvalue()


def shift_report_pdf(ctx: AppContext, shift_id: int) -> bytes:
    """Render ``shift-report.pdf`` from the database and keep it in the archive with the shift."""
    with ctx.db.read() as s:
        data = render_report(s, shift_id, ctx.clock.now())
    with ctx.db.unit_of_work() as s:
        keep_artefact(s, ctx.clock, ArtefactStore(ctx.paths.archive), "shift", shift_id, ARTEFACT, data)
    return data
