"""Exactly-once delivery through the outbox: across a dropped connection and an app restart."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.audit import SYSTEM, verify
from app.clock import FixedClock
from app.context import AppContext
from app.db.models import AuditEvent, OutboxMessage, Task
from app.domain.status import OutboxStatus
from app.errors import PermanentError
from app.outbox import Dispatcher, Route, backoff_delay, enqueue, queued_count
from app.routes import build_routes
from app.settings import set_setting
from tests.support.receiver import Receiver


def _setup(ctx: AppContext, url: str) -> int:
    with ctx.db.unit_of_work() as s:
        set_setting(s, ctx.clock, SYSTEM, "endpoints", {"staff_webhook": url})
        msg = enqueue(
            s,
            ctx.clock,
            SYSTEM,
            kind="notify.webhook",
            provider="staff_webhook",
            payload={"text": "Refund R-12 approved"},
            idempotency_key="refund-12-approved",
        )
        return msg.id


def _message(ctx: AppContext, msg_id: int) -> OutboxMessage:
    with ctx.db.read() as s:
        msg = s.get(OutboxMessage, msg_id)
        assert msg is not None
        return msg


def test_enqueue_is_idempotent_and_in_the_callers_transaction(ctx: AppContext) -> None:
    with ctx.db.unit_of_work() as s:
        a = enqueue(s, ctx.clock, SYSTEM, kind="k", provider="p", payload={}, idempotency_key="same")
        b = enqueue(s, ctx.clock, SYSTEM, kind="k", provider="p", payload={}, idempotency_key="same")
        assert a.id == b.id
    with pytest.raises(RuntimeError), ctx.db.unit_of_work() as s:
        enqueue(s, ctx.clock, SYSTEM, kind="k", provider="p", payload={}, idempotency_key="rolled-back")
        raise RuntimeError("the state change failed")
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        assert queued_count(s) == 1


def test_delivered_once_across_a_dropped_connection(ctx: AppContext, clock: FixedClock) -> None:
    with Receiver() as rx:
        msg_id = _setup(ctx, rx.url)
        rx.drop_next = 1  # the receiver does the work, then the connection dies before the answer
        dispatcher = Dispatcher(ctx.db, clock, build_routes(ctx), rng=random.Random(1))
        first = dispatcher.run_once()
        assert (first.sent, first.retried) == (0, 1)
        msg = _message(ctx, msg_id)
        assert msg.status == OutboxStatus.PENDING and msg.next_attempt_at > clock.now()
        assert dispatcher.run_once().sent == 0  # not due yet: backoff respected
        clock.advance(timedelta(hours=2))
        second = dispatcher.run_once()
        assert second.sent == 1
        assert rx.requests == 2 and len(rx.deliveries) == 1
        assert rx.deliveries["refund-12-approved"] == {"text": "Refund R-12 approved"}
        msg = _message(ctx, msg_id)
        assert msg.status == OutboxStatus.SENT and json.loads(msg.result_json)["body"].find('"duplicate": true') >= 0
        clock.advance(timedelta(hours=2))
        assert dispatcher.run_once().sent == 0  # sent messages are never sent again
        assert rx.requests == 2


class _Crash(BaseException):
    """The process dies (power cut) after the provider did the work but before we recorded it."""


def test_delivered_and_recorded_once_across_an_app_restart(ctx: AppContext, clock: FixedClock, sqlite_url: str) -> None:
    with Receiver() as rx:
        msg_id = _setup(ctx, rx.url)
        real = build_routes(ctx)["notify.webhook"]

        def send_then_die(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
            real.handler(payload, key)
            raise _Crash

        with pytest.raises(_Crash):
            Dispatcher(ctx.db, clock, {"notify.webhook": Route(send_then_die)}).run_once()
        assert _message(ctx, msg_id).status == OutboxStatus.SENDING  # leased, result unknown
        ctx.close()

        # the app starts again: new engine, new dispatcher; the lease runs out
        restarted = AppContext.open(sqlite_url, clock=clock, paths=ctx.paths)
        try:
            assert Dispatcher(restarted.db, clock, build_routes(restarted)).run_once().sent == 0  # lease still held
            clock.advance(timedelta(minutes=6))
            report = Dispatcher(restarted.db, clock, build_routes(restarted)).run_once()
            assert report.sent == 1
            assert rx.requests == 2 and len(rx.deliveries) == 1  # the receiver saw the work once
            with restarted.db.read() as s:
                sent_events = s.scalar(
                    select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "outbox.sent")
                )
                assert sent_events == 1  # recorded exactly once
                assert verify(s).ok
        finally:
            restarted.close()


def test_permanent_failure_becomes_a_task(ctx: AppContext, clock: FixedClock) -> None:
    with ctx.db.unit_of_work() as s:
        enqueue(
            s,
            clock,
            SYSTEM,
            kind="refund.execute",
            provider="stripe",
            payload={"amount": 500},
            idempotency_key="refund-1",
        )

    def refuse(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        raise PermanentError("stripe", "request refused (400): charge already refunded")

    report = Dispatcher(ctx.db, clock, {"refund.execute": Route(refuse, owner_role="finance")}).run_once()
    assert report.dead == 1
    with ctx.db.read() as s:
        task = s.scalars(select(Task)).one()
        assert task.owner_role == "finance" and "already refunded" in task.detail
        assert s.scalars(select(OutboxMessage)).one().status == OutboxStatus.DEAD


def test_transient_failures_retry_then_give_up_into_a_task(ctx: AppContext, clock: FixedClock) -> None:
    with Receiver() as rx:
        _setup(ctx, rx.url)
        rx.fail_next = 100
        dispatcher = Dispatcher(ctx.db, clock, build_routes(ctx), max_attempts=3, rng=random.Random(3))
        outcomes = []
        for _ in range(3):
            r = dispatcher.run_once()
            outcomes.append((r.retried, r.dead))
            clock.advance(timedelta(hours=3))
        assert outcomes == [(1, 0), (1, 0), (0, 1)]
    with ctx.db.read() as s:
        assert s.scalars(select(Task)).one().kind == "outbox_failed"


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    rng = random.Random(5)
    delays = [backoff_delay(a, rng).total_seconds() for a in range(1, 12)]
    assert all(5 <= d <= 3600 for d in delays)
    assert max(backoff_delay(10, random.Random(i)).total_seconds() for i in range(50)) > 600
    assert len({round(d) for d in delays}) > 5  # jitter: not a fixed schedule
