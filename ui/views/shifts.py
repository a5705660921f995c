"""Shift close-out: the list of shifts with today's front and centre."""

from __future__ import annotations

from app.domain.status import ShiftStatus
from app.queries import money_views as mv
from app.queries.paging import ListQuery, Page
from ui.env import ViewEnv
from ui.format import fmt
from ui.widgets.list_page import ListPage
from ui.widgets.paged_table import Column


def _detail(r: mv.ShiftRow) -> str:
    return (
        f"<h3>{r.desk} · {fmt(r.starts_at)} – {fmt(r.ends_at)[-5:]}</h3>"
        f"<p>{r.clinic} · {fmt(r.status)}{' by ' + r.closed_by if r.closed_by else ''}</p>"
        f"<table cellpadding=6 style='font-size:15px'>"
        f"<tr><td>Payments</td><td align=right><b>{r.payments}</b></td></tr>"
        f"<tr><td>Takings (gross)</td><td align=right><b>{fmt(r.gross)}</b></td></tr>"
        f"<tr><td>Card fees</td><td align=right>{fmt(r.fees)}</td></tr>"
        f"<tr><td>Cash taken</td><td align=right>{fmt(r.cash)}</td></tr></table>"
    )


class ShiftsView(ListPage):
    def __init__(self, env: ViewEnv) -> None:
        ctx, run_db = env.ctx, env.run_db

        def fetch(q: ListQuery) -> Page[mv.ShiftRow]:
            with ctx.db.read() as s:
                return mv.list_shifts(s, q)

        super().__init__(
            title="Shift close-out",
            subtitle="Takings per shift, expected deposits, cash count and close",
            columns=[
                Column("Starts", "starts_at", "starts_at", 130),
                Column("Desk", "desk", "desk", 100),
                Column("Clinic", "clinic", "", 170),
                Column("Status", "status", "", 70),
                Column("Payments", "payments", "", 70),
                Column("Gross", "gross", "", 90),
                Column("Fees", "fees", "", 70),
                Column("Cash", "cash", "", 80),
                Column("Closed by", "closed_by", "", 100),
            ],
            fetch=fetch,
            run_db=run_db,
            default_sort="starts_at",
            object_name="shiftsView",
            statuses=[(fmt(s), s.value) for s in ShiftStatus],
            detail=_detail,
            empty_text="No shifts yet. Set the cash-drawer schedule in Settings → Shifts; shifts open automatically.",
        )
