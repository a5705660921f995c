"""Online/offline per provider and the last successful sync, for the status bar."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import Clock
from app.db.engine import Database
from app.db.models import Setting

PREFIX = "health."


@dataclass(frozen=True, slots=True)
class ProviderHealth:
    provider: str
    online: bool
    checked_at: datetime
    last_ok_at: datetime | None
    detail: str


def mark(db: Database, clock: Clock, provider: str, online: bool, detail: str = "") -> None:
    """Record the outcome of talking to a provider (in its own small transaction)."""
    now = clock.now()
    with db.unit_of_work() as s:
        row = s.get(Setting, PREFIX + provider)
        previous = json.loads(row.value_json) if row else {}
        value = {
            "online": online,
            "checked_at": now.isoformat(),
            "detail": detail[:300],
            "last_ok_at": now.isoformat() if online else previous.get("last_ok_at"),
        }
        if row is None:
            s.add(Setting(key=PREFIX + provider, value_json=json.dumps(value), updated_at=now))
        else:
            row.value_json = json.dumps(value)
            row.updated_at = now


def all_health(session: Session) -> list[ProviderHealth]:
    out = []
    for row in session.scalars(select(Setting).where(Setting.key.startswith(PREFIX)).order_by(Setting.key)):
        v = json.loads(row.value_json)
        out.append(
            ProviderHealth(
                row.key[len(PREFIX) :],
                bool(v["online"]),
                datetime.fromisoformat(v["checked_at"]),
                datetime.fromisoformat(v["last_ok_at"]) if v.get("last_ok_at") else None,
                v.get("detail", ""),
            )
        )
    return out


def status_bar(session: Session) -> tuple[list[ProviderHealth], int, datetime | None]:
    """What the status bar shows: provider health, messages waiting to be sent, the last successful send."""
    from app.outbox import last_sent_at, queued_count

    return all_health(session), queued_count(session), last_sent_at(session)
