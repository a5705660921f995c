"""Disputes and Refunds list views (each a ListPage over one service query)."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from app.context import AppContext
from app.domain.status import DisputeStatus, RefundStatus
from app.queries import money_views as mv
from app.queries.paging import ListQuery, Page
from ui.env import ViewEnv
from ui.format import fmt
from ui.widgets.list_page import ListPage
from ui.widgets.paged_table import Column


def _fetcher(ctx: AppContext, fn: Callable[[Any, ListQuery], Page[Any]]) -> Callable[[ListQuery], Page[Any]]:
    def fetch(q: ListQuery) -> Page[Any]:
        with ctx.db.read() as s:
            return fn(s, q)

    return fetch


def _kv(title: str, row: Any, fields: list[tuple[str, str]]) -> str:
    body = "".join(
        f"<tr><td style='color:#555'>{label}</td><td><b>{html.escape(fmt(getattr(row, attr)))}</b></td></tr>"
        for label, attr in fields
    )
    return f"<h3>{html.escape(title)}</h3><table cellpadding=4>{body}</table>"


class DisputesView(ListPage):
    def __init__(self, env: ViewEnv) -> None:
        ctx, run_db = env.ctx, env.run_db
        super().__init__(
            title="Disputes",
            subtitle="Card, billing and remittance disputes, most urgent first",
            columns=[
                Column("Due", "due_at", "due_at", 130),
                Column("Kind", "kind", "", 100),
                Column("Patient", "patient", "", 130),
                Column("Amount", "amount", "amount", 80),
                Column("Reason", "reason", "", 200),
                Column("Status", "status", "", 110),
                Column("Owner", "owner_role", "", 90),
                Column("Payment", "payment_ref", "", 140),
            ],
            fetch=_fetcher(ctx, mv.list_disputes),
            run_db=run_db,
            default_sort="due_at",
            object_name="disputesView",
            statuses=[("Open (any)", "open")] + [(fmt(s), s.value) for s in DisputeStatus],
            empty_text="No disputes. Card disputes appear here as soon as a provider reports them.",
            detail=lambda r: _kv(
                f"Dispute {r.provider_ref or r.id}",
                r,
                [
                    ("Kind", "kind"),
                    ("Amount", "amount"),
                    ("Reason", "reason"),
                    ("Respond by", "due_at"),
                    ("Owner", "owner_role"),
                    ("Original payment", "payment_ref"),
                    ("Shift", "shift_id"),
                    ("Status", "status"),
                ],
            ),
        )
        self.model.query = ListQuery(sort_key="due_at", descending=False)


class RefundsView(ListPage):
    def __init__(self, env: ViewEnv) -> None:
        ctx, run_db = env.ctx, env.run_db
        super().__init__(
            title="Refunds",
            subtitle="Proposed → approved → sent → succeeded, through the provider that took the money",
            columns=[
                Column("Created", "created_at", "created_at", 130),
                Column("Patient", "patient", "", 130),
                Column("Amount", "amount", "amount", 80),
                Column("Reason", "reason", "", 150),
                Column("Status", "status", "", 90),
                Column("Provider", "provider", "", 70),
                Column("Proposed by", "proposed_by", "", 110),
            ],
            fetch=_fetcher(ctx, mv.list_refunds),
            run_db=run_db,
            default_sort="created_at",
            object_name="refundsView",
            statuses=[(fmt(s), s.value) for s in RefundStatus],
            empty_text="No refunds. Propose one from a payment, or run the duplicate-charge detector.",
            detail=lambda r: _kv(
                f"Refund {r.id}",
                r,
                [
                    ("Patient", "patient"),
                    ("Amount", "amount"),
                    ("Reason", "reason"),
                    ("Original payment", "payment_ref"),
                    ("Provider", "provider"),
                    ("Status", "status"),
                    ("Proposed by", "proposed_by"),
                    ("Note", "note"),
                ],
            ),
        )
