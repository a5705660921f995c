"""Refunds: the queue by status (proposed → approved → sent → succeeded / failed / cancelled), the
evidence of each case, approve or reject with a reason, propose from a payment, run the detectors."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QInputDialog

from app.context import Changes
from app.domain.status import RefundReason, RefundStatus
from app.money import Money
from app.queries.money_views import RefundRow, list_refunds
from app.queries.paging import ListQuery, Page
from app.refunds import detectors, service
from ui.env import ViewEnv
from ui.format import fmt
from ui.widgets.list_page import ListPage
from ui.widgets.paged_table import Column

COLUMNS = [
    Column("Created", "created_at", "created_at", 130),
    Column("Patient", "patient", "", 130),
    Column("Amount", "amount", "amount", 80),
    Column("Reason", "reason", "", 150),
    Column("Status", "status", "", 90),
    Column("Provider", "provider", "", 70),
    Column("Proposed by", "proposed_by", "", 110),
]
QUEUE = "proposed,approved,sent,failed"
STATUSES = [("Open queue", QUEUE)] + [
    (fmt(s), s.value)
    for s in (
        RefundStatus.PROPOSED,
        RefundStatus.APPROVED,
        RefundStatus.SENT,
        RefundStatus.SUCCEEDED,
        RefundStatus.FAILED,
        RefundStatus.CANCELLED,
        RefundStatus.REJECTED,
    )
]


def render_case(c: service.RefundCase) -> str:
    evidence = "".join(
        f"<tr><td style='color:#555'>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in c.evidence.items()
    )
    trail = "".join(
        f"<li><b>{html.escape(when)}</b> {html.escape(action)} by {html.escape(who)}"
        f"{': ' + html.escape(why) if why else ''}</li>"
        for when, who, action, why in c.trail
    )
    docs = "".join(f"<li>{html.escape(d)}</li>" for d in c.documents) or "<li>None yet</li>"
    return (
        f"<h3>Refund RF-{c.id:06d} · {fmt(c.status)}</h3>"
        f"<p><b>{fmt(c.amount)}</b> ({html.escape(c.method)}) of {html.escape(c.payment)}<br>"
        f"Left to refund on that payment after open refunds: {fmt(c.remaining)}<br>"
        f"Decision: {html.escape(c.decision_reason or '—')} · Provider ref: {html.escape(c.provider_ref or '—')}</p>"
        f"<h4>Evidence</h4><table cellpadding=3>{evidence or '<tr><td>None given</td></tr>'}</table>"
        f"<h4>Documents</h4><ul>{docs}</ul><h4>Who did what</h4><ul>{trail}</ul>"
    )


class RefundsView(ListPage):
    def __init__(self, env: ViewEnv) -> None:
        self.env = env
        self.ctx = ctx = env.ctx

        def fetch(q: ListQuery) -> Page[RefundRow]:
            return ctx.query(list_refunds, q)

        super().__init__(
            title="Refunds",
            subtitle="Proposed → approved → sent → succeeded, through the provider that took the money",
            columns=COLUMNS,
            fetch=fetch,
            run_db=env.run_db,
            default_sort="created_at",
            statuses=STATUSES,
            object_name="refundsView",
            empty_text="No refunds here.\n\nPropose one from a payment, or run the detectors "
            "(duplicate charges, overpayments after a remittance, recalled batches).",
        )
        self.status.setCurrentIndex(1)  # the open queue
        self.add_action("Approve", self._approve, "approve")
        self.add_action("Reject…", self._reject, "reject")
        self.add_action("Cancel…", self._cancel, "cancel")
        self.add_action("Propose…", self._propose, "propose")
        self.add_action("Recall batch…", self._recall, "recall")
        self.add_action("Run detectors", self._detect, "detect")
        # seams for tests: how the view asks the user
        self.ask_text: Callable[[str, str], str] = self._ask_text
        self.table.selectionModel().selectionChanged.connect(self._load_detail)

    # ------------------------------------------------------------ asking
    def _ask_text(self, title: str, label: str) -> str:
        text, ok = QInputDialog.getText(self, title, label)
        return text.strip() if ok else ""

    # ------------------------------------------------------------ slots (one line each)
    def _approve(self) -> None:
        self.approve_selected(self.ask_text("Approve refund", "Why is this refund right? (optional)"))

    def _reject(self) -> None:
        self.reject_selected(self.ask_text("Reject refund", "Why is this refund rejected?"))

    def _cancel(self) -> None:
        self.cancel_selected(self.ask_text("Cancel refund", "Why is this refund cancelled?"))

    def _propose(self) -> None:
        self.propose(
            self.ask_text("Propose a refund", "Payment number, amount and reason (e.g. 1234 12.50 wrong item)")
        )

    def _recall(self) -> None:
        self.recall(self.ask_text("Recall a batch", "Batch number of the recalled product"))

    def _detect(self) -> None:
        self.env.act(lambda: detectors.detect_all(self.ctx, self.env.actor), self._detected)

    # ------------------------------------------------------------ operations
    def _selected_id(self) -> int | None:
        row = self.current_row()
        if row is None:
            self.env.notify("Select a refund first.")
            return None
        return int(row.id)

    def _after(self, changes: Changes) -> None:
        self.env.notify(changes.message)
        self.refresh()

    def _detected(self, report: detectors.DetectReport) -> None:
        self._after(Changes.of("refund", message=f"Detectors {report}."))

    def approve_selected(self, reason: str) -> None:
        refund_id, actor = self._selected_id(), self.env.actor
        if refund_id is not None:
            self.env.act(lambda: service.approve(self.ctx, actor, refund_id, reason), self._after)

    def reject_selected(self, reason: str) -> None:
        refund_id, actor = self._selected_id(), self.env.actor
        if refund_id is not None and reason:
            self.env.act(lambda: service.reject(self.ctx, actor, refund_id, reason), self._after)

    def cancel_selected(self, reason: str) -> None:
        refund_id, actor = self._selected_id(), self.env.actor
        if refund_id is not None and reason:
            self.env.act(lambda: service.cancel(self.ctx, actor, refund_id, reason), self._after)

    def propose(self, text: str) -> None:
        parts = text.split(maxsplit=2)
        if len(parts) < 3 or not parts[0].isdigit():
            if text:
                self.env.notify("Write the payment number, the amount and the reason, e.g. 1234 12.50 wrong item.")
            return
        payment_id, amount, reason = int(parts[0]), parts[1], parts[2]
        actor = self.env.actor

        def run() -> Changes:
            proposal = service.Proposal(payment_id, Money.of(amount).minor, RefundReason.PATIENT_REQUEST, reason)
            refund_id = service.propose(self.ctx, actor, proposal)
            return Changes.of("refund", message=f"Refund {refund_id} proposed: a manager or finance user approves it.")

        self.env.act(run, self._after)

    def recall(self, batch: str) -> None:
        if batch:
            self.env.act(lambda: detectors.recall_batch(self.ctx, self.env.actor, batch), self._recalled)

    def _recalled(self, buyers: list[detectors.Buyer]) -> None:
        new = sum(1 for b in buyers if b.refund_id)
        self._after(Changes.of("refund", message=f"{len(buyers)} buyer(s) of the batch; {new} refund(s) proposed."))

    def _load_detail(self, *_: Any) -> None:
        row = self.current_row()
        if row is not None:
            self.env.run_db(lambda: self._case(row.id), self._show_detail)

    def _case(self, refund_id: int) -> service.RefundCase:
        return self.ctx.query(service.refund_case, refund_id)

    def _show_detail(self, case: service.RefundCase | BaseException) -> None:
        if not isinstance(case, BaseException):
            self.detail.setHtml(render_case(case))
