"""Shift close-out: today's shift front and centre (what is left, big numbers, the cash count, one
"Close shift" action, "Print shift report"), and every other shift listed below."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QImage
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.domain.status import ShiftStatus
from app.errors import ValidationFailed
from app.money import Money
from app.queries import money_views as mv
from app.queries.paging import ListQuery, Page
from app.reports.shift_model import UK_DENOMINATIONS, DenominationCount
from app.shifts.report import shift_report_pdf
from app.shifts.service import ShiftSummary, close_out, counted_total, record_cash_count, todays_shift
from app.shifts.sync import refresh_all
from ui.env import ViewEnv
from ui.format import fmt
from ui.printing import ask_and_print, render_pages
from ui.widgets.list_page import ListPage
from ui.widgets.paged_table import Column

_BIG = "font-size:22px; font-weight:600;"


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


class _Figure(QFrame):
    def __init__(self, caption: str) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.value = QLabel("—")
        self.value.setStyleSheet(_BIG)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<span style='color:#555'>{caption}</span>"))
        layout.addWidget(self.value)


class TodayPanel(QWidget):
    """The shift at the counter now: to-do, big numbers, cash count, close and print."""

    def __init__(self, env: ViewEnv, on_changed: Callable[[], None]) -> None:
        super().__init__()
        self.setObjectName("todayShift")
        self.env = env
        self.on_changed = on_changed
        self.summary: ShiftSummary | None = None
        self.heading = QLabel("<h3 style='margin:0'>No shift at the counter right now</h3>")
        self.todo = QLabel("")
        self.todo.setObjectName("todo")
        self.todo.setWordWrap(True)
        self.figures = {name: _Figure(name) for name in ("Takings", "Card fees", "Expected deposit", "Expected cash")}
        figures = QHBoxLayout()
        for fig in self.figures.values():
            figures.addWidget(fig)
        self.counts: dict[int, QSpinBox] = {}
        grid = QGridLayout()
        for i, d in enumerate(UK_DENOMINATIONS):
            box = QSpinBox(maximum=100_000)
            box.setObjectName(f"count_{d}")
            box.valueChanged.connect(self._show_counted)
            self.counts[d] = box
            grid.addWidget(QLabel(DenominationCount(Money(d), 0).label), i // 6 * 2, i % 6)
            grid.addWidget(box, i // 6 * 2 + 1, i % 6)
        self.counted = QLabel("Counted: £0.00")
        self.counted.setObjectName("counted")
        self.counted.setMinimumWidth(260)
        self.reason = QLineEdit(placeholderText="Reason for any cash difference")
        self.reason.setObjectName("reason")
        self.save_count = QPushButton("Save count")
        self.close_button = QPushButton("Close shift")
        self.close_button.setObjectName("closeShift")
        self.close_button.setStyleSheet("font-weight:600; padding:6px 18px;")
        self.print_button = QPushButton("Print shift report…")
        self.print_button.setObjectName("printReport")
        self.save_button = QPushButton("Save PDF…")
        self.save_button.setObjectName("saveReport")
        self.save_button.clicked.connect(self.ask_where_to_save)
        self.save_count.clicked.connect(self.save_count_now)
        self.close_button.clicked.connect(self.close_shift_now)
        self.print_button.clicked.connect(self.print_report)
        actions = QHBoxLayout()
        for w in (self.counted, self.reason, self.save_count, self.close_button, self.print_button, self.save_button):
            actions.addWidget(w)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.todo)
        layout.addLayout(figures)
        layout.addLayout(grid)
        layout.addLayout(actions)

    # ---------------------------------------------------------------- loading

    def reload(self) -> None:
        ctx, actor = self.env.ctx, self.env.actor

        def load() -> ShiftSummary | None:
            return ctx.change(todays_shift, ctx.clock, actor)

        self.env.run_db(load, self.display)

    def display(self, summary: ShiftSummary | BaseException | None) -> None:
        if isinstance(summary, BaseException):
            self.env.show_error(summary)
            return
        self.summary = summary
        enabled = summary is not None and summary.status is not ShiftStatus.CLOSED
        for w in (self.close_button, self.save_count, self.reason, *self.counts.values()):
            w.setEnabled(enabled)
        self.print_button.setEnabled(summary is not None)
        self.save_button.setEnabled(summary is not None)
        if summary is None:
            return
        self.heading.setText(
            f"<h3 style='margin:0'>{summary.desk} · {summary.clinic} · "
            f"{fmt(summary.starts_at)} – {fmt(summary.ends_at)[-5:]}"
            f" <span style='color:#555'>({fmt(summary.status)})</span></h3>"
        )
        steps = "".join(f"<li>{step}</li>" for step in summary.to_do) or "<li>Nothing: the shift is closed.</li>"
        as_of = summary.provider_data_as_of
        stale = f"<p>Provider data as of {fmt(as_of)[-5:]}</p>" if as_of else ""
        self.todo.setText(f"<b>Left to do</b><ul style='margin:0'>{steps}</ul>{stale}")
        values = (summary.gross, summary.card_fees, summary.expected_deposit, summary.expected_cash)
        for fig, value in zip(self.figures.values(), values, strict=True):
            fig.value.setText(str(value))
        for d, box in self.counts.items():
            box.blockSignals(True)
            box.setValue(summary.cash_count.get(d, 0))
            box.blockSignals(False)
        self.reason.setText(summary.difference_reason)
        self._show_counted()

    def count(self) -> dict[int, int]:
        return {d: box.value() for d, box in self.counts.items() if box.value()}

    def _show_counted(self) -> None:
        try:
            counted = counted_total(self.count())
        except ValidationFailed as exc:
            self.counted.setText(str(exc))
            return
        diff = f" (difference {counted - self.summary.expected_cash})" if self.summary else ""
        self.counted.setText(f"Counted: {counted}{diff}")

    # ---------------------------------------------------------------- actions (one line each)

    def save_count_now(self) -> None:
        self.env.act(self._save_count_op(), self._changed)

    def close_shift_now(self) -> None:
        self.env.act(self._close_op(), self._changed, network=True)

    def ask_where_to_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save shift report", "shift-report.pdf", "PDF (*.pdf)")
        self.save_report_to(path)

    def print_report(self) -> None:
        if self.summary is not None:
            ctx, sid = self.env.ctx, self._sid()
            self.env.act(lambda: render_pages(shift_report_pdf(ctx, sid)), self._print_pages)

    def _print_pages(self, pages: list[QImage]) -> None:
        if ask_and_print(self, pages, "shift report"):
            self.env.notify(f"Shift report sent to the printer ({len(pages)} page(s)); a copy is in the archive.")

    def save_report_to(self, path: str) -> None:
        if path and self.summary is not None:
            self.env.act(self._report_op(path), self._open_report)

    # ---------------------------------------------------------------- operations (run in the background)

    def _save_count_op(self) -> Callable[[], ShiftSummary]:
        env, sid, counts = self.env, self._sid(), self.count()
        return lambda: record_cash_count(env.ctx.db, env.ctx.clock, env.actor, sid, counts)

    def _close_op(self) -> Callable[[], ShiftSummary]:
        env, sid, counts, reason = self.env, self._sid(), self.count(), self.reason.text()
        return lambda: close_out(env.ctx, env.actor, sid, counts=counts, reason=reason)

    def _report_op(self, path: str) -> Callable[[], str]:
        ctx, sid = self.env.ctx, self._sid()

        def write() -> str:
            Path(path).write_bytes(shift_report_pdf(ctx, sid))
            return path

        return write

    def _sid(self) -> int:
        assert self.summary is not None
        return self.summary.id

    def _changed(self, summary: ShiftSummary) -> None:
        self.display(summary)
        self.env.notify(f"Shift {summary.id}: {fmt(summary.status)}")
        self.on_changed()

    def _open_report(self, path: str) -> None:
        self.env.notify(f"Shift report saved to {path}: print it from your PDF viewer.")
        QDesktopServices.openUrl(QUrl.fromLocalFile(path))


class ShiftsView(ListPage):
    def __init__(self, env: ViewEnv) -> None:
        ctx, run_db = env.ctx, env.run_db

        def fetch(q: ListQuery) -> Page[mv.ShiftRow]:
            return ctx.query(mv.list_shifts, q)

        super().__init__(
            title="Shift close-out",
            subtitle="Today's shift at the counter; every other shift below",
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
            empty_text="No shifts yet. Set the cash-drawer schedule in Settings → Runbooks; shifts open automatically.",
        )
        self.env = env
        self.add_action("Fetch card takings now", self.fetch_takings, "fetchTakings")
        self.today = TodayPanel(env, self.refresh)
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(1, self.today)
        self.today.reload()

    def fetch_takings(self) -> None:
        """Poll Stripe and Square now (on demand; the scheduler also does it every 2 h / hourly)."""
        ctx = self.env.ctx
        self.env.act(lambda: refresh_all(ctx, self.env.actor), self._fetched, network=True)

    def _fetched(self, report: dict[str, object]) -> None:
        if not report:
            self.env.notify("No card provider is set up: add Stripe or Square in Settings → Providers.")
        else:
            self.env.notify("; ".join(f"{provider}: {result}" for provider, result in report.items()))
        self.today.reload()
        self.refresh()
