"""Payouts: marketplace payouts per source with status; drill down to lines and the sales they matched;
resolve a variance, release a held journal, fetch now, import a statement CSV through a column mapping."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.imports.csv_mapping import ColumnMapping, suggest_mapping
from app.payouts.detail import PayoutDetail, payout_detail
from app.payouts.formats import PAYOUT_CSV_SCHEMA
from app.payouts.journal import release_payout, resolve_variance
from app.payouts.ledger_match import reconcile_received
from app.payouts.service import SOURCES, import_settlement, load_mapping, save_mapping
from app.queries import money_views as mv
from app.queries.paging import ListQuery, Page
from app.routes import poll_provider
from ui.env import ViewEnv
from ui.format import fmt
from ui.widgets.list_page import ListPage
from ui.widgets.paged_table import Column

LINE_HEADERS = ["Booking", "Patient", "Service date", "Gross", "Fees", "Net", "Status", "Rule", "Variance", "Sale"]
STATUSES = [(s.capitalize(), s) for s in ("received", "matched", "variance", "held", "posted")]
NONE = "(not in this file)"


def sniff_header(data: bytes) -> tuple[list[str], str]:
    """The header cells of a statement CSV and its delimiter (the commonest of , ; tab |)."""
    first = data.decode("utf-8-sig", errors="replace").splitlines()[0] if data else ""
    delimiter = max(",;\t|", key=first.count)
    return [cell.strip().strip('"') for cell in first.split(delimiter)], delimiter


class MappingDialog(QDialog):
    """Header → field combos, prefilled from the source's saved mapping, else guessed by suggest_mapping."""

    def __init__(self, header: list[str], delimiter: str, saved: ColumnMapping, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mappingDialog")
        self.setWindowTitle(f"Columns of the {saved.source} statement")
        self.saved = saved
        guessed = suggest_mapping(header, PAYOUT_CSV_SCHEMA)
        form = QFormLayout()
        self.combos: dict[str, QComboBox] = {}
        for spec in PAYOUT_CSV_SCHEMA.fields:
            combo = QComboBox()
            combo.setObjectName(f"map_{spec.name}")
            combo.addItem(NONE, "")
            for column in header:
                combo.addItem(column, column)
            chosen = saved.columns.get(spec.name)
            combo.setCurrentIndex(max(0, combo.findData(chosen if chosen in header else guessed.get(spec.name, ""))))
            label = spec.name.replace("_", " ") + ("" if spec.required else " (optional)")
            form.addRow(label, combo)
            self.combos[spec.name] = combo
        self.delimiter = QLineEdit(delimiter, maxLength=1)
        self.delimiter.setObjectName("delimiter")
        self.date_format = QLineEdit(saved.date_formats[0])
        self.date_format.setObjectName("dateFormat")
        form.addRow("Delimiter", self.delimiter)
        form.addRow("Date format", self.date_format)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Choose which column of the file feeds each field. It is saved for this source."))
        layout.addLayout(form)
        layout.addWidget(buttons)

    def mapping(self) -> ColumnMapping:
        columns = {name: combo.currentData() for name, combo in self.combos.items() if combo.currentData()}
        base = self.saved.to_dict()
        base.update(columns=columns, delimiter=self.delimiter.text() or ",", date_formats=(self.date_format.text(),))
        return ColumnMapping(**base)


@dataclass(frozen=True, slots=True)
class PreparedImport:
    source: str
    filename: str
    data: bytes
    header: list[str]
    delimiter: str
    saved: ColumnMapping | None


class PayoutsView(ListPage):
    def __init__(self, env: ViewEnv) -> None:
        self.env = env
        ctx = env.ctx

        def fetch(q: ListQuery) -> Page[Any]:
            return ctx.query(mv.list_payouts, q)

        super().__init__(
            title="Payouts",
            subtitle="ClassPass and Treatwell payouts reconciled to the sales ledger",
            columns=[
                Column("Source", "source", "source", 90),
                Column("Payout", "provider_ref", "", 180),
                Column("Date", "payout_date", "payout_date", 100),
                Column("Net", "expected", "expected", 90),
                Column("Status", "status", "", 90),
            ],
            fetch=fetch,
            run_db=env.run_db,
            default_sort="payout_date",
            object_name="payoutsView",
            statuses=STATUSES,
            empty_text="No marketplace payouts yet.\n\nSet up ClassPass or Treatwell in Settings → Providers, "
            "press Fetch now, or import a statement CSV.",
        )
        self.detail_renderer = None
        self.source = QComboBox()
        self.source.setObjectName("sourceFilter")
        self.source.addItem("All marketplaces", ",".join(SOURCES))
        for name in SOURCES:
            self.source.addItem(name.capitalize(), name)
        self.source.currentIndexChanged.connect(self.apply_filters)
        self.extra_filters.addWidget(self.source)
        self.lines = QTableWidget(0, len(LINE_HEADERS))
        self.lines.setObjectName("payoutLines")
        self.lines.setHorizontalHeaderLabels(LINE_HEADERS)
        self.lines.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.lines.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.lines.horizontalHeader().setStretchLastSection(True)
        right = QSplitter(Qt.Orientation.Vertical)
        outer = self.detail.parentWidget()
        assert isinstance(outer, QSplitter)
        outer.insertWidget(1, right)
        right.addWidget(self.detail)
        right.addWidget(self.lines)
        right.setSizes([150, 450])
        outer.setSizes([560, 740])
        self.lines.verticalHeader().setVisible(False)
        self.line_ids: list[int] = []
        self.add_action("Fetch now", self._fetch, "fetchNow")
        self.add_action("Reconcile", self._reconcile, "reconcile")
        self.add_action("Import statement…", self._import, "importStatement")
        self.add_action("Resolve variance…", self._resolve, "resolveVariance")
        self.add_action("Release journal…", self._release, "releaseJournal")
        # seams for tests: how the view asks the user
        self.ask_text: Callable[[str, str], str] = self._ask_text
        self.choose_file: Callable[[], str] = self._choose_file
        self.confirm_mapping: Callable[[MappingDialog], bool] = lambda d: d.exec() == QDialog.DialogCode.Accepted
        self.table.selectionModel().selectionChanged.connect(self._load_detail)
        self.refresh()

    def query(self) -> ListQuery:
        return replace(super().query(), extra=(("sources", str(self.source.currentData())),))

    # ------------------------------------------------------------ asking
    def _ask_text(self, title: str, label: str) -> str:
        text, ok = QInputDialog.getText(self, title, label)
        return text if ok else ""

    def _choose_file(self) -> str:
        return QFileDialog.getOpenFileName(self, "Import a settlement", "", "Statements (*.csv *.json)")[0]

    # ------------------------------------------------------------ slots (one line each)
    def _fetch(self) -> None:
        self.fetch_now("classpass")

    def _reconcile(self) -> None:
        self.reconcile()

    def _import(self) -> None:
        self.start_import(self.choose_file())

    def _resolve(self) -> None:
        self.resolve_selected(self.ask_text("Resolve variance", "Why is this variance acceptable?"))

    def _release(self) -> None:
        self.release_selected(self.ask_text("Release journal", "Why may this payout's journal be posted?"))

    # ------------------------------------------------------------ operations
    def _done(self, message: str) -> None:
        self.env.notify(message)
        self.refresh()
        self._load_detail()

    def fetch_now(self, source: str) -> None:
        ctx = self.env.ctx
        self.env.act(lambda: poll_provider(ctx, source), lambda text: self._done(str(text)), network=True)

    def reconcile(self) -> None:
        ctx, actor = self.env.ctx, self.env.actor
        self.env.act(
            lambda: reconcile_received(ctx, actor),
            lambda run: self._done(
                f"{run.payouts} payout(s) reconciled: {run.matched} matched, {run.variance + run.unmatched} variance"
            ),
        )

    def start_import(self, path: str) -> None:
        if path:
            self.env.act(lambda: self._prepare(Path(path)), self.ask_mapping)

    def _prepare(self, path: Path) -> PreparedImport:
        data = path.read_bytes()
        if path.suffix.lower() == ".json":
            return PreparedImport("classpass", path.name, data, [], ",", None)
        header, delimiter = sniff_header(data)
        saved = self.env.ctx.query(load_mapping, "treatwell")
        return PreparedImport("treatwell", path.name, data, header, delimiter, saved)

    def ask_mapping(self, prepared: PreparedImport) -> None:
        if prepared.saved is None:
            self.run_import(prepared, None)
            return
        dialog = MappingDialog(prepared.header, prepared.delimiter, prepared.saved, self)
        if self.confirm_mapping(dialog):
            self.run_import(prepared, dialog.mapping())

    def run_import(self, prepared: PreparedImport, mapping: ColumnMapping | None) -> None:
        ctx, actor = self.env.ctx, self.env.actor

        def work() -> Any:
            if mapping is not None:
                ctx.change(save_mapping, ctx.clock, actor, mapping)
            return import_settlement(ctx, actor, prepared.source, prepared.filename, prepared.data, mapping)

        self.env.act(work, lambda result: self._done(result.changes.message))

    def selected_line(self) -> int | None:
        rows = self.lines.selectionModel().selectedRows()
        return self.line_ids[rows[0].row()] if rows else None

    def resolve_selected(self, reason: str) -> None:
        line_id = self.selected_line()
        if line_id is None or not reason:
            self.env.notify("Select a line with a variance and give a reason.")
            return
        ctx, actor = self.env.ctx, self.env.actor
        self.env.act(lambda: resolve_variance(ctx, actor, line_id, reason), lambda c: self._done(c.message))

    def release_selected(self, reason: str) -> None:
        row = self.current_row()
        if row is None or not reason:
            self.env.notify("Select a held payout and give a reason.")
            return
        ctx, actor, payout_id = self.env.ctx, self.env.actor, row.id
        self.env.act(
            lambda: release_payout(ctx, actor, payout_id, reason),
            lambda posted: self._done(f"Released; journal {', '.join(posted) or 'already posted'}."),
        )

    # ------------------------------------------------------------ detail
    def _load_detail(self, *_: Any) -> None:
        row = self.current_row()
        if row is None:
            return
        ctx, payout_id = self.env.ctx, row.id

        def load() -> PayoutDetail:
            return ctx.query(payout_detail, payout_id)

        self.env.run_db(load, self.show_detail)

    def show_detail(self, d: PayoutDetail | BaseException) -> None:
        if isinstance(d, BaseException):
            self.env.show_error(d)
            return
        held = f"<p style='color:#a40'><b>Held:</b> {html.escape(d.held_reason)}</p>" if d.held_reason else ""
        self.detail.setHtml(
            f"<h3>{html.escape(d.source)} payout {html.escape(d.provider_ref)} · {fmt(d.status)}</h3>"
            f"<p>Paid {fmt(d.payout_date)} · Net {fmt(d.total)} · {len(d.lines)} line(s)</p>{held}"
        )
        self.line_ids = [ln.id for ln in d.lines]
        self.lines.setRowCount(len(d.lines))
        for r, ln in enumerate(d.lines):
            cells = [ln.booking_id, ln.patient_ref, fmt(ln.service_date), fmt(ln.gross), fmt(ln.deductions)]
            cells += [fmt(ln.net), ln.status, ln.rule, fmt(ln.variance), ln.sale]
            for c, text in enumerate(cells):
                self.lines.setItem(r, c, QTableWidgetItem(text))
