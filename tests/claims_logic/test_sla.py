"""Adjudication SLA (48 h boundary), escalation and the claim KPIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from app.claims.sla import (
    ClaimRecord,
    EscalationLevel,
    adjudication_sla_breaches,
    claim_kpis,
    escalation_level,
)

NOW = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


def test_breach_starts_at_exactly_48_hours() -> None:
    claims = [
        ("just-in", NOW - timedelta(hours=47, minutes=59), None),
        ("on-the-dot", NOW - timedelta(hours=48), None),
    ]
    breaches = adjudication_sla_breaches(claims, NOW)
    assert [b.claim_id for b in breaches] == ["on-the-dot"]
    assert breaches[0].overdue_by == timedelta(0)
    assert breaches[0].escalation is EscalationLevel.FOLLOW_UP


def test_other_time_zones_are_compared_as_utc() -> None:
    paris = timezone(timedelta(hours=2))
    submitted = (NOW - timedelta(hours=48)).astimezone(paris)
    assert [b.claim_id for b in adjudication_sla_breaches([("c", submitted, None)], NOW)] == ["c"]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        adjudication_sla_breaches([("c", datetime(2025, 6, 1), None)], NOW)


def test_adjudicated_claims_only_with_include_closed() -> None:
    late = ("late", NOW - timedelta(days=5), NOW - timedelta(days=1))
    on_time = ("on-time", NOW - timedelta(days=5), NOW - timedelta(days=4))
    assert adjudication_sla_breaches([late, on_time], NOW) == []
    closed = adjudication_sla_breaches([late, on_time], NOW, include_closed=True)
    assert [(b.claim_id, b.still_open, b.escalation) for b in closed] == [("late", False, EscalationLevel.NONE)]


def test_most_overdue_first_with_escalation_levels() -> None:
    claims = [
        ("a", NOW - timedelta(hours=50), None),
        ("b", NOW - timedelta(hours=200), None),
        ("c", NOW - timedelta(hours=100), None),
    ]
    result = adjudication_sla_breaches(claims, NOW)
    assert [(b.claim_id, b.escalation) for b in result] == [
        ("b", EscalationLevel.MANAGER),
        ("c", EscalationLevel.CHASE_INSURER),
        ("a", EscalationLevel.FOLLOW_UP),
    ]


def test_escalation_follows_the_configured_sla() -> None:
    assert escalation_level(timedelta(hours=23), hours=24) is EscalationLevel.NONE
    assert escalation_level(timedelta(hours=24), hours=24) is EscalationLevel.FOLLOW_UP
    assert escalation_level(timedelta(hours=96), hours=24) is EscalationLevel.MANAGER


def test_kpis_from_plain_records() -> None:
    ready = NOW - timedelta(days=10)
    records = [
        ClaimRecord("clean", ready, ready + timedelta(hours=2), ready + timedelta(days=1)),
        ClaimRecord("rejected-then-ok", ready, ready + timedelta(hours=4), ready + timedelta(days=3), 1),
        ClaimRecord("rejected", ready, ready + timedelta(hours=6), None, 2),
        ClaimRecord("waiting", ready, NOW - timedelta(hours=1)),
        ClaimRecord("never-sent", ready),
    ]
    kpis = claim_kpis(records, NOW)
    assert kpis.submitted == 4
    assert kpis.first_pass_clean_rate == Decimal("0.3333")  # 1 clean of 3 with an outcome
    assert kpis.rejection_rate == Decimal("0.5000")
    assert kpis.awaiting_adjudication == 2
    assert kpis.sla_breaches == 1  # "rejected" waits for days; "waiting" only 1 h
    expected = (timedelta(hours=2 + 4 + 6) + (NOW - timedelta(hours=1) - ready)) / 4
    assert kpis.average_time_to_submit == expected


def test_kpis_with_nothing_submitted() -> None:
    kpis = claim_kpis([ClaimRecord("x", NOW)], NOW)
    assert kpis.first_pass_clean_rate is None and kpis.rejection_rate is None
    assert kpis.average_time_to_submit is None and kpis.submitted == 0
