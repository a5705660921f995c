"""The shape of every list view: title, filters with search-as-you-type, sortable table, detail pane,
and an empty state that says what to do next."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QItemSelection, Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTextBrowser,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.queries.paging import ListQuery, Page
from ui.widgets.paged_table import Column, PagedTableModel

DetailRenderer = Callable[[Any], str]


class ListPage(QWidget):
    def __init__(
        self,
        *,
        title: str,
        subtitle: str,
        columns: list[Column],
        fetch: Callable[[ListQuery], Page[Any]],
        run_db: Callable[..., None],
        empty_text: str,
        statuses: list[tuple[str, str]] | None = None,
        detail: DetailRenderer | None = None,
        default_sort: str = "",
        object_name: str = "",
    ) -> None:
        super().__init__()
        self.setObjectName(object_name or title.lower().replace(" ", "_"))
        self.model = PagedTableModel(columns, fetch, run_db)
        self.model.query = ListQuery(sort_key=default_sort)
        self.detail_renderer = detail
        self.run_db = run_db

        heading = QLabel(f"<h2 style='margin:0'>{title}</h2><span style='color:#555'>{subtitle}</span>")
        self.search = QLineEdit(placeholderText="Search…  (type to filter)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(240)
        self.search.setObjectName("search")
        self.status = QComboBox()
        self.status.setObjectName("statusFilter")
        self.status.addItem("All statuses", "")
        for label, value in statuses or []:
            self.status.addItem(label, value)
        self.status.setVisible(bool(statuses))
        self.count = QLabel("")
        self.count.setObjectName("count")
        # actions on their own row; a toolbar moves what does not fit into its "»" menu
        self.actions = QToolBar()
        self.actions.setObjectName("actions")
        self.actions.setMovable(False)
        filters = QHBoxLayout()
        filters.addWidget(self.search, 3)
        filters.addWidget(self.status, 1)
        filters.addWidget(self.count)
        # view-specific filters get a row of their own, overflowing into a menu on narrow screens
        self.extra_filters = QToolBar()
        self.extra_filters.setObjectName("filters")
        self.extra_filters.setMovable(False)
        filters.addStretch(0)

        self.table = QTableView()
        self.table.setObjectName("table")
        self.table.setModel(self.model)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.DescendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for i, col in enumerate(columns):
            self.table.setColumnWidth(i, col.width)
        self.empty = QLabel(empty_text)
        self.empty.setObjectName("emptyState")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color:#555; font-size:14px; padding:40px;")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        self.detail = QTextBrowser()
        self.detail.setObjectName("detail")
        self.detail.setOpenExternalLinks(False)
        self.detail.setHtml("<p style='color:#777'>Select a row to see its details.</p>")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.stack)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([700, 460])

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(filters)
        layout.addWidget(self.extra_filters)
        layout.addWidget(self.actions)
        layout.addWidget(split, 1)

        self._debounce = QTimer(self, singleShot=True, interval=250)
        self._debounce.timeout.connect(self.apply_filters)
        self.search.textChanged.connect(self._debounce.start)
        self.status.currentIndexChanged.connect(self.apply_filters)
        self.model.loaded.connect(self._on_loaded)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)

    def showEvent(self, event: QShowEvent) -> None:
        # rows with nothing in them take no space
        self.extra_filters.setVisible(bool(self.extra_filters.actions()))
        self.actions.setVisible(bool(self.actions.actions()))
        super().showEvent(event)

    def add_action(self, text: str, slot: Callable[[], None], name: str = "") -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name or text.lower().replace(" ", "_").replace("…", ""))
        button.clicked.connect(slot)
        self.actions.addWidget(button)
        return button

    def query(self) -> ListQuery:
        return replace(self.model.query, text=self.search.text(), status=self.status.currentData() or "")

    def apply_filters(self) -> None:
        self.model.reload(self.query())

    def refresh(self) -> None:
        self.model.reload(self.query())

    def _on_loaded(self, total: int) -> None:
        self.count.setText(f"{total:,} shown" if total else "")
        self.stack.setCurrentWidget(self.table if total else self.empty)
        if total and not self.table.selectionModel().hasSelection():
            self.table.selectRow(0)

    def selected_rows(self) -> list[Any]:
        return [self.model.row_at(i.row()) for i in self.table.selectionModel().selectedRows()]

    def current_row(self) -> Any:
        rows = self.selected_rows()
        return rows[0] if rows else None

    def _on_selection(self, _sel: QItemSelection, _desel: QItemSelection) -> None:
        row = self.current_row()
        if row is not None and self.detail_renderer is not None:
            self.detail.setHtml(self.detail_renderer(row))
