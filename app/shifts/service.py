"""Shift totals and the close-out at the counter.

Totals are aggregated in the database (GROUP BY), never by loading every payment. Closing locks
the shift: counted vs expected cash, a reason for any difference, the shift journal posted; later
corrections are :class:`ShiftAdjustment` rows. Two desks closing one shift at once cannot both
win: the shift row carries an optimistic lock (``Shift.version``) and the loser gets a
:class:`ConflictError`; closing a closed shift is refused the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.audit import Actor, record, snapshot
from app.clock import Clock
from app.context import AppContext
from app.db.engine import Database
from app.db.models import Clinic, Dispute, Payment, Practitioner, Refund, Shift, ShiftAdjustment, User
from app.domain.status import DisputeStatus, RefundStatus, ShiftStatus, advance
from app.errors import ConflictError, DomainError, NotFound, ValidationFailed
from app.ledger.chart import AccountMap
from app.ledger.journal_builders import (
    ShiftAllocation,
    ShiftClose,
    ShiftFee,
    ShiftTakings,
    TakingsUse,
    TenderMethod,
    journal_for_shift,
)
from app.ledger.store import post_entries
from app.money import Money
from app.reports.shift_model import UK_DENOMINATIONS
from app.users import Permission, require

CASH = "cash"
ADJUSTMENT_KINDS = ("cash_correction", "late_payment", "refund_from_drawer")


@dataclass(frozen=True, slots=True)
class TakingsGroup:
    provider: str
    method: str
    count: int
    gross: Money
    fee: Money
    refunded: Money

    @property
    def net(self) -> Money:
        return self.gross - self.fee


@dataclass(frozen=True, slots=True)
class PractitionerTakings:
    practitioner: str
    count: int
    gross: Money


@dataclass(frozen=True, slots=True)
class ShiftSummary:
    id: int
    clinic_id: int
    clinic: str
    timezone: str
    desk: str
    starts_at: datetime
    ends_at: datetime
    status: ShiftStatus
    currency: str
    takings: tuple[TakingsGroup, ...]
    by_practitioner: tuple[PractitionerTakings, ...]
    card_refunds: Money
    cash_refunds: Money
    opening_float: Money
    cash_count: Mapping[int, int]
    counted_cash: Money | None
    difference_reason: str
    adjustments: Money
    open_disputes: int
    closed_by: str
    closed_at: datetime | None
    provider_data_as_of: datetime | None

    def _sum(self, card: bool, attr: str) -> Money:
        result = Money.zero(self.currency)
        for t in self.takings:
            if (t.provider != CASH) is card:
                result = result + getattr(t, attr)
        return result

    @property
    def card_gross(self) -> Money:
        return self._sum(True, "gross")

    @property
    def card_fees(self) -> Money:
        return self._sum(True, "fee")

    @property
    def cash_taken(self) -> Money:
        return self._sum(False, "gross")

    @property
    def gross(self) -> Money:
        return self.card_gross + self.cash_taken

    @property
    def payments(self) -> int:
        return sum(t.count for t in self.takings)

    @property
    def expected_deposit(self) -> Money:
        """Card takings after the providers' fees, less card refunds made during the shift."""
        return self.card_gross - self.card_fees - self.card_refunds

    @property
    def expected_cash(self) -> Money:
        return self.opening_float + self.cash_taken - self.cash_refunds

    @property
    def cash_difference(self) -> Money | None:
        return None if self.counted_cash is None else self.counted_cash - self.expected_cash

    @property
    def to_do(self) -> tuple[str, ...]:
        if self.status is ShiftStatus.CLOSED:
            return ()
        steps = []
        if self.counted_cash is None:
            steps.append("Count the cash drawer")
        diff = self.cash_difference
        if diff is not None and diff.minor and not self.difference_reason.strip():
            steps.append(f"Give a reason for the cash difference of {diff}")
        if self.open_disputes:
            steps.append(f"{self.open_disputes} open card dispute(s) need evidence")
        return (*steps, "Close the shift")


def _shift(session: Session, shift_id: int) -> Shift:
    shift = session.get(Shift, shift_id)
    if shift is None:
        raise NotFound(f"Shift {shift_id} does not exist.")
    return shift


def _counted(shift: Shift) -> Money | None:
    """The drawer count, once one was recorded (an open shift has not been counted yet)."""
    if shift.status is ShiftStatus.OPEN or shift.counted_cash_minor is None:
        return None
    return Money(shift.counted_cash_minor, shift.currency)


def summarise(session: Session, shift_id: int) -> ShiftSummary:
    """Totals of one shift by provider and method, by practitioner, refunds, cash and disputes."""
    shift = _shift(session, shift_id)
    clinic = session.get(Clinic, shift.clinic_id)
    assert clinic is not None
    cur = shift.currency

    def m(value: object) -> Money:
        return Money(int(value or 0), cur)  # type: ignore[call-overload]

    groups = session.execute(
        select(
            Payment.provider,
            Payment.method,
            func.count(),
            func.sum(Payment.gross_minor),
            func.sum(Payment.fee_minor),
            func.sum(Payment.refunded_minor),
        )
        .where(Payment.shift_id == shift_id)
        .group_by(Payment.provider, Payment.method)
        .order_by(Payment.provider, Payment.method)
    ).all()
    people = session.execute(
        select(Practitioner.name, func.count(), func.sum(Payment.gross_minor))
        .select_from(Payment)
        .outerjoin(Practitioner, Practitioner.id == Payment.practitioner_id)
        .where(Payment.shift_id == shift_id)
        .group_by(Practitioner.name)
        .order_by(Practitioner.name)
    ).all()
    refunds = {False: 0, True: 0}
    for method, amount in session.execute(
        select(Refund.method, func.sum(Refund.amount_minor))
        .where(Refund.shift_id == shift_id, Refund.status == RefundStatus.SUCCEEDED)
        .group_by(Refund.method)
    ):
        refunds[method == CASH] += int(amount or 0)
    adjustments = session.scalar(
        select(func.sum(ShiftAdjustment.amount_minor)).where(ShiftAdjustment.shift_id == shift_id)
    )
    disputes = session.scalar(
        select(func.count())
        .select_from(Dispute)
        .join(Payment, Payment.id == Dispute.payment_id)
        .where(Payment.shift_id == shift_id, Dispute.status.in_([DisputeStatus.OPEN, DisputeStatus.EVIDENCE_SUBMITTED]))
    )
    closer = session.get(User, shift.closed_by_id) if shift.closed_by_id else None
    return ShiftSummary(
        shift.id,
        clinic.id,
        clinic.name,
        clinic.timezone,
        shift.desk,
        shift.starts_at,
        shift.ends_at,
        shift.status,
        cur,
        tuple(TakingsGroup(p, meth, int(n), m(g), m(f), m(r)) for p, meth, n, g, f, r in groups),
        tuple(PractitionerTakings(name or "Not recorded", int(n), m(g)) for name, n, g in people),
        m(refunds.get(False)),
        m(refunds.get(True)),
        m(shift.opening_float_minor),
        {int(k): int(v) for k, v in json.loads(shift.cash_count_json or "{}").items()},
        _counted(shift),
        shift.difference_reason,
        m(adjustments),
        int(disputes or 0),
        closer.display_name if closer else "",
        shift.closed_at,
        shift.provider_data_as_of,
    )


def counted_total(counts: Mapping[int, int], currency: str = "GBP") -> Money:
    """The value of a drawer count ``{denomination in minor units: number}``; bad entries are listed."""
    problems = [f"{d}p is not a note or coin" for d in counts if d not in UK_DENOMINATIONS]
    problems += [f"{n} × {d}p: a count cannot be negative" for d, n in counts.items() if n < 0]
    if problems:
        raise ValidationFailed("The cash count cannot be used", problems)
    return Money(sum(d * n for d, n in counts.items()), currency)


def _refuse_closed(shift: Shift) -> None:
    if shift.status is ShiftStatus.CLOSED:
        when = f" at {shift.closed_at:%d %b %Y %H:%M} UTC" if shift.closed_at else ""
        raise DomainError(
            f"Shift {shift.id} ({shift.desk}) is closed{when} and cannot be changed: add an adjustment entry instead."
        )


def record_cash_count(
    db: Database,
    clock: Clock,
    actor: Actor,
    shift_id: int,
    counts: Mapping[int, int],
    opening_float_minor: int | None = None,
) -> ShiftSummary:
    """Save the drawer count by denomination (and the opening float if given) on an open shift."""
    require(actor, Permission.CLOSE_SHIFT)
    with db.unit_of_work() as s:
        shift = _shift(s, shift_id)
        _refuse_closed(shift)
        before = snapshot(shift)
        total = counted_total(counts, shift.currency)
        shift.cash_count_json = json.dumps({str(d): n for d, n in sorted(counts.items(), reverse=True) if n})
        shift.counted_cash_minor = total.minor
        if opening_float_minor is not None:
            shift.opening_float_minor = opening_float_minor
        if shift.status is ShiftStatus.OPEN:
            shift.status = advance("Shift", shift.status, ShiftStatus.COUNTING)
        s.flush()
        record(s, clock, actor, "shift.cash_count", "shift", shift.id, before, snapshot(shift))
        return summarise(s, shift_id)


def _journal(summary: ShiftSummary, counted: Money, closed_on: date) -> ShiftClose:
    takings = [
        ShiftTakings(TenderMethod.CARD, t.provider, t.gross) for t in summary.takings if t.provider != CASH and t.gross
    ]
    if summary.cash_taken:
        takings.append(ShiftTakings(TenderMethod.CASH, "", summary.cash_taken))
    fees = [ShiftFee(t.provider, t.fee, Money.zero(summary.currency)) for t in summary.takings if t.fee]
    return ShiftClose(
        str(summary.id),
        closed_on,
        tuple(takings),
        (ShiftAllocation(TakingsUse.TREATMENTS, summary.gross),),
        tuple(fees),
        counted - summary.opening_float + summary.cash_refunds,
    )


def todays_shift(session: Session, clock: Clock, actor: Actor) -> ShiftSummary | None:
    """Open today's shifts if needed and summarise the one at the counter now (None outside any shift)."""
    from app.shifts.schedule import open_todays_shifts

    open_todays_shifts(session, clock, actor)
    sid = current_shift_id(session, clock.now())
    return None if sid is None else summarise(session, sid)


def close_shift(
    db: Database,
    clock: Clock,
    actor: Actor,
    shift_id: int,
    *,
    counted_minor: int | None = None,
    counts: Mapping[int, int] | None = None,
    reason: str = "",
    provider_data_as_of: datetime | None = None,
) -> ShiftSummary:
    """Close a shift: counted vs expected cash, a reason for any difference, journal posted, locked."""
    require(actor, Permission.CLOSE_SHIFT)
    try:
        with db.unit_of_work() as s:
            shift = _shift(s, shift_id)
            if shift.status is ShiftStatus.CLOSED:
                closer = s.get(User, shift.closed_by_id) if shift.closed_by_id else None
                raise ConflictError(
                    f"Shift {shift.id} ({shift.desk}) was already closed"
                    f"{' by ' + closer.display_name if closer else ''}"
                    f"{(shift.closed_at and f' at {shift.closed_at:%H:%M} UTC') or ''}; nothing was changed."
                )
            before = snapshot(shift)
            summary = summarise(s, shift_id)
            if counts is not None:
                counted = counted_total(counts, shift.currency)
                shift.cash_count_json = json.dumps({str(d): n for d, n in sorted(counts.items(), reverse=True) if n})
            elif counted_minor is not None:
                counted = Money(counted_minor, shift.currency)
            elif _counted(shift) is not None:
                counted = Money(int(shift.counted_cash_minor or 0), shift.currency)
            else:
                raise ValidationFailed(f"Shift {shift.id} cannot be closed", ["count the cash drawer first"])
            difference = counted - summary.expected_cash
            reason = reason.strip() or shift.difference_reason
            if difference.minor and not reason:
                raise ValidationFailed(
                    f"Shift {shift.id} cannot be closed",
                    [f"cash counted {counted} but {summary.expected_cash} expected: give a reason for {difference}"],
                )
            shift.counted_cash_minor = counted.minor
            shift.difference_reason = reason
            shift.status = advance("Shift", shift.status, ShiftStatus.CLOSED)
            shift.closed_by_id = actor.user_id
            shift.closed_at = clock.now()
            shift.provider_data_as_of = provider_data_as_of
            s.flush()  # the version check happens here: a second desk waits, then loses
            record(s, clock, actor, "shift.close", "shift", shift.id, before, snapshot(shift), reason)
            local_day = shift.closed_at.astimezone(ZoneInfo(summary.timezone)).date()
            entry = journal_for_shift(_journal(summary, counted, local_day), AccountMap())
            if entry is not None:
                post_entries(s, clock, actor, [entry])
            return summarise(s, shift_id)
    except StaleDataError as exc:
        raise ConflictError(
            f"Shift {shift_id} was closed at another desk at the same moment; nothing was changed here. "
            "Reopen the shift list to see who closed it."
        ) from exc


def close_out(
    ctx: AppContext,
    actor: Actor,
    shift_id: int,
    *,
    counted_minor: int | None = None,
    counts: Mapping[int, int] | None = None,
    reason: str = "",
) -> ShiftSummary:
    """Refresh from the card providers if they answer, then close; a dead network closes from stored data."""
    from app.shifts.sync import provider_data_as_of, refresh_all

    refresh_all(ctx, actor)
    with ctx.db.read() as s:
        as_of = provider_data_as_of(s)
    return close_shift(
        ctx.db,
        ctx.clock,
        actor,
        shift_id,
        counted_minor=counted_minor,
        counts=counts,
        reason=reason,
        provider_data_as_of=as_of,
    )


def add_adjustment(
    db: Database,
    clock: Clock,
    actor: Actor,
    shift_id: int,
    *,
    kind: str,
    amount_minor: int,
    reason: str,
    payment_id: int | None = None,
) -> int:
    """A correction to a closed shift as a new, audit-logged entry; returns its id."""
    require(actor, Permission.CLOSE_SHIFT)
    problems = [] if kind in ADJUSTMENT_KINDS else [f"kind must be one of {', '.join(ADJUSTMENT_KINDS)}"]
    problems += [] if reason.strip() else ["a reason is required"]
    problems += [] if amount_minor else ["the amount cannot be zero"]
    if problems:
        raise ValidationFailed("The adjustment cannot be recorded", problems)
    with db.unit_of_work() as s:
        shift = _shift(s, shift_id)
        if shift.status is not ShiftStatus.CLOSED:
            raise DomainError(f"Shift {shift.id} is still open: correct the count or close it instead.")
        adj = ShiftAdjustment(
            shift_id=shift.id,
            kind=kind,
            amount_minor=amount_minor,
            currency=shift.currency,
            reason=reason.strip(),
            payment_id=payment_id,
            created_by_id=actor.user_id,
            created_at=clock.now(),
        )
        s.add(adj)
        s.flush()
        record(s, clock, actor, "shift.adjustment", "shift_adjustment", adj.id, None, snapshot(adj), reason)
        return adj.id


def current_shift_id(session: Session, now: datetime) -> int | None:
    """Today's shift at the counter: the unclosed one running now, else the latest started, else the next."""
    unclosed = select(Shift.id).where(Shift.status != ShiftStatus.CLOSED, Shift.starts_at <= now)
    running = session.scalar(unclosed.where(Shift.ends_at > now).order_by(Shift.starts_at, Shift.id).limit(1))
    if running is not None:
        return int(running)
    latest = session.scalar(unclosed.order_by(Shift.starts_at.desc(), Shift.id.desc()).limit(1))
    if latest is not None:
        return int(latest)
    upcoming = session.scalar(
        select(Shift.id)
        .where(Shift.status != ShiftStatus.CLOSED, Shift.starts_at > now, Shift.starts_at < now + timedelta(hours=24))
        .order_by(Shift.starts_at, Shift.id)
        .limit(1)
    )
    return None if upcoming is None else int(upcoming)
