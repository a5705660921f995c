"""The desktop shell on demo data: every view populated, filters work, screenshots saved."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QTableView
from pytestqt.qtbot import QtBot

from app.context import AppContext
from ui.mainwindow import NAV, MainWindow
from ui.screenshots import capture
from ui.signin import SignInDialog
from ui.taskman import TaskManager
from ui.widgets.list_page import ListPage


def test_every_list_view_is_populated_with_demo_data(window: MainWindow) -> None:
    for name in ("Claims", "Payouts", "Shift close-out", "Disputes", "Refunds"):
        view = window.select(name)
        assert isinstance(view, ListPage)
        assert view.model.rowCount() > 0, f"{name} is empty"
        assert view.stack.currentWidget() is view.table
        assert view.detail.toPlainText().strip() and "Select a row" not in view.detail.toPlainText()


def test_dashboard_shows_kpis_lanes_and_work_queue(window: MainWindow) -> None:
    dash = window.select("Dashboard")
    assert dash.tiles[0].value.text().endswith("%")  # type: ignore[attr-defined]
    assert dash.queue.rowCount() > 0  # type: ignore[attr-defined]
    assert dash.lanes["SLA breaches"].count() > 0  # type: ignore[attr-defined]
    assert "manager" in window.user.text()


def test_search_as_you_type_and_empty_state(window: MainWindow, qtbot: QtBot) -> None:
    claims = window.select("Claims")
    assert isinstance(claims, ListPage)
    first = claims.model.rows[0]
    claims.search.setText(first.number)
    qtbot.waitUntil(lambda: claims.model.total == 1, timeout=3000)
    assert claims.model.rows[0].number == first.number
    claims.search.setText("no such patient anywhere")
    qtbot.waitUntil(lambda: claims.model.total == 0, timeout=3000)
    assert claims.stack.currentWidget() is claims.empty
    assert "Clear the filters" in claims.empty.text()


def test_sorting_and_status_filter(window: MainWindow) -> None:
    claims = window.select("Claims")
    assert isinstance(claims, ListPage)
    claims.status.setCurrentIndex(claims.status.findData("rejected"))
    assert claims.model.total > 0 and {r.status.value for r in claims.model.rows} == {"rejected"}
    claims.model.sort(6, Qt.SortOrder.AscendingOrder)  # Total
    totals = [r.total.minor for r in claims.model.rows]
    assert totals == sorted(totals)


def test_sign_in_dialog_refuses_a_wrong_pin(qtbot: QtBot, demo_ctx: AppContext) -> None:
    dialog = SignInDialog(demo_ctx, tasks=TaskManager(synchronous=True))
    qtbot.addWidget(dialog)
    dialog.findChild(QLineEdit, "username").setText("finance")  # type: ignore[union-attr]
    dialog.findChild(QLineEdit, "pin").setText("9999")  # type: ignore[union-attr]
    dialog.try_sign_in()
    assert dialog.actor is None
    assert "wrong PIN" in dialog.findChild(QLabel, "signInMessage").text()  # type: ignore[union-attr]
    dialog.findChild(QLineEdit, "pin").setText("3333")  # type: ignore[union-attr]
    dialog.try_sign_in()
    assert dialog.actor is not None and dialog.actor.username == "finance"


def test_screenshots_of_every_view(qtbot: QtBot, tmp_path: Path) -> None:
    saved = capture(tmp_path / "shots")
    assert list(saved) == NAV
    for path in saved.values():
        assert path.stat().st_size > 20_000, f"{path.name} looks blank"


def test_table_views_have_no_sql_in_slots(window: MainWindow) -> None:
    # the views get their data through app.queries on the task manager, never a session of their own
    import inspect

    import ui.views.claims as claims_view

    source = inspect.getsource(claims_view)
    assert "session.execute" not in source and "select(" not in source
    assert window.findChildren(QTableView)


def test_no_keyring_offers_an_encrypted_file(window: MainWindow, monkeypatch: object) -> None:
    from PySide6.QtWidgets import QPushButton

    from app.secrets import SecretStore

    settings = window.select("Settings")
    button = settings.findChild(QPushButton, "useEncryptedFile")
    if window.ctx.secrets is not None and window.ctx.secrets.available:
        return  # a real keyring exists here: nothing to offer
    assert button is not None
    settings.findChild(QLineEdit, "secretsPassphrase").setText("correct horse battery")  # type: ignore[union-attr]
    button.click()
    assert isinstance(window.ctx.secrets, SecretStore) and window.ctx.secrets.available
    window.ctx.secrets.set("stripe.api_key", "sk_test_offline_desk")
    assert (window.ctx.paths.data / "secrets.enc").exists()
    assert window.ctx.secrets.get("stripe.api_key") == "sk_test_offline_desk"
