"""Approved refunds executed through the outbox: exactly once on localstripe across a crash, partial
refunds on Square and PayPal, cash from the drawer, failures turned into tasks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import func, select

from app.archive import artefact_bytes
from app.audit import verify
from app.claims.artefacts import ArtefactStore
from app.clock import FixedClock
from app.context import AppContext
from app.db.models import AuditEvent, JournalEntry, OutboxMessage, Payment, Refund, ShiftAdjustment, Task
from app.domain.status import PaymentStatus, RefundReason, RefundStatus
from app.outbox import Dispatcher, Route
from app.refunds import service
from app.refunds.communications import ack_name
from app.refunds.execution import KIND
from app.refunds.service import Proposal
from app.routes import build_routes
from sandboxes.localstripe_server import seed_card_day
from tests.cards.conftest import PAYPAL_CLIENT, PAYPAL_SECRET, SQUARE_TOKEN, Sandbox
from tests.refunds_flow.conftest import STRIPE_KEY, ChildStripe, Clinic1, set_endpoints


class _Crash(Exception):
    """The app dies after the provider answered and before the result was recorded."""


def _refund(ctx: AppContext, refund_id: int) -> tuple[Refund, Payment]:
    with ctx.db.read() as s:
        r = s.get(Refund, refund_id)
        assert r is not None
        p = s.get(Payment, r.payment_id)
        assert p is not None
        return r, p


def _approved(c: Clinic1, payment_id: int, amount: int) -> int:
    rid = service.propose(c.ctx, c.desk, Proposal(payment_id, amount, RefundReason.PATIENT_REQUEST, "asked at desk"))
    service.approve(c.ctx, c.manager, rid, "ok")
    return rid


def _count(ctx: AppContext, stmt: Any) -> int:
    with ctx.db.read() as s:
        return int(s.scalar(stmt) or 0)


def test_stripe_refund_sent_exactly_once_across_a_crash(
    clinic: Clinic1, child_stripe: ChildStripe, clock: FixedClock, sqlite_url: str
) -> None:
    pi = seed_card_day(child_stripe.api_base, amounts=(8000,), refund_first=0).payment_intents[0]
    ctx = clinic.ctx
    assert ctx.secrets is not None
    ctx.secrets.set("stripe.api_key", STRIPE_KEY)
    set_endpoints(ctx, stripe=child_stripe.api_base)
    rid = _approved(clinic, clinic.payment(8000, provider="stripe", ref=pi), 3000)
    real = build_routes(ctx)[KIND]

    def send_then_die(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        real.handler(payload, key)
        raise _Crash

    with pytest.raises(_Crash):
        Dispatcher(ctx.db, clock, {KIND: Route(send_then_die, real.on_sent, real.on_failed)}).run_once()
    assert _refund(ctx, rid)[0].status is RefundStatus.APPROVED  # sent, but nothing recorded
    ctx.close()

    restarted = AppContext.open(sqlite_url, clock=clock, paths=ctx.paths)
    restarted.secrets = ctx.secrets
    try:
        assert Dispatcher(restarted.db, clock, build_routes(restarted)).run_once().sent == 0  # lease held
        clock.advance(timedelta(minutes=6))
        assert Dispatcher(restarted.db, clock, build_routes(restarted)).run_once().sent == 1

        client = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": child_stripe.localstripe})
        at_stripe = [r for r in client.v1.refunds.list({"limit": 100}).data if r.payment_intent == pi]
        assert [r.amount for r in at_stripe] == [3000]  # one refund at the provider
        refund, payment = _refund(restarted, rid)
        assert (refund.status, refund.provider_ref) == (RefundStatus.SUCCEEDED, at_stripe[0].id)
        assert (payment.refunded_minor, payment.status) == (3000, PaymentStatus.PARTLY_REFUNDED)
        recorded = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "refund.succeeded")
        assert _count(restarted, recorded) == 1
        journals = select(func.count()).select_from(JournalEntry).where(JournalEntry.source_kind == "refund")
        assert _count(restarted, journals) == 1
        with restarted.db.read() as s:
            assert verify(s).ok
    finally:
        restarted.close()


def _square_payment(sq: Sandbox, amount: int) -> str:
    return str(httpx.post(f"{sq.base_url}/_sandbox/payments", json={"amount": amount}).json()["payment"]["id"])


def test_square_partial_then_full_refund(clinic: Clinic1, square_sb: Sandbox, clock: FixedClock) -> None:
    ctx = clinic.ctx
    assert ctx.secrets is not None
    ctx.secrets.set("square.access_token", SQUARE_TOKEN)
    set_endpoints(ctx, square=square_sb.base_url)
    ref = _square_payment(square_sb, 6000)
    payment_id = clinic.payment(6000, provider="square", ref=ref)

    first = _approved(clinic, payment_id, 2000)
    assert Dispatcher(ctx.db, clock, build_routes(ctx)).run_once().sent == 1
    assert _refund(ctx, first)[1].status is PaymentStatus.PARTLY_REFUNDED
    assert square_sb.sandbox.state.payments[ref]["refunded_money"]["amount"] == 2000

    second = _approved(clinic, payment_id, 4000)
    Dispatcher(ctx.db, clock, build_routes(ctx)).run_once()
    refund, payment = _refund(ctx, second)
    assert refund.status is RefundStatus.SUCCEEDED and refund.provider_ref.startswith(ref)
    assert (payment.refunded_minor, payment.status) == (6000, PaymentStatus.REFUNDED)


def test_paypal_partial_refund(clinic: Clinic1, paypal_sb: Sandbox, clock: FixedClock) -> None:
    ctx = clinic.ctx
    assert ctx.secrets is not None
    ctx.secrets.set("paypal.client_id", PAYPAL_CLIENT)
    ctx.secrets.set("paypal.client_secret", PAYPAL_SECRET)
    set_endpoints(ctx, paypal=paypal_sb.base_url)
    capture = str(httpx.post(f"{paypal_sb.base_url}/_sandbox/captures", json={"value": "45.00"}).json()["id"])
    rid = _approved(clinic, clinic.payment(4500, provider="paypal", ref=capture), 1000)

    assert Dispatcher(ctx.db, clock, build_routes(ctx)).run_once().sent == 1

    refund, payment = _refund(ctx, rid)
    assert refund.status is RefundStatus.SUCCEEDED
    assert (payment.refunded_minor, payment.status) == (1000, PaymentStatus.PARTLY_REFUNDED)
    assert paypal_sb.sandbox.state.captures[capture]["status"] == "PARTIALLY_REFUNDED"


def test_provider_refusal_fails_the_refund_into_a_task(clinic: Clinic1, square_sb: Sandbox, clock: FixedClock) -> None:
    ctx = clinic.ctx
    assert ctx.secrets is not None
    ctx.secrets.set("square.access_token", SQUARE_TOKEN)
    set_endpoints(ctx, square=square_sb.base_url)
    rid = _approved(clinic, clinic.payment(3000, provider="square", ref="no-such-square-payment"), 3000)

    report = Dispatcher(ctx.db, clock, build_routes(ctx)).run_once()

    assert report.dead == 1
    refund, payment = _refund(ctx, rid)
    assert refund.status is RefundStatus.FAILED and payment.refunded_minor == 0
    with ctx.db.read() as s:
        task = s.scalar(select(Task).where(Task.kind == "refund_failed"))
        assert task is not None and task.entity_id == rid and task.owner_role == "finance"
        assert "Square" in task.detail


def test_unconfigured_provider_fails_with_a_clear_task(clinic: Clinic1, clock: FixedClock) -> None:
    rid = _approved(clinic, clinic.payment(3000, provider="stripe", ref="pi_x"), 3000)
    Dispatcher(clinic.ctx.db, clock, build_routes(clinic.ctx)).run_once()
    with clinic.ctx.db.read() as s:
        task = s.scalar(select(Task).where(Task.kind == "refund_failed", Task.entity_id == rid))
        assert task is not None and "stripe is not set up" in task.detail


def test_cash_refund_is_paid_from_the_open_shift_drawer(clinic: Clinic1) -> None:
    payment_id = clinic.payment(2500, provider="cash")
    rid = _approved(clinic, payment_id, 2500)

    refund, payment = _refund(clinic.ctx, rid)
    assert (refund.status, refund.method, refund.shift_id) == (RefundStatus.SUCCEEDED, "cash", clinic.shift_id)
    assert payment.status is PaymentStatus.REFUNDED
    with clinic.ctx.db.read() as s:
        adj = s.scalar(select(ShiftAdjustment).where(ShiftAdjustment.payment_id == payment_id))
        assert adj is not None and (adj.kind, adj.amount_minor, adj.shift_id) == (
            "refund_from_drawer",
            2500,
            clinic.shift_id,
        )
        assert s.scalar(select(OutboxMessage).where(OutboxMessage.kind == KIND)) is None  # no provider call
        pdf = artefact_bytes(s, ArtefactStore(clinic.ctx.paths.archive), "refund", rid, ack_name(refund))
    assert pdf is not None and pdf.startswith(b"%PDF")
