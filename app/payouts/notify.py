"""The finance summary of outstanding payout variances: an in-app task plus a notifier message.

Queued in the caller's transaction through the outbox (``notify.email`` to Settings
``payouts.finance_email``, ``notify.webhook`` when a staff webhook is set up), with an
idempotency key derived from the summary text, so the same summary is sent once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import Actor
from app.clock import Clock
from app.db.models import Payout, PayoutLine
from app.domain.status import PayoutStatus
from app.money import Money
from app.outbox import enqueue
from app.settings import get_setting
from app.tasks import open_task


@dataclass(frozen=True, slots=True)
class Summary:
    subject: str
    body: str
    open_lines: int
    held_payouts: int


def build_summary(s: Session) -> Summary:
    """Every open variance line and every held payout, in words."""
    q = (
        select(PayoutLine, Payout)
        .join(Payout, Payout.id == PayoutLine.payout_id)
        .where(PayoutLine.status.in_(("variance", "unmatched")))
        .order_by(Payout.payout_date, Payout.id, PayoutLine.id)
    )
    lines = []
    totals: dict[str, int] = {}
    for ln, po in s.execute(q):
        what = "no sale" if ln.status == "unmatched" else f"differs by {Money(ln.variance_minor, ln.currency)}"
        lines.append(f"- {po.source} {po.provider_ref}, booking {ln.booking_id or '—'}: {what}")
        totals[ln.currency] = totals.get(ln.currency, 0) + abs(ln.variance_minor)
    held = list(s.scalars(select(Payout).where(Payout.status == PayoutStatus.HELD).order_by(Payout.id)))
    held_text = [f"- {p.source} {p.provider_ref} ({p.payout_date}): {p.held_reason}" for p in held]
    total_text = ", ".join(str(Money(v, c)) for c, v in sorted(totals.items())) or "none"
    body = (
        f"Outstanding payout variances: {len(lines)} (total {total_text}).\n"
        + "\n".join(lines)
        + f"\n\nPayout journals held for review: {len(held)}.\n"
        + "\n".join(held_text)
        + "\n\nOpen Clinic Billing Desk → Payouts to resolve them.\n"
    )
    subject = f"Payouts: {len(lines)} variance(s), {len(held)} held"
    return Summary(subject, body, len(lines), len(held))


def queue_finance_summary(s: Session, clock: Clock, actor: Actor) -> Summary:
    """Open (or keep) today's finance task and queue the summary to the configured notifiers."""
    summary = build_summary(s)
    today = clock.now().date().isoformat()
    digest = hashlib.sha256(summary.body.encode("utf-8")).hexdigest()[:16]
    open_task(
        s,
        clock,
        actor,
        kind="payout_summary",
        title=summary.subject,
        detail=summary.body,
        owner_role="finance",
        dedupe_key=f"payout-summary:{today}:{digest}",
    )
    to = get_setting(s, "payouts.finance_email")
    if to:
        payload = {"to": str(to), "subject": summary.subject, "body": summary.body}
        enqueue(
            s,
            clock,
            actor,
            kind="notify.email",
            provider="smtp",
            payload=payload,
            idempotency_key=f"payout-summary:email:{today}:{digest}",
        )
    if (get_setting(s, "endpoints") or {}).get("staff_webhook"):
        enqueue(
            s,
            clock,
            actor,
            kind="notify.webhook",
            provider="staff_webhook",
            payload={"text": f"*{summary.subject}*\n{summary.body}"},
            idempotency_key=f"payout-summary:webhook:{today}:{digest}",
        )
    return summary
