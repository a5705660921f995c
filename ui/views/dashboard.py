"""Dashboard: KPI tiles, alert lanes (SLA breaches, rejections, cash flow) and the work queue."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.queries.dashboard import Dashboard, dashboard
from ui.env import ViewEnv
from ui.format import fmt

LANE_COLOURS = {
    "SLA breaches": "#b00020",
    "Rejections": "#c25e00",
    "Cash flow": "#00695c",
    "Due soon": "#37474f",
}


class KpiTile(QFrame):
    def __init__(self) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("KpiTile { background:#f7f9fc; border:1px solid #d6dde8; border-radius:6px; }")
        self.value = QLabel("—")
        self.value.setStyleSheet("font-size:22px; font-weight:600; color:#1a3a6b;")
        self.label = QLabel("")
        self.label.setStyleSheet("font-weight:600;")
        self.hint = QLabel("")
        self.hint.setStyleSheet("color:#666; font-size:11px;")
        lay = QVBoxLayout(self)
        for w in (self.value, self.label, self.hint):
            lay.addWidget(w)


class DashboardView(QWidget):
    def __init__(self, env: ViewEnv) -> None:
        super().__init__()
        self.setObjectName("dashboardView")
        self.ctx, self.run_db = env.ctx, env.run_db
        title = QLabel("<h2 style='margin:0'>Dashboard</h2><span style='color:#555'>What needs doing today</span>")
        self.tiles = [KpiTile() for _ in range(8)]
        grid = QGridLayout()
        for i, t in enumerate(self.tiles):
            grid.addWidget(t, i // 4, i % 4)
        lanes = QHBoxLayout()
        self.lanes: dict[str, QListWidget] = {}
        for name, colour in LANE_COLOURS.items():
            box = QVBoxLayout()
            header = QLabel(f"<b style='color:{colour}'>{name}</b>")
            lst = QListWidget()
            lst.setObjectName(f"lane_{name.split()[0].lower()}")
            box.addWidget(header)
            box.addWidget(lst)
            lanes.addLayout(box)
            self.lanes[name] = lst
        self.queue = QTableWidget(0, 5)
        self.queue.setObjectName("workQueue")
        self.queue.setHorizontalHeaderLabels(["Priority", "Task", "Owner", "Due", "Recommended fix"])
        self.queue.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.queue.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.queue.verticalHeader().setVisible(False)
        self.queue.horizontalHeader().setStretchLastSection(True)
        for i, w in enumerate((70, 330, 90, 120)):
            self.queue.setColumnWidth(i, w)
        self.empty = QLabel("Nothing waiting. New rejections, variances and failed sends will appear here.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setVisible(False)
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addLayout(grid)
        lay.addLayout(lanes, 2)
        lay.addWidget(QLabel("<b>Work queue</b>"))
        lay.addWidget(self.queue, 3)
        lay.addWidget(self.empty)

    def refresh(self) -> None:
        ctx = self.ctx

        def load() -> Dashboard:
            return ctx.query(dashboard, ctx.clock.now())

        self.run_db(load, self._show)

    def _show(self, d: Dashboard | BaseException) -> None:
        if isinstance(d, BaseException):
            return
        for tile, kpi in zip(self.tiles, d.kpis, strict=False):
            tile.value.setText(kpi.value)
            tile.label.setText(kpi.label)
            tile.hint.setText(kpi.hint)
        for name, lst in self.lanes.items():
            lst.clear()
            items = d.lanes.get(name, [])
            for t in items[:50]:
                QListWidgetItem(t.title, lst)
            if not items:
                QListWidgetItem("— nothing —", lst)
        self.queue.setRowCount(len(d.tasks))
        for r, t in enumerate(d.tasks):
            for c, value in enumerate(
                (fmt(t.priority), t.title, t.owner_role.replace("_", " "), fmt(t.due_at), t.recommended_fix)
            ):
                item = QTableWidgetItem(value)
                item.setToolTip(html.escape(t.detail))
                self.queue.setItem(r, c, item)
        self.empty.setVisible(not d.tasks)
