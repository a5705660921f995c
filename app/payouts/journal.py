"""A marketplace payout's journal: posted once, held until a person resolves its variances and releases it.

The entry (gross sales out of the marketplace clearing account, commission, fees and VAT on fees
expensed, net to bank) comes from :func:`app.ledger.journal_builders.journal_for_payout`; its id is
derived from the payout, so posting again books nothing. ``journals.csv`` is kept on the payout.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.archive import keep_artefact
from app.audit import Actor, record, snapshot
from app.claims.artefacts import ArtefactStore
from app.clock import Clock
from app.context import AppContext, Changes
from app.db.models import Payout, PayoutLine, Task
from app.domain.status import PayoutStatus, TaskStatus, advance
from app.errors import DomainError, NotFound
from app.ledger.accounting_exports import journals_csv
from app.ledger.chart import AccountMap
from app.ledger.journal_builders import PayoutChannel, PayoutRecord, journal_for_payout
from app.ledger.store import post_entries
from app.money import Money
from app.tasks import set_task_status
from app.users import Permission, require

JOURNALS_NAME = "journals.csv"
_OPEN = ("variance", "unmatched")


def lines_of(s: Session, payout_id: int) -> list[PayoutLine]:
    return list(s.scalars(select(PayoutLine).where(PayoutLine.payout_id == payout_id).order_by(PayoutLine.id)))


def open_lines(s: Session, payout_id: int) -> int:
    q = select(func.count()).select_from(PayoutLine)
    return int(s.scalar(q.where(PayoutLine.payout_id == payout_id, PayoutLine.status.in_(_OPEN))) or 0)


def post_payout(s: Session, clock: Clock, actor: Actor, store: ArtefactStore, payout: Payout) -> list[str]:
    """Post the payout's journal (once) and move it to POSTED; returns the entry ids newly posted."""
    lines = lines_of(s, payout.id)

    def summed(attr: str) -> Money:
        return Money(sum(getattr(ln, attr) for ln in lines), payout.currency)

    entry = journal_for_payout(
        PayoutRecord(
            payout_id=f"{payout.source}-{payout.provider_ref}",
            provider=payout.source,
            channel=PayoutChannel.MARKETPLACE,
            paid_on=payout.payout_date,
            gross=summed("gross_minor"),
            commission=summed("commission_minor"),
            processing_fee=summed("processing_fee_minor"),
            vat_on_fees=summed("vat_on_fees_minor"),
            net=summed("net_minor"),
        ),
        AccountMap(),
    )
    posted = post_entries(s, clock, actor, [entry])
    keep_artefact(s, clock, store, "payout", payout.id, JOURNALS_NAME, journals_csv([entry]))
    before = snapshot(payout)
    payout.status = advance("Payout", payout.status, PayoutStatus.POSTED)
    record(s, clock, actor, "payout.posted", "payout", payout.id, before, snapshot(payout))
    return posted


def _close_task(s: Session, clock: Clock, actor: Actor, dedupe_key: str, reason: str) -> None:
    task = s.scalar(select(Task).where(Task.dedupe_key == dedupe_key))
    if task is not None and task.status in (TaskStatus.OPEN, TaskStatus.IN_PROGRESS):
        set_task_status(s, clock, actor, task.id, TaskStatus.DONE, reason)


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise DomainError("Give a reason: it is kept in the audit log.")
    return text


def resolve_variance(ctx: AppContext, actor: Actor, line_id: int, reason: str) -> Changes:
    """Accept a payout line's variance with a reason. A payout left without open variances (and not
    held) is matched and its journal posted."""
    require(actor, Permission.APPROVE_WRITEOFF)
    why = _reason(reason)
    with ctx.db.unit_of_work() as s:
        line = s.get(PayoutLine, line_id)
        if line is None:
            raise NotFound(f"Payout line {line_id} does not exist.")
        if line.status not in _OPEN:
            raise DomainError(f"Payout line {line_id} has no open variance (it is {line.status}).")
        before = snapshot(line)
        line.status = "resolved"
        record(s, ctx.clock, actor, "payout_line.resolve", "payout_line", line.id, before, snapshot(line), why)
        _close_task(s, ctx.clock, actor, f"payout-line:{line.id}", why)
        payout = s.get(Payout, line.payout_id)
        assert payout is not None
        s.flush()
        message = f"Variance on line {line_id} resolved"
        if payout.status is PayoutStatus.VARIANCE and not open_lines(s, payout.id) and not payout.held_reason:
            before = snapshot(payout)
            payout.status = advance("Payout", payout.status, PayoutStatus.MATCHED)
            record(s, ctx.clock, actor, "payout.matched", "payout", payout.id, before, snapshot(payout), why)
            post_payout(s, ctx.clock, actor, ArtefactStore(ctx.paths.archive), payout)
            message += f"; payout {payout.provider_ref} posted"
        return Changes.of("payouts", "tasks", "journals", message=message)


def release_payout(ctx: AppContext, actor: Actor, payout_id: int, reason: str) -> list[str]:
    """Release a held payout: every variance must be resolved first; its journal is posted once."""
    require(actor, Permission.POST_JOURNALS)
    why = _reason(reason)
    with ctx.db.unit_of_work() as s:
        payout = s.get(Payout, payout_id, with_for_update=True)
        if payout is None:
            raise NotFound(f"Payout {payout_id} does not exist.")
        if payout.status is not PayoutStatus.HELD:
            raise DomainError(f"Payout {payout.provider_ref} is {payout.status.value}, not held: nothing to release.")
        remaining = open_lines(s, payout.id)
        if remaining:
            raise DomainError(
                f"Payout {payout.provider_ref} still has {remaining} open variance(s): resolve them first."
            )
        record(s, ctx.clock, actor, "payout.release", "payout", payout.id, snapshot(payout), None, why)
        posted = post_payout(s, ctx.clock, actor, ArtefactStore(ctx.paths.archive), payout)
        for key in (f"payout-review:{payout.id}", f"payout-total:{payout.id}"):
            _close_task(s, ctx.clock, actor, key, why)
        return posted
