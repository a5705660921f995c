"""The code mapping table behind the coding audit: one clinic's procedure codes mapped to one insurer's
codes. Users see the rows, edit or add one (front desk, manager, administrator), end-date a row, or
replace the whole table from a CSV file (all or nothing; every problem in the file is listed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.claims.coding import MAPPING_COLUMNS
from app.claims.mapping_store import MappingRow, add_mapping, edit_mapping, import_mappings, list_mappings
from app.errors import ParseError
from app.queries.claims import filter_choices
from app.users import ROLE_PERMISSIONS, Permission
from ui.env import ViewEnv
from ui.format import fmt

HEADERS = ("Clinic code", "Insurer code", "Description", "Valid from", "Valid to", "Requires authorisation")


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _day(edit: QDateEdit) -> date:
    d = edit.date()
    return date(d.year(), d.month(), d.day())


def _cells(row: MappingRow) -> tuple[str, ...]:
    return (
        row.clinic_code,
        row.insurer_code,
        row.description,
        fmt(row.valid_from),
        fmt(row.valid_to) if row.valid_to else "open",
        "yes" if row.requires_authorisation else "no",
    )


class CodeMappingsDialog(QDialog):
    def __init__(self, env: ViewEnv, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="codeMappingsDialog", windowTitle="Code mappings")
        self.env, self.ctx = env, env.ctx
        self.rows: list[MappingRow] = []
        self.ask_file: Callable[[], str | None] = lambda: (
            QFileDialog.getOpenFileName(self, "Import code mappings", "", "CSV files (*.csv)")[0] or None
        )
        allowed = ROLE_PERMISSIONS[env.actor.role]
        may_edit = bool(allowed & {Permission.PREPARE_CLAIMS, Permission.MANAGE_SETTINGS})

        self.clinic = QComboBox(objectName="mappingClinic")
        self.payer = QComboBox(objectName="mappingInsurer")
        self.import_button = QPushButton("Import CSV…", objectName="importMappings")
        self.import_button.setEnabled(Permission.IMPORT_FILES in allowed)
        self.import_button.setToolTip(
            "Replaces this clinic's mappings for the insurer; columns: " + ", ".join(MAPPING_COLUMNS)
        )
        choose = QHBoxLayout()
        for label, widget in (("Clinic", self.clinic), ("Insurer", self.payer)):
            choose.addWidget(QLabel(label))
            choose.addWidget(widget, 1)
        choose.addWidget(self.import_button)

        self.table = QTableWidget(0, len(HEADERS), objectName="mappingTable")
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.empty = QLabel("No mappings for this clinic and insurer: import a CSV file or add a row.")

        self.clinic_code = QLineEdit(objectName="clinicCode", placeholderText="e.g. PHY01")
        self.insurer_code = QLineEdit(objectName="insurerCode", placeholderText="the insurer's code")
        self.description = QLineEdit(objectName="description")
        self.valid_from = QDateEdit(objectName="validFrom", calendarPopup=True, displayFormat="dd MMM yyyy")
        self.ends = QCheckBox("Ends on", objectName="ends")
        self.valid_to = QDateEdit(objectName="validTo", calendarPopup=True, displayFormat="dd MMM yyyy")
        self.authorisation = QCheckBox("Requires pre-authorisation", objectName="requiresAuthorisation")
        self.valid_from.setDate(_qdate(self.ctx.clock.now().date()))
        self.valid_to.setDate(self.valid_from.date())
        self.ends.toggled.connect(self.valid_to.setEnabled)
        self.valid_to.setEnabled(False)
        ending = QHBoxLayout()
        ending.addWidget(self.ends)
        ending.addWidget(self.valid_to, 1)
        form = QFormLayout()
        form.addRow("Clinic code", self.clinic_code)
        form.addRow("Insurer code", self.insurer_code)
        form.addRow("Description", self.description)
        form.addRow("Valid from", self.valid_from)
        form.addRow("Valid to", ending)
        form.addRow("", self.authorisation)
        self.save_button = QPushButton("Save changes to the selected row", objectName="saveMapping")
        self.add_button = QPushButton("Add as a new row", objectName="addMapping")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.save_button, self.add_button):
            button.setEnabled(may_edit)
            buttons.addWidget(button)
        if not may_edit:
            buttons.insertWidget(0, QLabel(f"{env.actor.username} may look at the mappings but not change them."))

        layout = QVBoxLayout(self)
        layout.addLayout(choose)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addLayout(form)
        layout.addLayout(buttons)
        self.resize(860, 560)

        self.table.itemSelectionChanged.connect(self._load_form)
        self.import_button.clicked.connect(self.import_csv)
        self.save_button.clicked.connect(self.save)
        self.add_button.clicked.connect(self.add)
        env.run_db(self._choices, self._fill_choices)

    # ------------------------------------------------------------------ loading

    def _choices(self) -> dict[str, list[tuple[int, str]]]:
        return self.ctx.query(filter_choices)

    def _fill_choices(self, choices: dict[str, list[tuple[int, str]]] | BaseException) -> None:
        if isinstance(choices, BaseException):
            self.env.show_error(choices)
            return
        for combo, key in ((self.clinic, "clinics"), (self.payer, "payers")):
            for ident, name in choices[key]:
                combo.addItem(name, ident)
            combo.currentIndexChanged.connect(self.reload)
        self.reload()

    def _chosen(self) -> tuple[int, int] | None:
        clinic, payer = self.clinic.currentData(), self.payer.currentData()
        return None if clinic is None or payer is None else (int(clinic), int(payer))

    def reload(self) -> None:
        self.env.run_db(self._rows_of(self._chosen()), self._show)

    def _rows_of(self, chosen: tuple[int, int] | None) -> Callable[[], list[MappingRow]]:
        def load() -> list[MappingRow]:
            if chosen is None:
                return []
            return self.ctx.query(list_mappings, *chosen)

        return load

    def _show(self, rows: list[MappingRow] | BaseException) -> None:
        if isinstance(rows, BaseException):
            self.env.show_error(rows)
            return
        self.rows = rows
        self.table.clearSelection()
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(_cells(row)):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.empty.setVisible(not rows)

    def selected(self) -> MappingRow | None:
        indexes = self.table.selectionModel().selectedRows()
        return self.rows[indexes[0].row()] if indexes else None

    def _load_form(self) -> None:
        row = self.selected()
        if row is None:
            return
        self.clinic_code.setText(row.clinic_code)
        self.insurer_code.setText(row.insurer_code)
        self.description.setText(row.description)
        self.valid_from.setDate(_qdate(row.valid_from))
        self.ends.setChecked(row.valid_to is not None)
        self.valid_to.setDate(_qdate(row.valid_to or row.valid_from))
        self.authorisation.setChecked(row.requires_authorisation)

    # ------------------------------------------------------------------ changes

    def _form(self) -> MappingRow:
        return MappingRow(
            0,
            self.clinic_code.text(),
            self.insurer_code.text(),
            self.description.text(),
            _day(self.valid_from),
            _day(self.valid_to) if self.ends.isChecked() else None,
            self.authorisation.isChecked(),
        )

    def _edit_op(self, mapping_id: int, form: MappingRow) -> Callable[[], str]:
        def run() -> str:
            row = self.ctx.change(
                edit_mapping, self.ctx.clock, self.env.actor, mapping_id, insurer_code=form.insurer_code,
                description=form.description, valid_to=form.valid_to,
                requires_authorisation=form.requires_authorisation,
            )  # fmt: skip
            return f"Mapping of {row.clinic_code} saved: now {row.insurer_code}."

        return run

    def _add_op(self, chosen: tuple[int, int] | None, form: MappingRow) -> Callable[[], str]:
        def run() -> str:
            if chosen is None:
                return "Choose a clinic and an insurer first."
            row = self.ctx.change(add_mapping, self.ctx.clock, self.env.actor, *chosen, form)
            return f"Mapping of {row.clinic_code} to {row.insurer_code} added."

        return run

    def _import_op(self, chosen: tuple[int, int] | None, path: Path) -> Callable[[], str]:
        def run() -> str:
            if chosen is None:
                return "Choose a clinic and an insurer first."
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ParseError(path.name, "the file", f"could not be read ({exc.strerror})") from exc
            count = self.ctx.change(import_mappings, self.ctx.clock, self.env.actor, data, path.name, *chosen)
            return f"{count} mapping(s) imported from {path.name}; the previous ones were replaced."

        return run

    def _changed(self, message: str) -> None:
        self.env.notify(message)
        self.reload()

    def save(self) -> None:
        row = self.selected()
        if row is not None:
            self.env.act(self._edit_op(row.id, self._form()), self._changed)

    def add(self) -> None:
        self.env.act(self._add_op(self._chosen(), self._form()), self._changed)

    def import_csv(self) -> None:
        path = self.ask_file()
        if path:
            self.env.act(self._import_op(self._chosen(), Path(path)), self._changed)
