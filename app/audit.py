"""Append-only, hash-chained audit log.

Each event's ``hash`` is the SHA-256 of its own content plus ``prev_hash`` (the previous event's
hash), and ids are consecutive. Editing a row breaks its own hash; deleting one breaks the chain
at the next row (prev_hash and id gap); deleting the newest rows is caught by the chain head kept
in ``setting``. ``verify`` names the first broken link. ``prev_hash`` is unique, so two desks can
never fork the chain: on PostgreSQL appends are serialised by an advisory lock.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from app.clock import Clock
from app.db.models import AuditEvent, Setting
from app.domain.status import Role

GENESIS = "0" * 64
HEAD_KEY = "audit.chain_head"
_PG_LOCK = 727_001


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a signed-in user, or the system (scheduler, dispatcher)."""

    user_id: int | None
    username: str
    role: Role


SYSTEM = Actor(None, "system", Role.ADMIN)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


def snapshot(obj: object | None) -> dict[str, Any] | None:
    """The column values of an ORM object, JSON-safe (for before/after)."""
    if obj is None:
        return None
    mapper = inspect(obj).mapper
    return {col.key: _jsonable(getattr(obj, col.key)) for col in mapper.column_attrs}


def _digest(
    event_id: int,
    occurred_at: str,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    before_json: str,
    after_json: str,
    reason: str,
    prev_hash: str,
) -> str:
    body = json.dumps(
        [
            event_id,
            occurred_at,
            actor,
            action,
            entity_type,
            entity_id,
            before_json,
            after_json,
            reason,
            prev_hash,
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


def record(
    session: Session,
    clock: Clock,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Append one event in the caller's transaction (so it commits or rolls back with the change)."""
    prev_id, prev_hash, head = _chain_end(session)
    now = clock.now()
    before_json = json.dumps(before, sort_keys=True, default=str)
    after_json = json.dumps(after, sort_keys=True, default=str)
    event_id = prev_id + 1
    digest = _digest(
        event_id,
        _iso(now),
        actor.username,
        action,
        entity_type,
        str(entity_id),
        before_json,
        after_json,
        reason,
        prev_hash,
    )
    event = AuditEvent(
        id=event_id,
        occurred_at=now,
        actor=actor.username,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before_json=before_json,
        after_json=after_json,
        reason=reason,
        prev_hash=prev_hash,
        hash=digest,
    )
    session.add(event)
    head_value = json.dumps({"id": event_id, "hash": digest})
    if head is None:
        head = Setting(key=HEAD_KEY, value_json=head_value, updated_at=now)
        session.add(head)
    else:
        head.value_json = head_value
        head.updated_at = now
    session.flush()
    session.info[_CHAIN_END] = (session.get_transaction(), event_id, digest, head)
    return event


_CHAIN_END = "audit.chain_end"  # session.info: (transaction, last id, last hash, head row) written in it


def _chain_end(session: Session) -> tuple[int, str, Setting | None]:
    """The newest event's id and hash, and the chain head row. Read (under the PostgreSQL lock that
    keeps other desks from appending until this transaction ends) at a transaction's first event;
    then remembered for the rest of it: nothing else appends while the lock or SQLite's write lock
    is held. Re-read inside a savepoint, which could roll back what was remembered."""
    known = session.info.get(_CHAIN_END)
    if known is not None and known[0] is session.get_transaction() and not session.in_nested_transaction():
        return known[1], known[2], known[3]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
    last = session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    prev_id, prev_hash = (last[0], last[1]) if last else (0, GENESIS)
    return prev_id, prev_hash, session.get(Setting, HEAD_KEY)


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    problem: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"Audit log intact: {self.checked} event(s) checked."
        return f"Audit log BROKEN at event {self.first_broken_id}: {self.problem} ({self.checked} checked before it)."


def verify(session: Session) -> ChainReport:
    """Walk the chain in id order; report the first event that was edited, deleted or inserted."""
    prev_id, prev_hash, checked = 0, GENESIS, 0
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=2000)).scalars()
    for ev in rows:
        if ev.id != prev_id + 1:
            return ChainReport(False, checked, prev_id + 1, f"event {prev_id + 1} is missing (deleted?)")
        if ev.prev_hash != prev_hash:
            return ChainReport(
                False, checked, ev.id, "does not follow the previous event (a row was removed or replaced)"
            )
        expected = _digest(
            ev.id,
            _iso(ev.occurred_at),
            ev.actor,
            ev.action,
            ev.entity_type,
            ev.entity_id,
            ev.before_json,
            ev.after_json,
            ev.reason,
            ev.prev_hash,
        )
        if expected != ev.hash:
            return ChainReport(False, checked, ev.id, "its content was changed after it was written")
        prev_id, prev_hash, checked = ev.id, ev.hash, checked + 1
    head = session.get(Setting, HEAD_KEY)
    if head is not None:
        recorded = json.loads(head.value_json)
        if recorded.get("id") != prev_id or recorded.get("hash") != prev_hash:
            return ChainReport(
                False,
                checked,
                prev_id + 1,
                f"the newest event(s) after {prev_id} were deleted (chain head says {recorded.get('id')})",
            )
    elif checked:
        return ChainReport(False, checked, None, "the chain head record is missing")
    return ChainReport(True, checked)
