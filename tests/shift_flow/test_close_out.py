"""Close-out: a closed shift is locked (adjustments instead of edits), two desks cannot both close it,
a dead network still closes from stored data, and overdue deposits raise a settlement-delay task."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app.audit import SYSTEM
from app.db.models import AuditEvent, JournalEntry, JournalLine, Payment, Payout, Shift, ShiftAdjustment, Task
from app.domain.status import PayoutStatus, ShiftStatus
from app.errors import ConflictError, DomainError, ValidationFailed
from app.money import Money
from app.paths import AppPaths
from app.routes import poll_provider
from app.settings import set_setting
from app.shifts import service
from app.shifts.report import shift_report_pdf
from app.shifts.schedule import ShiftLocator
from app.shifts.service import add_adjustment, close_out, close_shift, record_cash_count, summarise
from app.shifts.settlement import flag_settlement_delays
from app.shifts.sync import poll
from tests.shift_flow.conftest import SQUARE_DEVICE, Desk, SquareBox, open_desk
from tests.shift_flow.helpers import CARD_AND_CASH, LONDON, add_takings, at, square_payment
from tests.shift_flow.stripe_process import StripeProcess


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _shift_with_takings(desk: Desk) -> int:
    """Today's first shift with two card payments and one cash payment of £35.00."""
    with desk.ctx.db.unit_of_work() as s:
        from app.db.models import Clinic

        clinic = s.get(Clinic, desk.clinic_id)
        assert clinic is not None
        taken = at(desk.clock.now().astimezone(LONDON).date(), 9, 0)
        shift = ShiftLocator(s, desk.clock, SYSTEM).locate(clinic, taken, SQUARE_DEVICE)
        add_takings(s, clinic.id, shift.id, taken, CARD_AND_CASH)
        return shift.id


def test_closing_locks_the_shift_and_later_corrections_are_adjustments(desk: Desk) -> None:
    shift_id = _shift_with_takings(desk)
    ctx = desk.ctx
    with ctx.db.read() as s:
        summary = summarise(s, shift_id)
    assert summary.expected_cash == Money(10000 + 3500)
    assert [(t.provider, t.method, t.count, t.gross.minor, t.fee.minor) for t in summary.takings] == [
        ("cash", "cash", 1, 3500, 0),
        ("square", "card_present", 1, 6000, 105),
        ("stripe", "card_present", 1, 4500, 88),
    ]
    assert [(p.practitioner, p.count, p.gross.minor) for p in summary.by_practitioner] == [("Not recorded", 3, 14000)]
    assert summary.to_do[0] == "Count the cash drawer"

    with pytest.raises(ValidationFailed, match=r"give a reason for -£2\.00"):
        close_shift(ctx.db, desk.clock, desk.frontdesk, shift_id, counted_minor=13300)
    closed = close_shift(ctx.db, desk.clock, desk.frontdesk, shift_id, counted_minor=13300, reason="£2 change error")
    assert closed.status is ShiftStatus.CLOSED and closed.cash_difference == Money(-200)
    assert closed.closed_by == "Fran Desk" and closed.to_do == ()

    with pytest.raises(ConflictError, match="already closed by Fran Desk"):
        close_shift(ctx.db, desk.clock, desk.manager, shift_id, counted_minor=13500)
    with pytest.raises(DomainError, match=r"is closed .* add an adjustment entry instead"):
        record_cash_count(ctx.db, desk.clock, desk.manager, shift_id, {2000: 1})

    adj_id = add_adjustment(
        ctx.db, desk.clock, desk.manager, shift_id, kind="cash_correction", amount_minor=200, reason="£2 found"
    )
    with ctx.db.read() as s:
        shift = s.get(Shift, shift_id)
        assert shift is not None and shift.counted_cash_minor == 13300 and shift.status is ShiftStatus.CLOSED
        assert s.get(ShiftAdjustment, adj_id) is not None
        assert summarise(s, shift_id).adjustments == Money(200)
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.entity_type.in_(["shift", "shift_adjustment"])))
        assert {"shift.close", "shift.adjustment"} <= set(actions)
        lines = s.execute(select(JournalLine.account, JournalLine.debit_minor, JournalLine.credit_minor)).all()
    debits = sum(d for _, d, _ in lines)
    assert debits == sum(c for _, _, c in lines)
    assert ("9999", 200, 0) in lines  # cash short to suspense


def test_provider_unreachable_at_close_out_closes_from_stored_data(desk: Desk, square: SquareBox) -> None:
    ctx = desk.ctx
    yesterday = desk.clock.now().astimezone(LONDON).date() - timedelta(days=1)
    ref = square_payment(square.base_url, 8000, at(yesterday, 10, 0), SQUARE_DEVICE)
    assert "1 new payment(s)" in poll_provider(ctx, "square")  # the scheduled job's way in
    polled_at = desk.clock.now()
    with ctx.db.unit_of_work() as s:
        set_setting(s, desk.clock, SYSTEM, "endpoints", {"stripe": _dead_url(), "square": _dead_url()})
    desk.clock.advance(timedelta(hours=3))
    with ctx.db.read() as s:
        shift_id = s.scalar(select(Payment.shift_id).where(Payment.provider_ref == ref))
    assert shift_id is not None

    closed = close_out(ctx, desk.manager, shift_id, counts={5000: 2})
    assert closed.status is ShiftStatus.CLOSED and closed.provider_data_as_of == polled_at
    pdf = Path(ctx.paths.data) / "offline.pdf"
    pdf.write_bytes(shift_report_pdf(ctx, shift_id))
    text = PdfReader(pdf).pages[0].extract_text()
    assert f"Provider data as of {polled_at.astimezone(LONDON):%H:%M}" in text
    assert "£80.00" in text
    with ctx.db.read() as s:
        from app.health import all_health

        health = {h.provider: h for h in all_health(s)}
    assert not health["square"].online and health["square"].last_ok_at == polled_at


def test_a_deposit_missing_past_its_window_raises_a_settlement_delay(
    desk: Desk, stripe_proc: StripeProcess, square: SquareBox
) -> None:
    ctx = desk.ctx
    yesterday = desk.clock.now().astimezone(LONDON).date() - timedelta(days=1)
    square_payment(square.base_url, 4200, at(yesterday, 11, 0), SQUARE_DEVICE)
    from tests.shift_flow.helpers import square_control

    payout: Any = square_control(square.base_url, "payouts", {"currency": "GBP"})["payout"]
    poll(ctx, "square")
    with ctx.db.unit_of_work() as s:
        assert flag_settlement_delays(s, desk.clock, SYSTEM) == 0
    desk.clock.advance(timedelta(days=6))
    assert "1 settlement delay(s) flagged" in poll(ctx, "square")
    assert "1 settlement delay(s) flagged" in poll(ctx, "square")  # same task, not a second one
    with ctx.db.read() as s:
        tasks = s.scalars(select(Task).where(Task.kind == "settlement_delay")).all()
        row = s.scalar(select(Payout))
    assert len(tasks) == 1 and row is not None and row.status is PayoutStatus.EXPECTED
    assert tasks[0].owner_role == "finance"
    assert str(payout["id"]) in tasks[0].detail and "square" in tasks[0].detail.lower()
    assert str(Money(4200 - 74)) in tasks[0].title


@pytest.fixture
def pg_desk(pg_url: str, paths: AppPaths, stripe_proc: StripeProcess, square: SquareBox) -> Iterator[Desk]:
    d = open_desk(pg_url, paths, stripe_proc.api_base, square.base_url)
    yield d
    d.ctx.close()


@pytest.mark.postgres
def test_two_desks_closing_one_shift_at_once_on_postgresql(
    pg_desk: Desk, pg_url: str, paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.context import AppContext

    shift_id = _shift_with_takings(pg_desk)
    both_read = threading.Barrier(2, timeout=10)
    real = service.summarise
    first_call = threading.local()

    def summarise_then_wait(session: Any, sid: int) -> Any:
        result = real(session, sid)
        if not getattr(first_call, "done", False):
            first_call.done = True
            both_read.wait()  # both desks have read version 1 before either writes
        return result

    monkeypatch.setattr(service, "summarise", summarise_then_wait)
    outcomes: dict[str, object] = {}

    def desk_closes(name: str, counted: int) -> None:
        ctx = AppContext.open(pg_url, clock=pg_desk.clock, paths=paths, migrate=False)
        try:
            outcomes[name] = close_shift(ctx.db, pg_desk.clock, pg_desk.manager, shift_id, counted_minor=counted)
        except ConflictError as exc:
            outcomes[name] = exc
        finally:
            ctx.close()

    threads = [threading.Thread(target=desk_closes, args=(n, 13500)) for n in ("desk A", "desk B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    won = [o for o in outcomes.values() if not isinstance(o, ConflictError)]
    lost = [o for o in outcomes.values() if isinstance(o, ConflictError)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert "closed at another desk at the same moment" in str(lost[0])
    with pg_desk.ctx.db.read() as s:
        shift = s.get(Shift, shift_id)
        assert shift is not None and shift.status is ShiftStatus.CLOSED and shift.version == 2
        assert s.scalar(select(func.count()).select_from(JournalEntry)) == 1
        closes = s.scalar(select(func.count()).where(AuditEvent.action == "shift.close"))
        assert closes == 1
        assert summarise(s, shift_id).gross == Money(4500 + 6000 + 3500)
