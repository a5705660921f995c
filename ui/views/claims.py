"""Claims: filter by status, insurer, clinic, practitioner, dates and text; detail with timeline."""

from __future__ import annotations

import html
from dataclasses import replace
from typing import Any

from PySide6.QtWidgets import QComboBox

from app.domain.status import ClaimStatus
from app.queries.claims import ClaimDetail, ClaimRow, claim_detail, filter_choices, list_claims
from app.queries.paging import ListQuery, Page
from ui.env import ViewEnv
from ui.format import fmt
from ui.widgets.list_page import ListPage
from ui.widgets.paged_table import Column

COLUMNS = [
    Column("Claim", "number", "number", 100),
    Column("Patient", "patient", "patient", 140),
    Column("Insurer", "payer", "payer", 150),
    Column("Practitioner", "practitioner", "", 130),
    Column("Service date", "service_date", "service_date", 100),
    Column("Status", "status", "status", 100),
    Column("Total", "total", "total", 80),
    Column("Paid", "paid", "", 80),
    Column("Insurer ref", "insurer_ref", "", 100),
]


def render_detail(d: ClaimDetail) -> str:
    r = d.row
    lines = "".join(
        f"<tr><td>{n}</td><td>{html.escape(cc)}</td><td>{html.escape(ic or '—')}</td>"
        f"<td>{html.escape(desc)}</td><td align=right>{u}</td><td align=right>{fmt(a)}</td></tr>"
        for n, cc, ic, desc, u, a in d.lines
    )
    timeline = "".join(
        f"<li><b>{fmt(e.at)}</b> — {html.escape(e.action)} by {html.escape(e.actor)}"
        f"{': ' + html.escape(e.detail) if e.detail else ''}</li>"
        for e in d.timeline
    )
    reasons = "".join(f"<li>{html.escape(x)}</li>" for x in d.risk_reasons) or "<li>Not assessed yet</li>"
    arts = (
        "".join(
            f"<li>{html.escape(n)} <span style='color:#777'>({s:,} bytes, sha256 {h[:12]}…)</span></li>"
            for n, h, s in d.artefacts
        )
        or "<li>None yet: run the pre-flight check and build the pack.</li>"
    )
    return (
        f"<h3>{r.number} · {fmt(r.status)}</h3>"
        f"<p><b>{html.escape(r.patient)}</b> · {html.escape(r.payer)} · {html.escape(r.practitioner)}<br>"
        f"Service {fmt(r.service_date)} · Total {fmt(r.total)} · Paid {fmt(r.paid)}<br>"
        f"Authorisation: {html.escape(d.authorisation_number or 'none')} · Insurer ref: "
        f"{html.escape(r.insurer_ref or '—')}</p>"
        f"<h4>Lines</h4><table cellpadding=3><tr><th>#</th><th>Clinic code</th><th>Insurer code</th>"
        f"<th>Description</th><th>Units</th><th>Amount</th></tr>{lines}</table>"
        f"<h4>Denial risk {'' if d.risk_score is None else d.risk_score}</h4><ul>{reasons}</ul>"
        f"<h4>Artefacts</h4><ul>{arts}</ul><h4>Timeline</h4><ul>{timeline}</ul>"
    )


class ClaimsView(ListPage):
    def __init__(self, env: ViewEnv) -> None:
        self.env = env
        self.ctx = ctx = env.ctx
        run_db = env.run_db

        def fetch(q: ListQuery) -> Page[ClaimRow]:
            with ctx.db.read() as s:
                return list_claims(s, q)

        super().__init__(
            title="Claims",
            subtitle="Insurer claims from signed-off encounter to payment",
            columns=COLUMNS,
            fetch=fetch,
            run_db=run_db,
            default_sort="updated_at",
            statuses=[(fmt(s), s.value) for s in ClaimStatus],
            object_name="claimsView",
            empty_text="No claims match.\n\nClaims appear here when an insured patient's encounter is "
            "signed off. Clear the filters, or sign off encounters in your practice system.",
        )
        self.detail_renderer = None
        self.payer = QComboBox(objectName="payerFilter")
        self.clinic = QComboBox(objectName="clinicFilter")
        self.practitioner = QComboBox(objectName="practitionerFilter")
        for combo, label in (
            (self.payer, "All insurers"),
            (self.clinic, "All clinics"),
            (self.practitioner, "All practitioners"),
        ):
            combo.addItem(label, None)
            combo.setMaximumWidth(190)
            combo.currentIndexChanged.connect(self.apply_filters)
            self.extra_filters.addWidget(combo)
        self.table.selectionModel().selectionChanged.connect(self._load_detail)
        run_db(self._choices, self._fill_choices)

    def _choices(self) -> dict[str, list[tuple[int, str]]]:
        with self.ctx.db.read() as s:
            return filter_choices(s)

    def _fill_choices(self, choices: dict[str, list[tuple[int, str]]] | BaseException) -> None:
        if isinstance(choices, BaseException):
            return
        for combo, key in (
            (self.payer, "payers"),
            (self.clinic, "clinics"),
            (self.practitioner, "practitioners"),
        ):
            for ident, name in choices[key]:
                combo.addItem(name, ident)

    def query(self) -> ListQuery:
        return replace(
            super().query(),
            payer_id=self.payer.currentData(),
            clinic_id=self.clinic.currentData(),
            practitioner_id=self.practitioner.currentData(),
        )

    def _load_detail(self, *_: Any) -> None:
        row = self.current_row()
        if row is None:
            return
        claim_id = row.id

        def load() -> ClaimDetail:
            with self.ctx.db.read() as s:
                return claim_detail(s, claim_id)

        self.run_db(load, self._show_detail)

    def _show_detail(self, d: ClaimDetail | BaseException) -> None:
        if not isinstance(d, BaseException):
            self.detail.setHtml(render_detail(d))
