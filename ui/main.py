"""Start the desktop app: open (back up, migrate) the database, optionally load the demo, sign in."""

from __future__ import annotations

import logging
import os
import sys

from PySide6.QtWidgets import QApplication, QMessageBox

from app.context import AppContext
from app.demo import DEMO_USERS, has_clinics, load_demo
from app.errors import ClinicBillingError
from app.local_config import load_database_url
from app.paths import app_paths
from app.scheduler import build_scheduler
from app.secrets import SecretStore
from ui.mainwindow import MainWindow
from ui.signin import SignInDialog
from ui.taskman import TaskManager

log = logging.getLogger(__name__)


def run(db_url: str | None = None, demo: bool = False) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Clinic Billing Desk")
    paths = app_paths().ensure()
    try:
        url = db_url or load_database_url(paths.data, SecretStore.from_environment(paths.data))
        ctx = AppContext.open(url)
        if demo:
            if not ctx.query(has_clinics):
                load_demo(ctx.db, ctx.clock)
    except ClinicBillingError as exc:
        QMessageBox.critical(None, "Cannot open the database", str(exc))
        return 2
    hint = ("Demo users: " + ", ".join(f"{u} / {p}" for u, _n, _r, p in DEMO_USERS)) if demo else ""
    auto = os.environ.get("CLINIC_BILLING_AUTOLOGIN")  # "user:pin", for screenshots and kiosk demos
    dialog = SignInDialog(ctx, hint, TaskManager(synchronous=bool(auto)))
    if auto and ":" in auto:
        dialog.username.setText(auto.split(":", 1)[0])
        dialog.pin.setText(auto.split(":", 1)[1])
        dialog.try_sign_in()
    elif dialog.exec() != SignInDialog.DialogCode.Accepted:
        return 0
    if dialog.actor is None:
        return 1
    scheduler = build_scheduler(ctx)
    scheduler.start()
    window = MainWindow(ctx, dialog.actor, TaskManager())
    window.show()
    try:
        return app.exec()
    finally:
        scheduler.shutdown(wait=False)
        ctx.close()
