"""Adjudication deadlines and claim KPIs, from plain records.

A claim breaches the adjudication SLA when ``hours`` or more have passed between submission and
adjudication (or ``now``, while it is still open): at exactly 48 h it breaches, at 47 h 59 it does
not. Open breaches get an escalation level that grows with the wait.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import IntEnum
from typing import Final

from app.clock import ensure_utc

_PLACES: Final = Decimal("0.0001")


class EscalationLevel(IntEnum):
    NONE = 0  # within the SLA, or already adjudicated
    FOLLOW_UP = 1  # past the SLA: billing checks the portal / status
    CHASE_INSURER = 2  # twice the SLA: call or message the insurer
    MANAGER = 3  # four times the SLA: the practice manager takes it up


def escalation_level(waited: timedelta, hours: int = 48) -> EscalationLevel:
    """Escalation for a claim still awaiting adjudication after ``waited``."""
    sla = timedelta(hours=hours)
    if waited >= 4 * sla:
        return EscalationLevel.MANAGER
    if waited >= 2 * sla:
        return EscalationLevel.CHASE_INSURER
    if waited >= sla:
        return EscalationLevel.FOLLOW_UP
    return EscalationLevel.NONE


@dataclass(frozen=True, slots=True)
class SlaBreach:
    claim_id: str
    submitted_at: datetime
    waited: timedelta  # submission to adjudication, or to now while open
    overdue_by: timedelta
    still_open: bool
    escalation: EscalationLevel


def adjudication_sla_breaches(
    claims: Iterable[tuple[str, datetime, datetime | None]],
    now: datetime,
    hours: int = 48,
    include_closed: bool = False,
) -> list[SlaBreach]:
    """Claims over the SLA, most overdue first.

    ``claims`` yields ``(claim_id, submitted_at, adjudicated_at or None)``. By default only open
    claims (work still to do) are returned; ``include_closed`` adds claims adjudicated late.
    """
    now = ensure_utc(now)
    sla = timedelta(hours=hours)
    breaches: list[SlaBreach] = []
    for claim_id, submitted_at, adjudicated_at in claims:
        submitted = ensure_utc(submitted_at)
        still_open = adjudicated_at is None
        if not still_open and not include_closed:
            continue
        end = now if adjudicated_at is None else ensure_utc(adjudicated_at)
        waited = end - submitted
        if waited < sla:
            continue
        level = escalation_level(waited, hours) if still_open else EscalationLevel.NONE
        breaches.append(SlaBreach(claim_id, submitted, waited, waited - sla, still_open, level))
    breaches.sort(key=lambda b: (-b.overdue_by, b.claim_id))
    return breaches


# --------------------------------------------------------------------------- KPIs


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    """A claim's timeline: ready to bill, first submitted, adjudicated, rejections received."""

    claim_id: str
    ready_at: datetime  # treatment note signed: the claim could be sent
    submitted_at: datetime | None = None  # first submission
    adjudicated_at: datetime | None = None
    rejection_count: int = 0  # front-end rejections (999/277CA/XML) before acceptance


@dataclass(frozen=True, slots=True)
class ClaimKpis:
    """Rates are fractions 0–1 to 4 places; None when there is nothing to divide by."""

    submitted: int
    first_pass_clean_rate: Decimal | None  # accepted first time / submitted claims with an outcome
    rejection_rate: Decimal | None  # submitted claims rejected at least once / submitted claims
    average_time_to_submit: timedelta | None  # ready -> first submission
    awaiting_adjudication: int
    sla_breaches: int  # open claims past the adjudication SLA


def _rate(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(_PLACES, rounding=ROUND_HALF_UP)


def claim_kpis(records: Iterable[ClaimRecord], now: datetime, hours: int = 48) -> ClaimKpis:
    """The claims dashboard numbers, computed from plain records."""
    submitted = [r for r in records if r.submitted_at is not None]
    with_outcome = [r for r in submitted if r.rejection_count > 0 or r.adjudicated_at is not None]
    clean = sum(1 for r in with_outcome if r.rejection_count == 0)
    rejected = sum(1 for r in submitted if r.rejection_count > 0)
    waits = [ensure_utc(r.submitted_at) - ensure_utc(r.ready_at) for r in submitted if r.submitted_at]
    average = sum(waits, timedelta()) / len(waits) if waits else None
    open_claims: list[tuple[str, datetime, datetime | None]] = [
        (r.claim_id, r.submitted_at, None) for r in submitted if r.submitted_at is not None and r.adjudicated_at is None
    ]
    breaches = adjudication_sla_breaches(open_claims, now, hours)
    return ClaimKpis(
        submitted=len(submitted),
        first_pass_clean_rate=_rate(clean, len(with_outcome)),
        rejection_rate=_rate(rejected, len(submitted)),
        average_time_to_submit=average,
        awaiting_adjudication=len(open_claims),
        sla_breaches=len(breaches),
    )
