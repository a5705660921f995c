"""The outbox: how the app works offline and sends every outgoing action exactly once.

1. ``enqueue`` writes the message in the SAME transaction as the state change that causes it.
2. ``Dispatcher.run_once`` leases due messages (status SENDING, a lease time), calls the handler
   outside any transaction, then records the result in one transaction together with the
   domain hook for that kind (e.g. claim -> submitted). A message whose lease expired (the app
   crashed between sending and recording) is sent again with the SAME idempotency key, which each
   provider module uses to recognise the earlier send — so the provider sees it once and the
   result is recorded once.
3. Transient failures retry with exponential backoff and full jitter; a permanent failure (or too
   many attempts) marks the message DEAD and opens a task for a person.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app import health
from app.audit import SYSTEM, Actor, record
from app.clock import Clock
from app.db.engine import Database
from app.db.models import OutboxMessage
from app.domain.status import OutboxStatus, TaskPriority, advance
from app.errors import ClinicBillingError, ConfigurationError, PermanentError, TransientError
from app.tasks import open_task

log = logging.getLogger(__name__)

Handler = Callable[[Mapping[str, Any], str], Mapping[str, Any]]
"""Sends one message: (payload, idempotency_key) -> result. Raises TransientError/PermanentError."""

ResultHook = Callable[[Session, Clock, OutboxMessage, Mapping[str, Any]], None]
"""Records a delivered message's effect in the domain, inside the recording transaction."""

FailureHook = Callable[[Session, Clock, OutboxMessage, str], None]


def enqueue(
    session: Session,
    clock: Clock,
    actor: Actor,
    *,
    kind: str,
    provider: str,
    payload: Mapping[str, Any],
    idempotency_key: str,
) -> OutboxMessage:
    """Queue an outgoing action in the caller's transaction. The same key twice returns the first message."""
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key))
    if existing is not None:
        return existing
    msg = OutboxMessage(
        idempotency_key=idempotency_key,
        kind=kind,
        provider=provider,
        payload_json=json.dumps(payload, sort_keys=True, default=str),
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=clock.now(),
        created_at=clock.now(),
    )
    session.add(msg)
    session.flush()
    record(
        session,
        clock,
        actor,
        "outbox.enqueue",
        "outbox_message",
        msg.id,
        None,
        {"kind": kind, "provider": provider, "key": idempotency_key},
    )
    return msg


def backoff_delay(attempt: int, rng: random.Random, base: float = 30.0, cap: float = 3600.0) -> timedelta:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**(attempt-1))) seconds, at least 5 s."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return timedelta(seconds=max(5.0, rng.uniform(0, ceiling)))


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"sent {self.sent}, will retry {self.retried}, failed {self.dead}"


@dataclass(frozen=True)
class Route:
    handler: Handler
    on_sent: ResultHook | None = None
    on_failed: FailureHook | None = None
    owner_role: str = "manager"


class Dispatcher:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        routes: Mapping[str, Route],
        *,
        lease: timedelta = timedelta(minutes=5),
        max_attempts: int = 10,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.routes = routes
        self.lease = lease
        self.max_attempts = max_attempts
        self.rng = rng or random.Random()

    def _lease_due(self, limit: int, kinds: set[str] | None) -> list[int]:
        now = self.clock.now()
        with self.db.unit_of_work() as s:
            q = (
                select(OutboxMessage)
                .where(OutboxMessage.next_attempt_at <= now)
                .where(
                    or_(
                        OutboxMessage.status == OutboxStatus.PENDING,
                        (OutboxMessage.status == OutboxStatus.SENDING) & (OutboxMessage.claimed_until < now),
                    )
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
            if kinds:
                q = q.where(OutboxMessage.kind.in_(kinds))
            if s.get_bind().dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            leased = []
            for msg in s.scalars(q):
                if msg.status == OutboxStatus.PENDING:
                    msg.status = advance("Outbox message", msg.status, OutboxStatus.SENDING)
                msg.attempts += 1
                msg.claimed_until = now + self.lease
                leased.append(msg.id)
            return leased

    def run_once(self, limit: int = 50, kinds: set[str] | None = None) -> DispatchReport:
        report = DispatchReport()
        for msg_id in self._lease_due(limit, kinds):
            self._deliver(msg_id, report)
        return report

    def _deliver(self, msg_id: int, report: DispatchReport) -> None:
        with self.db.read() as s:
            msg = s.get(OutboxMessage, msg_id)
            assert msg is not None
            kind, key, attempts, provider = msg.kind, msg.idempotency_key, msg.attempts, msg.provider
            payload = json.loads(msg.payload_json)
        route = self.routes.get(kind)
        try:
            if route is None:
                raise ConfigurationError(f"No sender is configured for {kind!r} messages.")
            result = route.handler(payload, key)
        except TransientError as exc:
            health.mark(self.db, self.clock, provider, False, str(exc))
            if attempts >= self.max_attempts:
                self._fail(msg_id, route, f"gave up after {attempts} attempts: {exc}")
                report.dead += 1
            else:
                self._retry(msg_id, str(exc), attempts)
                report.retried += 1
            report.errors.append(str(exc))
            return
        except (PermanentError, ClinicBillingError) as exc:
            self._fail(msg_id, route, str(exc))
            report.dead += 1
            report.errors.append(str(exc))
            return
        self._record_sent(msg_id, route, dict(result))
        health.mark(self.db, self.clock, provider, True)
        report.sent += 1

    def _record_sent(self, msg_id: int, route: Route, result: dict[str, Any]) -> None:
        with self.db.unit_of_work() as s:
            msg = s.get(OutboxMessage, msg_id, with_for_update=True)
            assert msg is not None
            if msg.status != OutboxStatus.SENDING:
                log.warning("outbox %s already recorded as %s; ignoring a second result", msg_id, msg.status)
                return
            msg.status = advance("Outbox message", msg.status, OutboxStatus.SENT)
            msg.result_json = json.dumps(result, sort_keys=True, default=str)
            msg.sent_at = self.clock.now()
            msg.claimed_until = None
            msg.last_error = ""
            record(
                s,
                self.clock,
                SYSTEM,
                "outbox.sent",
                "outbox_message",
                msg.id,
                None,
                {"kind": msg.kind, "key": msg.idempotency_key, "result": result},
            )
            if route.on_sent is not None:
                route.on_sent(s, self.clock, msg, result)

    def _retry(self, msg_id: int, error: str, attempts: int) -> None:
        with self.db.unit_of_work() as s:
            msg = s.get(OutboxMessage, msg_id)
            assert msg is not None
            if msg.status != OutboxStatus.SENDING:
                return
            msg.status = advance("Outbox message", msg.status, OutboxStatus.PENDING)
            msg.last_error = error[:1000]
            msg.claimed_until = None
            msg.next_attempt_at = self.clock.now() + backoff_delay(attempts, self.rng)

    def _fail(self, msg_id: int, route: Route | None, error: str) -> None:
        with self.db.unit_of_work() as s:
            msg = s.get(OutboxMessage, msg_id)
            assert msg is not None
            if msg.status == OutboxStatus.SENT:
                return
            msg.status = advance("Outbox message", msg.status, OutboxStatus.DEAD)
            msg.last_error = error[:1000]
            msg.claimed_until = None
            record(
                s,
                self.clock,
                SYSTEM,
                "outbox.failed",
                "outbox_message",
                msg.id,
                None,
                {"kind": msg.kind, "key": msg.idempotency_key, "error": error},
            )
            open_task(
                s,
                self.clock,
                SYSTEM,
                kind="outbox_failed",
                title=f"Could not send {msg.kind} ({msg.provider})",
                detail=error,
                owner_role=route.owner_role if route else "admin",
                priority=TaskPriority.HIGH,
                recommended_fix="Check the provider's settings and credentials, fix the cause, then press Retry.",
                entity_type="outbox_message",
                entity_id=msg.id,
                dedupe_key=f"outbox:{msg.id}",
            )
            if route is not None and route.on_failed is not None:
                route.on_failed(s, self.clock, msg, error)


def retry_dead(db: Database, clock: Clock, actor: Actor, msg_id: int) -> None:
    """A person fixed the cause: send a dead message again (same idempotency key)."""
    with db.unit_of_work() as s:
        msg = s.get(OutboxMessage, msg_id)
        if msg is None:
            raise ConfigurationError(f"Outbox message {msg_id} does not exist.")
        msg.status = advance("Outbox message", msg.status, OutboxStatus.PENDING)
        msg.next_attempt_at = clock.now()
        record(s, clock, actor, "outbox.retry", "outbox_message", msg.id)


def queued_count(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
        )
        or 0
    )


def last_sent_at(session: Session, provider: str | None = None) -> datetime | None:
    q = select(func.max(OutboxMessage.sent_at))
    if provider:
        q = q.where(OutboxMessage.provider == provider)
    value: datetime | None = session.scalar(q)
    return value
