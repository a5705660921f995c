"""The main window: navigation, the views, and a status bar with provider health and the outbox."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QProgressBar,
    QStackedWidget,
    QStatusBar,
    QWidget,
)

from app.audit import Actor
from app.context import AppContext
from app.health import ProviderHealth, status_bar
from app.users import ROLE_LABELS
from ui.env import ViewEnv
from ui.errors import show_error
from ui.format import fmt
from ui.taskman import TaskManager
from ui.views.claims import ClaimsView
from ui.views.dashboard import DashboardView
from ui.views.disputes import DisputesView
from ui.views.payouts import PayoutsView
from ui.views.refunds import RefundsView
from ui.views.remittances import RemittancesView
from ui.views.settings import SettingsView
from ui.views.shifts import ShiftsView

NAV = ["Dashboard", "Claims", "Remittances", "Payouts", "Shift close-out", "Disputes", "Refunds", "Settings"]


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext, actor: Actor, tasks: TaskManager) -> None:
        super().__init__()
        self.ctx, self.actor, self.tasks = ctx, actor, tasks
        tasks.default_error = lambda exc: show_error(self, exc)
        self.setWindowTitle(f"Clinic Billing Desk — {actor.username}")
        self.resize(1280, 800)
        self.env = ViewEnv(ctx, tasks, actor, lambda e: show_error(self, e), self.notify)
        self.views: dict[str, QWidget] = {
            "Dashboard": DashboardView(self.env),
            "Claims": ClaimsView(self.env),
            "Remittances": RemittancesView(self.env),
            "Payouts": PayoutsView(self.env),
            "Shift close-out": ShiftsView(self.env),
            "Disputes": DisputesView(self.env),
            "Refunds": RefundsView(self.env),
            "Settings": SettingsView(self.env),
        }
        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.addItems(NAV)
        self.nav.setFixedWidth(170)
        self.nav.setStyleSheet("QListWidget { font-size:14px; } QListWidget::item { padding:8px; }")
        self.stack = QStackedWidget()
        for name in NAV:
            self.stack.addWidget(self.views[name])
        self.nav.currentRowChanged.connect(self.show_view)
        central = QWidget()
        lay = QHBoxLayout(central)
        lay.addWidget(self.nav)
        lay.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        bar = QStatusBar()
        self.providers = QLabel("")
        self.providers.setObjectName("providerStatus")
        self.outbox = QLabel("")
        self.outbox.setObjectName("outboxStatus")
        self.user = QLabel(f"Signed in: <b>{actor.username}</b> ({ROLE_LABELS[actor.role]})")
        self.user.setObjectName("actingUser")
        self.busy = QProgressBar()
        self.busy.setObjectName("busy")
        self.busy.setRange(0, 0)  # indeterminate: long work shows it is moving
        self.busy.setMaximumWidth(120)
        self.busy.setVisible(False)
        for w in (self.providers, self.outbox):
            bar.addWidget(w)
        bar.addPermanentWidget(self.busy)
        bar.addPermanentWidget(QLabel(ctx.db.display_name))
        bar.addPermanentWidget(self.user)
        self.setStatusBar(bar)
        tasks.busy_changed.connect(lambda n: self.busy.setVisible(n > 0))
        self._status_timer = QTimer(self, interval=30_000)
        self._status_timer.timeout.connect(self.refresh_status)
        self._status_timer.start()
        self.nav.setCurrentRow(0)
        self.refresh_status()

    def show_view(self, row: int) -> None:
        view = self.views[NAV[row]]
        self.stack.setCurrentWidget(view)
        refresh = getattr(view, "refresh", None)
        if callable(refresh):
            refresh()

    def select(self, name: str) -> QWidget:
        self.nav.setCurrentRow(NAV.index(name))
        return self.views[name]

    def notify(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def refresh_status(self) -> None:
        ctx = self.ctx

        def load() -> tuple[list[ProviderHealth], int, object]:
            return ctx.query(status_bar)

        self.tasks.run_db(load, self._show_status)

    def _show_status(self, result: tuple[list[ProviderHealth], int, object] | BaseException) -> None:
        if isinstance(result, BaseException):
            self.providers.setText("<span style='color:#b00020'>Database unreachable</span>")
            return
        health, queued, last = result
        parts = [f"<span style='color:{'#1b5e20' if h.online else '#b00020'}'>● {h.provider}</span>" for h in health]
        self.providers.setText(" ".join(parts) if parts else "No providers checked yet")
        self.outbox.setText(f"Queued to send: <b>{queued}</b> · Last sync: {fmt(last) or 'never'}")
