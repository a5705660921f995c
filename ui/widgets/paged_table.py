"""A Qt table model over a paged service query: fetches 200 rows at a time as the user scrolls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor

from app.money import Money
from app.queries.paging import ListQuery, Page
from ui.format import fmt

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column:
    title: str
    attr: str
    sort_key: str = ""  # service sort key; empty: not sortable
    width: int = 120


class PagedTableModel(QAbstractTableModel):
    """Rows are plain dataclasses from ``app.queries``; the query runs on the DB executor."""

    loaded = Signal(int)  # total rows matching

    def __init__(
        self,
        columns: list[Column],
        fetch: Callable[[ListQuery], Page[Any]],
        run_db: Callable[..., None],
        page_size: int = 200,
    ) -> None:
        super().__init__()
        self.columns = columns
        self.fetch = fetch
        self.run_db = run_db
        self.page_size = page_size
        self.rows: list[Any] = []
        self.total = 0
        self.query = ListQuery(limit=page_size)
        self._loading = False
        self._generation = 0

    # ------------------------------------------------------------------ loading
    def reload(self, query: ListQuery | None = None) -> None:
        if query is not None:
            self.query = query
        self._generation += 1
        generation = self._generation
        q = self._with(0)
        self._loading = True
        self.run_db(lambda: self.fetch(q), lambda page: self._replace(page, generation))

    def _with(self, offset: int) -> ListQuery:
        from dataclasses import replace

        return replace(self.query, offset=offset, limit=self.page_size)

    def _replace(self, page: Page[Any] | BaseException, generation: int) -> None:
        self._loading = False
        if isinstance(page, BaseException) or generation != self._generation:
            return
        self.beginResetModel()
        self.rows = list(page.rows)
        self.total = page.total
        self.endResetModel()
        self.loaded.emit(self.total)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._loading and len(self.rows) < self.total

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        self._loading = True
        generation = self._generation
        q = self._with(len(self.rows))
        self.run_db(lambda: self.fetch(q), lambda page: self._append(page, generation))

    def _append(self, page: Page[Any] | BaseException, generation: int) -> None:
        self._loading = False
        if isinstance(page, BaseException) or generation != self._generation or not page.rows:
            return
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(page.rows) - 1)
        self.rows.extend(page.rows)
        self.endInsertRows()

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].title
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, col = self.rows[index.row()], self.columns[index.column()]
        value = getattr(row, col.attr)
        if role == Qt.ItemDataRole.DisplayRole:
            return fmt(value)
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(value, Money):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and isinstance(value, Money) and value.minor < 0:
            return QBrush(QColor("#b00020"))
        if role == Qt.ItemDataRole.UserRole:
            return row
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = self.columns[column].sort_key if 0 <= column < len(self.columns) else ""
        if not key:
            return
        from dataclasses import replace

        self.query = replace(self.query, sort_key=key, descending=order == Qt.SortOrder.DescendingOrder)
        self.reload()

    def row_at(self, r: int) -> Any:
        return self.rows[r] if 0 <= r < len(self.rows) else None
