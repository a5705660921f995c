"""Remittances: what each payer paid, what every line was applied to and why, held write-offs."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QComboBox, QFileDialog, QInputDialog

from app.claims.artefacts import ArtefactStore
from app.domain.status import RemittanceStatus
from app.queries.paging import ListQuery, Page
from app.remittance.approvals import decide_writeoff, rerun_matching
from app.remittance.cash_csv import cash_application_csv
from app.remittance.ingest import ImportResult, import_remittance_file
from app.remittance.queries import RemittanceDetail, RemittanceRow, list_remittances, remittance_detail
from ui.env import ViewEnv
from ui.format import fmt
from ui.widgets.list_page import ListPage
from ui.widgets.paged_table import Column

COLUMNS = [
    Column("Payer", "payer", "", 170),
    Column("Trace", "trace", "trace", 130),
    Column("Paid on", "payment_date", "payment_date", 100),
    Column("Total", "total", "total", 90),
    Column("Unapplied", "unapplied", "unapplied", 90),
    Column("Status", "status", "status", 110),
    Column("File", "filename", "", 160),
]


def render_detail(d: RemittanceDetail) -> str:
    r = d.row
    lines = "".join(
        f"<tr><td>{ln.number}</td><td>{html.escape(ln.claim_ref or '—')}</td><td>{html.escape(ln.status_code)}</td>"
        f"<td align=right>{fmt(ln.charged)}</td><td align=right>{fmt(ln.paid)}</td>"
        f"<td align=right>{fmt(ln.patient_resp)}</td><td><b>{html.escape(ln.applied_to or 'not applied')}</b></td>"
        f"<td style='color:#555'>{html.escape(ln.explanation)}</td></tr>"
        for ln in d.lines
    )
    held = (
        "".join(
            f"<li>#{p.id} {html.escape(p.kind)} {fmt(p.amount)} on {html.escape(p.claim or '—')}: "
            f"{html.escape(p.memo)}</li>"
            for p in d.held
        )
        or "<li>None</li>"
    )
    plb = "".join(
        f"<li>{html.escape(a['reason'])} {html.escape(a['reference'])}: {html.escape(a['amount'])}</li>"
        for a in d.provider_adjustments
    )
    return (
        f"<h3>{html.escape(r.payer)} · {html.escape(r.trace)} · {fmt(r.status)}</h3>"
        f"<p>Paid {fmt(r.payment_date)} · Total {fmt(r.total)} · <b>Unapplied {fmt(r.unapplied)}</b><br>"
        f"{d.lines_applied} of {len(d.lines)} line(s) applied · from {html.escape(r.filename)} ({r.source})</p>"
        f"<h4>Write-offs waiting for a manager</h4><ul>{held}</ul>"
        + (f"<h4>Provider-level adjustments</h4><ul>{plb}</ul>" if plb else "")
        + "<h4>Lines</h4><table cellpadding=3><tr><th>#</th><th>Claim ref</th><th>Status</th><th>Charged</th>"
        f"<th>Paid</th><th>Patient</th><th>Applied to</th><th>Why</th></tr>{lines}</table>"
    )


class RemittancesView(ListPage):
    def __init__(self, env: ViewEnv) -> None:
        self.env = env
        self.ctx = ctx = env.ctx

        def fetch(q: ListQuery) -> Page[RemittanceRow]:
            return ctx.query(list_remittances, q)

        super().__init__(
            title="Remittances",
            subtitle="Insurer payments applied to claims, co-pays and the ledger",
            columns=COLUMNS,
            fetch=fetch,
            run_db=env.run_db,
            default_sort="payment_date",
            statuses=[(fmt(s), s.value) for s in RemittanceStatus],
            object_name="remittancesView",
            empty_text="No remittances yet.\n\nThey arrive with insurer files (835, XML) collected by the claims "
            "runbook, or use “Import remittance file…” for a file you were sent.",
        )
        self.detail_renderer = None
        self.held = QComboBox()
        self.held.setObjectName("heldPostings")
        self.held.setMinimumWidth(200)
        self.held.setPlaceholderText("No write-off waiting")
        self.actions.addWidget(self.held)
        self.add_action("Approve write-off", self._approve, "approveWriteoff")
        self.add_action("Reject", self._reject, "rejectWriteoff")
        self.add_action("Re-run matching", self._rerun, "rerunMatching")
        self.add_action("Import remittance file…", self._choose_file, "importRemittance")
        self.add_action("Export cash application…", self._choose_export, "exportCashApplication")
        self.table.selectionModel().selectionChanged.connect(self._load_detail)
        self.refresh()

    # slots: one line each
    def _approve(self) -> None:
        self._decide(True, "")

    def _reject(self) -> None:
        self._decide(False, self._ask_reason())

    def _rerun(self) -> None:
        self._run_on_selected(lambda rid: rerun_matching(self.ctx, self.env.actor, rid))

    def _choose_file(self) -> None:
        self.import_file(QFileDialog.getOpenFileName(self, "Import remittance file", "", "Remittances (*)")[0])

    def _choose_export(self) -> None:
        if self.current_row() is None:
            self.env.notify("Select a remittance first.")
            return
        self.export_cash_application(
            QFileDialog.getSaveFileName(self, "Save cash application", "cash-application.csv", "CSV (*.csv)")[0]
        )

    # operations
    def export_cash_application(self, path: str) -> None:
        row = self.current_row()
        if row is None:
            self.env.notify("Select a remittance first.")
            return
        if not path:
            return
        rid = row.id
        self.env.act(lambda: self._write_cash_application(rid, Path(path)), self.env.notify)

    def _write_cash_application(self, remittance_id: int, path: Path) -> str:
        path.write_bytes(self.ctx.query(cash_application_csv, ArtefactStore(self.ctx.paths.archive), remittance_id))
        return f"Cash application of the remittance saved to {path}."

    def import_file(self, path: str) -> None:
        if path:
            self.env.act(lambda: self._import(Path(path)), self._imported)

    def _import(self, path: Path) -> ImportResult:
        return import_remittance_file(self.ctx, self.env.actor, path.read_bytes(), path.name)

    def _imported(self, result: ImportResult) -> None:
        self.env.notify(result.message)
        self.refresh()

    def _ask_reason(self) -> str:
        text, ok = QInputDialog.getText(self, "Reject write-off", "Why is this write-off rejected?")
        return text if ok else ""

    def _decide(self, approve: bool, reason: str) -> None:
        posting_id = self.held.currentData()
        if posting_id is None or (not approve and not reason.strip()):
            self.env.notify("Choose a held write-off first" if posting_id is None else "A reason is needed to reject.")
            return
        self.env.act(
            lambda: decide_writeoff(self.ctx, self.env.actor, posting_id, approve=approve, reason=reason), self._done
        )

    def _run_on_selected(self, op: Callable[[int], Any]) -> None:
        row = self.current_row()
        if row is None:
            self.env.notify("Select a remittance first.")
            return
        self.env.act(lambda: op(row.id), self._done)

    def _done(self, result: Any) -> None:
        self.env.notify(str(getattr(result, "message", result)))
        self.refresh()
        self._load_detail()

    def _load_detail(self, *_: Any) -> None:
        row = self.current_row()
        if row is None:
            return
        rid = row.id

        def load() -> RemittanceDetail:
            return self.ctx.query(remittance_detail, rid)

        self.run_db(load, self._show_detail)

    def _show_detail(self, d: RemittanceDetail | BaseException) -> None:
        if isinstance(d, BaseException):
            self.env.show_error(d)
            return
        self.detail.setHtml(render_detail(d))
        self.held.clear()
        for p in d.held:
            self.held.addItem(f"#{p.id} {p.kind} {fmt(p.amount)} {p.claim}", p.id)
        self.held.setCurrentIndex(0 if d.held else -1)
