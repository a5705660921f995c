"""Disputes: every open dispute by due date, its checklist and original record; resolve won, lost or
corrected with a reason."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QInputDialog

from app.context import Changes
from app.disputes import service
from app.domain.status import DisputeStatus
from app.money import Money
from app.queries.money_views import DisputeRow, list_disputes
from app.queries.paging import ListQuery, Page
from ui.env import ViewEnv
from ui.format import fmt
from ui.widgets.list_page import ListPage
from ui.widgets.paged_table import Column

COLUMNS = [
    Column("Due", "due_at", "due_at", 130),
    Column("Kind", "kind", "", 100),
    Column("Patient", "patient", "", 130),
    Column("Amount", "amount", "amount", 80),
    Column("Reason", "reason", "", 200),
    Column("Status", "status", "", 110),
    Column("Owner", "owner_role", "", 90),
    Column("Payment", "payment_ref", "", 140),
    Column("Shift", "shift_id", "", 60),
]
OUTCOMES = {"Won": DisputeStatus.WON, "Lost": DisputeStatus.LOST, "Corrected": DisputeStatus.CORRECTED}


def render_dispute(d: service.DisputeDetail) -> str:
    items = "".join(f"<li>{'☑' if i.done else '☐'} {html.escape(i.item)}</li>" for i in d.checklist)
    original = "".join(
        f"<tr><td style='color:#555'>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in d.original.items()
    )
    return (
        f"<h3>Dispute {d.id} · {fmt(d.status)}</h3>"
        f"<p>{html.escape(d.kind.value.replace('_', ' '))} · <b>{fmt(d.amount)}</b> · respond by "
        f"<b>{fmt(d.due_at) or '—'}</b> · owner {html.escape(d.owner_role)}<br>{html.escape(d.reason)}</p>"
        f"<h4>Evidence checklist</h4><ul>{items or '<li>Nothing listed</li>'}</ul>"
        f"{'<h4>Resolution</h4><p>' + html.escape(d.resolution) + '</p>' if d.resolution else ''}"
        f"<h4>Original record</h4><table cellpadding=2>{original}</table>"
    )


class DisputesView(ListPage):
    def __init__(self, env: ViewEnv) -> None:
        self.env = env
        self.ctx = ctx = env.ctx

        def fetch(q: ListQuery) -> Page[DisputeRow]:
            return ctx.query(list_disputes, q)

        super().__init__(
            title="Disputes",
            subtitle="Card, billing and remittance disputes, soonest due first",
            columns=COLUMNS,
            fetch=fetch,
            run_db=env.run_db,
            default_sort="due_at",
            statuses=[("Open (any)", "open")] + [(fmt(s), s.value) for s in DisputeStatus],
            object_name="disputesView",
            empty_text="No disputes match.\n\nCard disputes appear as soon as a provider reports them; "
            "billing and remittance disputes are opened from the invoice or the remittance line.",
        )
        self.model.query = ListQuery(sort_key="due_at", descending=False, status="open")
        self.status.setCurrentIndex(1)
        self.add_action("Evidence gathered…", self._tick, "tick")
        self.add_action("Evidence submitted", self._submitted, "submitted")
        self.add_action("Resolve…", self._resolve, "resolve")
        # seams for tests: how the view asks the user
        self.ask_text: Callable[[str, str], str] = self._ask_text
        self.ask_choice: Callable[[str, str, list[str]], str] = self._ask_choice
        self.table.selectionModel().selectionChanged.connect(self._load_detail)

    # ------------------------------------------------------------ asking
    def _ask_text(self, title: str, label: str) -> str:
        text, ok = QInputDialog.getText(self, title, label)
        return text.strip() if ok else ""

    def _ask_choice(self, title: str, label: str, items: list[str]) -> str:
        item, ok = QInputDialog.getItem(self, title, label, items, 0, False)
        return item if ok else ""

    # ------------------------------------------------------------ slots (one line each)
    def _tick(self) -> None:
        self.tick_selected(self.ask_text("Evidence gathered", "Which checklist item is done?"))

    def _submitted(self) -> None:
        self.submit_selected()

    def _resolve(self) -> None:
        self.resolve_selected(self.ask_choice("Resolve dispute", "Outcome", list(OUTCOMES)))

    # ------------------------------------------------------------ operations
    def _selected_id(self) -> int | None:
        row = self.current_row()
        if row is None:
            self.env.notify("Select a dispute first.")
            return None
        return int(row.id)

    def _after(self, changes: Changes) -> None:
        self.env.notify(changes.message or "Saved.")
        self.refresh()

    def tick_selected(self, item: str) -> None:
        dispute_id, actor = self._selected_id(), self.env.actor
        if dispute_id is not None and item:
            self.env.act(lambda: service.tick(self.ctx, actor, dispute_id, item), self._after)

    def submit_selected(self) -> None:
        dispute_id, actor = self._selected_id(), self.env.actor
        if dispute_id is not None:
            self.env.act(lambda: service.submit_evidence(self.ctx, actor, dispute_id), self._after)

    def resolve_selected(self, outcome: str) -> None:
        dispute_id, actor = self._selected_id(), self.env.actor
        if dispute_id is None or outcome not in OUTCOMES:
            return
        status = OUTCOMES[outcome]
        reason = self.ask_text(f"{outcome}: dispute {dispute_id}", "Why? (kept with the dispute)")
        text = ""
        if status is DisputeStatus.CORRECTED:
            text = self.ask_text("Correction", "Change in pounds (negative to reduce what is owed), e.g. -15.00")

        def run() -> Changes:
            correction = Money.of(text).minor if text else None
            return service.resolve(self.ctx, actor, dispute_id, status, reason, correction)

        if reason:
            self.env.act(run, self._after)

    def _load_detail(self, *_: Any) -> None:
        row = self.current_row()
        if row is not None:
            self.env.run_db(lambda: self._detail(row.id), self._show_detail)

    def _detail(self, dispute_id: int) -> service.DisputeDetail:
        return self.ctx.query(service.dispute_detail, dispute_id)

    def _show_detail(self, d: service.DisputeDetail | BaseException) -> None:
        if not isinstance(d, BaseException):
            self.detail.setHtml(render_dispute(d))
