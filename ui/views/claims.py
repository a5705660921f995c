"""Claims: filter by status, lane, insurer, clinic, practitioner, service dates and text; detail with
timeline, artefacts and risk reasons; the actions of each stage for the selected claim(s); the code
mapping table behind the coding audit."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QComboBox, QDateEdit, QFileDialog, QInputDialog, QLineEdit, QToolButton, QWidget

from app.audit import Actor
from app.claims.dispatch import send_queued_now
from app.claims.lanes import LANES, claims_in_lane
from app.claims.preflight import check_claim
from app.claims.service import correct_claim, return_for_rework, void_claim
from app.claims.submission import approve_and_submit, export_artefacts, pack_claim, submit_all_ready, submit_claim
from app.context import AppContext
from app.domain.status import ClaimStatus
from app.errors import ClinicBillingError
from app.queries.claims import ClaimDetail, ClaimRow, claim_detail, filter_choices
from app.queries.paging import ListQuery, Page
from ui.env import ViewEnv
from ui.format import fmt
from ui.views.code_mappings import CodeMappingsDialog
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

NEXT_STEP = {
    ClaimStatus.DRAFT: "Check it (eligibility, coding audit, denial risk).",
    ClaimStatus.READY: "Pack it to see what will be sent, then Submit.",
    ClaimStatus.NEEDS_REVIEW: "A reviewer approves (it is then submitted) or returns it.",
    ClaimStatus.QUEUED: "Waiting to be sent; it goes out when the insurer is reachable.",
    ClaimStatus.SUBMITTED: "Waiting for the insurer's acknowledgement.",
    ClaimStatus.ACKNOWLEDGED: "Waiting for the insurer's decision.",
    ClaimStatus.REJECTED: "Read the task, fix the cause, then Correct & resubmit.",
    ClaimStatus.CORRECTED: "Check it again, then Submit.",
}

Op = Callable[[AppContext, Actor, int], object]
NO_DATE = QDate(2000, 1, 1)  # the lowest date a filter accepts stands for "any date"


class ServiceDateEdit(QDateEdit):
    """A service-date bound with a "no date" state: shows ``blank_text`` and gives None until a day is picked."""

    def __init__(self, name: str, blank_text: str) -> None:
        super().__init__(objectName=name, calendarPopup=True, displayFormat="dd MMM yyyy")
        self.setMinimumDate(NO_DATE)
        self.setSpecialValueText(blank_text)
        self.setDate(NO_DATE)

    def day(self) -> date | None:
        d = self.date()
        return None if d == NO_DATE else date(d.year(), d.month(), d.day())

    def set_day(self, day: date | None) -> None:
        self.setDate(NO_DATE if day is None else QDate(day.year, day.month, day.day))


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
    step = NEXT_STEP.get(r.status, "")
    return (
        f"<h3>{r.number} · {fmt(r.status)}</h3>"
        + (f"<p style='color:#1f4e79'><b>Next:</b> {html.escape(step)}</p>" if step else "")
        + f"<p><b>{html.escape(r.patient)}</b> · {html.escape(r.payer)} · {html.escape(r.practitioner)}<br>"
        f"Service {fmt(r.service_date)} · Total {fmt(r.total)} · Paid {fmt(r.paid)}<br>"
        f"Authorisation: {html.escape(d.authorisation_number or 'none')} · Insurer ref: "
        f"{html.escape(r.insurer_ref or '—')}</p>"
        f"<h4>Lines</h4><table cellpadding=3><tr><th>#</th><th>Clinic code</th><th>Insurer code</th>"
        f"<th>Description</th><th>Units</th><th>Amount</th></tr>{lines}</table>"
        f"<h4>Denial risk {'' if d.risk_score is None else d.risk_score}</h4><ul>{reasons}</ul>"
        f"<h4>Artefacts</h4><ul>{arts}</ul><h4>Timeline</h4><ul>{timeline}</ul>"
    )


def for_each(ctx: AppContext, actor: Actor, ids: Sequence[int], op: Op) -> Callable[[], str]:
    """One claim: its error is shown as is. Several: each is tried and the problems are listed."""

    def run() -> str:
        if len(ids) == 1:
            return str(op(ctx, actor, ids[0]))
        done, failed = [], []
        for claim_id in ids:
            try:
                done.append(str(op(ctx, actor, claim_id)))
            except ClinicBillingError as exc:
                failed.append(str(exc))
        return f"{len(done)} done" + (f"; {len(failed)} not: " + " · ".join(failed[:3]) if failed else "")

    return run


def correct_and_resubmit(note: str, authorisation: str) -> Op:
    def op(ctx: AppContext, actor: Actor, claim_id: int) -> str:
        correct_claim(ctx, actor, claim_id, note, authorisation_number=authorisation or None)
        return submit_claim(ctx, actor, claim_id)

    return op


def with_reason(op: Callable[[AppContext, Actor, int, str], object], reason: str) -> Op:
    return lambda ctx, actor, claim_id: op(ctx, actor, claim_id, reason)


def _ask_text(parent: QWidget, title: str, label: str) -> str | None:
    text, ok = QInputDialog.getText(parent, title, label, QLineEdit.EchoMode.Normal, "")
    return text if ok else None


def _ask_folder(parent: QWidget) -> str | None:
    return QFileDialog.getExistingDirectory(parent, "Save the claim's artefacts to") or None


class ClaimsView(ListPage):
    def __init__(self, env: ViewEnv) -> None:
        self.env = env
        self.ctx = ctx = env.ctx
        self.lane = QComboBox(objectName="laneFilter")

        def fetch(q: ListQuery) -> Page[ClaimRow]:
            return ctx.query(claims_in_lane, q, dict(q.extra).get("lane", ""), ctx.clock.now())

        super().__init__(
            title="Claims",
            subtitle="Insurer claims from signed-off encounter to payment",
            columns=COLUMNS,
            fetch=fetch,
            run_db=env.run_db,
            default_sort="updated_at",
            statuses=[(fmt(s), s.value) for s in ClaimStatus],
            object_name="claimsView",
            empty_text="No claims match.\n\nClaims appear here when an insured patient's encounter is "
            "signed off. Clear the filters, or sign off encounters in your practice system.",
        )
        self.detail_renderer = None
        self.ask_text: Callable[[str, str], str | None] = lambda title, label: _ask_text(self, title, label)
        self.ask_folder: Callable[[], str | None] = lambda: _ask_folder(self)
        for key, label in LANES.items():
            self.lane.addItem(label, key)
        self.lane.currentIndexChanged.connect(self.apply_filters)
        self.extra_filters.addWidget(self.lane)
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
        self.date_from = ServiceDateEdit("dateFrom", "Service from: any")
        self.date_to = ServiceDateEdit("dateTo", "Service to: any")
        clear = QToolButton(objectName="clearDates", text="Any date", toolTip="Clear the service-date filter")
        for edit in (self.date_from, self.date_to):
            edit.dateChanged.connect(self.apply_filters)
            self.extra_filters.addWidget(edit)
        clear.clicked.connect(self.clear_dates)
        self.extra_filters.addWidget(clear)
        for text, slot, name in (
            ("Check", self.check, "checkClaim"),
            ("Pack", self.pack, "packClaim"),
            ("Submit", self.submit, "submitClaim"),
            ("Approve risk…", self.approve, "approveRisk"),
            ("Return…", self.return_to_draft, "returnClaim"),
            ("Void…", self.void, "voidClaim"),
            ("Correct && resubmit…", self.correct, "correctClaim"),
            ("Submit all ready", self.submit_all, "submitAllReady"),
            ("Send queued now", self.send_now, "sendNow"),
            ("Save to folder…", self.save, "saveArtefacts"),
            ("Code mappings…", self.open_mappings, "codeMappings"),
        ):
            self.add_action(text, slot, name)
        self.table.selectionModel().selectionChanged.connect(self._load_detail)
        env.run_db(self._choices, self._fill_choices)

    # ------------------------------------------------------------------ filters and detail

    def _choices(self) -> dict[str, list[tuple[int, str]]]:
        return self.ctx.query(filter_choices)

    def _fill_choices(self, choices: dict[str, list[tuple[int, str]]] | BaseException) -> None:
        if isinstance(choices, BaseException):
            return
        for combo, key in ((self.payer, "payers"), (self.clinic, "clinics"), (self.practitioner, "practitioners")):
            for ident, name in choices[key]:
                combo.addItem(name, ident)

    def query(self) -> ListQuery:
        return replace(
            super().query(),
            payer_id=self.payer.currentData(),
            clinic_id=self.clinic.currentData(),
            practitioner_id=self.practitioner.currentData(),
            date_from=self.date_from.day(),
            date_to=self.date_to.day(),
            extra=(("lane", self.lane.currentData() or ""),),
        )

    def clear_dates(self) -> None:
        self.date_from.set_day(None)
        self.date_to.set_day(None)

    def _load_detail(self, *_: Any) -> None:
        row = self.current_row()
        if row is None:
            return
        claim_id = row.id

        def load() -> ClaimDetail:
            return self.ctx.query(claim_detail, claim_id)

        self.run_db(load, self._show_detail)

    def _show_detail(self, d: ClaimDetail | BaseException) -> None:
        if not isinstance(d, BaseException):
            self.detail.setHtml(render_detail(d))

    # ------------------------------------------------------------------ stage actions

    def _ids(self) -> list[int]:
        return [r.id for r in self.selected_rows()]

    def _run(self, op: Op, *, network: bool = False) -> None:
        self.env.act(for_each(self.ctx, self.env.actor, self._ids(), op), self._done, network=network)

    def _done(self, message: object) -> None:
        self.env.notify(str(message))
        self.refresh()
        self._load_detail()

    def _asked(self, title: str, label: str, op: Callable[[AppContext, Actor, int, str], object]) -> None:
        reason = self.ask_text(title, label)
        if reason is not None:
            self._run(with_reason(op, reason))

    def check(self) -> None:
        self._run(check_claim, network=True)

    def pack(self) -> None:
        self._run(pack_claim)

    def submit(self) -> None:
        self._run(submit_claim)

    def approve(self) -> None:
        self._asked("Approve and submit", "Why may this claim go despite its denial risk?", approve_and_submit)

    def return_to_draft(self) -> None:
        self._asked("Return to draft", "What must be fixed before it can go?", return_for_rework)

    def void(self) -> None:
        self._asked("Void claim", "Why is this claim withdrawn?", void_claim)

    def correct(self) -> None:
        note = self.ask_text("Correct & resubmit", "What was corrected?")
        auth = None if note is None else self.ask_text("Correct & resubmit", "New authorisation number (blank: keep)")
        if note is not None and auth is not None:
            self._run(correct_and_resubmit(note, auth.strip()))

    def submit_all(self) -> None:
        self.env.act(lambda: str(submit_all_ready(self.ctx, self.env.actor)), self._done)

    def send_now(self) -> None:
        self.env.act(lambda: send_queued_now(self.ctx, self.env.actor), self._done, network=True)

    def save(self) -> None:
        folder, ids = self.ask_folder(), self._ids()
        if folder and ids:
            self.env.act(lambda: export_artefacts(self.ctx, ids[0], Path(folder)), self._saved)

    def _saved(self, paths: list[Path]) -> None:
        self.env.notify(f"Saved {len(paths)} file(s) to {paths[0].parent if paths else 'the folder'}.")

    def open_mappings(self) -> None:
        CodeMappingsDialog(self.env, self).open()
