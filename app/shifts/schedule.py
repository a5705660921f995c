"""The cash-drawer schedule: shifts per day and desk, kept in Settings ``shifts.schedule``.

``{"<clinic id>": [{"desk": "Front desk", "start": "08:00", "end": "14:00",
"terminals": ["tmr_..."], "opening_float_minor": 10000}, ...]}``. A clinic without an entry gets
the default day (08:00-14:00 and 14:00-20:00 at one front desk). Every payment falls in exactly one
shift: the slot of its desk (by terminal) that contains its local time, else the nearest slot of
that day (an early or late payment goes to the first or last shift).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import Actor, record, snapshot
from app.clock import Clock
from app.db.models import Clinic, Shift
from app.domain.status import ShiftStatus
from app.errors import ValidationFailed
from app.settings import get_setting

SETTING = "shifts.schedule"
DEFAULT_FLOAT_MINOR = 10_000
DEFAULT_DAY: tuple[dict[str, Any], ...] = (
    {"desk": "Front desk", "start": "08:00", "end": "14:00"},
    {"desk": "Front desk", "start": "14:00", "end": "20:00"},
)


@dataclass(frozen=True, slots=True)
class ShiftSlot:
    desk: str
    start: time
    end_minutes: int  # minutes after local midnight (1440 = midnight at the end of the day)
    terminals: tuple[str, ...]
    opening_float_minor: int

    def bounds(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
        start = datetime.combine(day, self.start, tz)
        end = datetime.combine(day, time(0), tz) + timedelta(minutes=self.end_minutes)
        return start.astimezone(UTC), end.astimezone(UTC)


def _minutes(text: str, where: str, problems: list[str]) -> int:
    try:
        hours, minutes = (int(part) for part in str(text).split(":"))
    except ValueError:
        problems.append(f"{where}: {text!r} is not a time (HH:MM)")
        return 0
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or hours * 60 + minutes > 1440:
        problems.append(f"{where}: {text!r} is not a time of day")
    return hours * 60 + minutes


def parse_slots(entries: list[dict[str, Any]], clinic_id: int) -> tuple[ShiftSlot, ...]:
    """Read one clinic's schedule; every problem is listed at once."""
    problems: list[str] = []
    slots: list[ShiftSlot] = []
    for n, entry in enumerate(entries, start=1):
        where = f"clinic {clinic_id}, shift {n}"
        desk = str(entry.get("desk") or "").strip()
        if not desk:
            problems.append(f"{where}: no desk name")
        start = _minutes(entry.get("start", ""), f"{where} start", problems)
        end = _minutes(entry.get("end", ""), f"{where} end", problems)
        if end <= start:
            problems.append(f"{where}: ends at {entry.get('end')} before it starts at {entry.get('start')}")
        slots.append(
            ShiftSlot(
                desk,
                time(min(start // 60, 23), start % 60),
                end,
                tuple(str(t) for t in entry.get("terminals", ())),
                int(entry.get("opening_float_minor", DEFAULT_FLOAT_MINOR)),
            )
        )
    if problems:
        raise ValidationFailed(f"The shift schedule in Settings → Shifts ({SETTING}) cannot be used", problems)
    return tuple(sorted(slots, key=lambda s: (s.desk, s.start)))


def clinic_slots(session: Session, clinic_id: int) -> tuple[ShiftSlot, ...]:
    schedule: dict[str, Any] = get_setting(session, SETTING) or {}
    return parse_slots(list(schedule.get(str(clinic_id)) or DEFAULT_DAY), clinic_id)


def desk_for_terminal(slots: tuple[ShiftSlot, ...], terminal_id: str) -> str:
    for slot in slots:
        if terminal_id and terminal_id in slot.terminals:
            return slot.desk
    return slots[0].desk


def clinic_for_terminal(session: Session, terminal_id: str) -> int | None:
    """The clinic whose schedule lists ``terminal_id``, if any."""
    schedule: dict[str, Any] = get_setting(session, SETTING) or {}
    for clinic_id, entries in schedule.items():
        if any(terminal_id and terminal_id in (e.get("terminals") or ()) for e in entries):
            return int(clinic_id)
    return None


def ensure_shifts_for_day(session: Session, clock: Clock, actor: Actor, clinic: Clinic, day: date) -> list[Shift]:
    """The day's shifts of every desk, created (status open) where missing."""
    tz = ZoneInfo(clinic.timezone)
    slots = clinic_slots(session, clinic.id)
    wanted = {(slot.desk, slot.bounds(day, tz)[0]): slot for slot in slots}
    first, last = min(k[1] for k in wanted), max(k[1] for k in wanted)
    existing = {
        (sh.desk, sh.starts_at): sh
        for sh in session.scalars(
            select(Shift).where(Shift.clinic_id == clinic.id, Shift.starts_at >= first, Shift.starts_at <= last)
        )
    }
    out: list[Shift] = []
    for (desk, starts), slot in wanted.items():
        shift = existing.get((desk, starts))
        if shift is None:
            shift = Shift(
                clinic_id=clinic.id,
                desk=desk,
                starts_at=starts,
                ends_at=slot.bounds(day, tz)[1],
                status=ShiftStatus.OPEN,
                opening_float_minor=slot.opening_float_minor,
                counted_cash_minor=None,
                cash_count_json="{}",
                difference_reason="",
                currency=clinic.currency,
            )
            session.add(shift)
            session.flush()
            record(session, clock, actor, "shift.open", "shift", shift.id, None, snapshot(shift))
        out.append(shift)
    return sorted(out, key=lambda sh: (sh.desk, sh.starts_at))


class ShiftLocator:
    """Finds the one shift of each payment, caching the day's shifts (one sync stores many payments)."""

    def __init__(self, session: Session, clock: Clock, actor: Actor) -> None:
        self.session, self.clock, self.actor = session, clock, actor
        self._slots: dict[int, tuple[ShiftSlot, ...]] = {}
        self._days: dict[tuple[int, date], list[Shift]] = {}

    def locate(self, clinic: Clinic, taken_at: datetime, terminal_id: str = "") -> Shift:
        slots = self._slots.get(clinic.id)
        if slots is None:
            slots = self._slots[clinic.id] = clinic_slots(self.session, clinic.id)
        day = taken_at.astimezone(ZoneInfo(clinic.timezone)).date()
        shifts = self._days.get((clinic.id, day))
        if shifts is None:
            shifts = ensure_shifts_for_day(self.session, self.clock, self.actor, clinic, day)
            self._days[(clinic.id, day)] = shifts
        desk = desk_for_terminal(slots, terminal_id)
        mine = [sh for sh in shifts if sh.desk == desk]
        started = [sh for sh in mine if sh.starts_at <= taken_at]
        return started[-1] if started else mine[0]


def open_todays_shifts(session: Session, clock: Clock, actor: Actor) -> list[int]:
    """Make sure today's shifts of every clinic with a schedule exist (idempotent); returns their ids."""
    configured: dict[str, Any] = get_setting(session, SETTING) or {}
    ids: list[int] = []
    for clinic in session.scalars(
        select(Clinic).where(Clinic.id.in_([int(k) for k in configured])).order_by(Clinic.id)
    ):
        today = clock.now().astimezone(ZoneInfo(clinic.timezone)).date()
        ids += [sh.id for sh in ensure_shifts_for_day(session, clock, actor, clinic, today)]
    return ids
