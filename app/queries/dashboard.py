"""Dashboard: KPIs, the work queue and alert lanes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Claim, Dispute, Payout, Refund
from app.domain.status import ClaimStatus, DisputeStatus, PayoutStatus, RefundStatus
from app.money import Money
from app.outbox import queued_count
from app.tasks import TaskRow, list_open_tasks


@dataclass(frozen=True, slots=True)
class Kpi:
    label: str
    value: str
    hint: str


@dataclass(frozen=True, slots=True)
class Dashboard:
    kpis: list[Kpi]
    tasks: list[TaskRow]
    lanes: dict[str, list[TaskRow]]


def _pct(n: int, d: int) -> str:
    return f"{(100 * n / d):.1f}%" if d else "—"  # display only; not money


def dashboard(session: Session, now: datetime) -> Dashboard:
    counts = {
        ClaimStatus(s): int(n) for s, n in session.execute(select(Claim.status, func.count()).group_by(Claim.status))
    }
    submitted_ever = sum(
        n
        for s, n in counts.items()
        if s not in (ClaimStatus.DRAFT, ClaimStatus.READY, ClaimStatus.NEEDS_REVIEW, ClaimStatus.QUEUED)
    )
    rejected = counts.get(ClaimStatus.REJECTED, 0) + counts.get(ClaimStatus.CORRECTED, 0)
    clean = submitted_ever - rejected
    awaiting = counts.get(ClaimStatus.SUBMITTED, 0) + counts.get(ClaimStatus.ACKNOWLEDGED, 0)
    lag = session.execute(
        select(Claim.submitted_at, Claim.created_at)
        .where(Claim.submitted_at.is_not(None))
        .order_by(Claim.submitted_at.desc())
        .limit(500)
    ).all()
    hours = [(s - c).total_seconds() / 3600 for s, c in lag if s and c]
    unpaid_payouts = (
        session.scalar(
            select(func.count())
            .select_from(Payout)
            .where(Payout.status.in_([PayoutStatus.VARIANCE, PayoutStatus.HELD]))
        )
        or 0
    )
    open_disputes = (
        session.scalar(
            select(func.count())
            .select_from(Dispute)
            .where(Dispute.status.in_([DisputeStatus.OPEN, DisputeStatus.EVIDENCE_SUBMITTED]))
        )
        or 0
    )
    refunds_waiting = (
        session.scalar(select(func.count()).select_from(Refund).where(Refund.status == RefundStatus.PROPOSED)) or 0
    )
    outstanding = (
        session.scalar(
            select(func.coalesce(func.sum(Claim.total_minor - Claim.paid_minor), 0)).where(
                Claim.status.in_([ClaimStatus.SUBMITTED, ClaimStatus.ACKNOWLEDGED, ClaimStatus.PARTLY_PAID])
            )
        )
        or 0
    )
    kpis = [
        Kpi("First-pass clean claims", _pct(clean, submitted_ever), "submitted claims never rejected"),
        Kpi(
            "Time to submit",
            f"{(sum(hours) / len(hours)):.0f} h" if hours else "—",
            "encounter to submission, last 500",
        ),
        Kpi("Rejection rate", _pct(rejected, submitted_ever), "of submitted claims"),
        Kpi("Awaiting adjudication", str(awaiting), f"{Money(int(outstanding))} outstanding"),
        Kpi("Payout variances", str(unpaid_payouts), "held for review"),
        Kpi("Open disputes", str(open_disputes), "card and billing"),
        Kpi("Refunds to approve", str(refunds_waiting), "proposed"),
        Kpi("Queued to send", str(queued_count(session)), "outbox, sent when online"),
    ]
    tasks = list_open_tasks(session, limit=300)
    lanes = {
        "SLA breaches": [t for t in tasks if t.kind == "claim_sla_breach"],
        "Rejections": [t for t in tasks if t.kind == "claim_rejected"],
        "Cash flow": [t for t in tasks if t.kind in ("missing_payout", "settlement_delay", "payout_variance")],
        "Due soon": [
            t
            for t in tasks
            if t.due_at is not None and t.due_at < now + timedelta(days=2) and t.kind not in ("claim_sla_breach",)
        ],
    }
    return Dashboard(kpis, tasks, lanes)
