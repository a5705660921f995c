"""The Remittances view: import, list, detail with what each line was applied to, approve a write-off."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from app.audit import Actor
from tests.remittance_flow.conftest import World
from tests.remittance_flow.helpers import Pay, file_835, paid_claim
from ui.env import ViewEnv
from ui.taskman import TaskManager
from ui.views.remittances import RemittancesView


def _view(qtbot: QtBot, world: World, actor: Actor, errors: list[BaseException], notes: list[str]) -> RemittancesView:
    tasks = TaskManager(synchronous=True)
    tasks.default_error = errors.append  # as the main window does: errors of background work are shown
    env = ViewEnv(world.ctx, tasks, actor, errors.append, notes.append)
    view = RemittancesView(env)
    qtbot.addWidget(view)
    return view


def test_import_list_detail_and_approve(qtbot: QtBot, world: World, tmp_path: Path) -> None:
    world.claim("CLM0000001", "200.00")
    era = tmp_path / "era.835"
    era.write_bytes(file_835(Pay("TRC7", (paid_claim("CLM0000001", "200.00", "80.00", co="120.00"),))))
    errors: list[BaseException] = []
    notes: list[str] = []
    view = _view(qtbot, world, world.manager, errors, notes)
    assert view.stack.currentWidget() is view.empty
    view.import_file(str(era))
    assert not errors and "1 payment(s) imported" in notes[-1]
    assert view.model.rowCount() == 1
    view.table.selectRow(0)
    text = view.detail.toPlainText()
    assert "TRC7" in text and "CLM0000001" in text and "claim id" in text and "Unapplied £0.00" in text
    assert view.held.count() == 1
    view.findChild(QPushButton, "approveWriteoff").click()
    assert not errors and "approved" in notes[-1]
    assert view.held.count() == 0
    assert {p.status for p in world.postings()} == {"posted", "approved"}
    target = tmp_path / "cash-application.csv"
    view.export_cash_application(str(target))
    assert not errors and "saved" in notes[-1]
    text = target.read_text()
    assert "CLM0000001" in text and "applied payment" in text and "contractual write-off" in text


def test_front_desk_cannot_approve(qtbot: QtBot, world: World, tmp_path: Path) -> None:
    world.claim("CLM0000001", "200.00")
    era = tmp_path / "era.835"
    era.write_bytes(file_835(Pay("TRC7", (paid_claim("CLM0000001", "200.00", "80.00", co="120.00"),))))
    manager_view = _view(qtbot, world, world.manager, [], [])
    manager_view.import_file(str(era))
    errors: list[BaseException] = []
    view = _view(qtbot, world, world.frontdesk, errors, [])
    view.table.selectRow(0)
    view.held.setCurrentIndex(0)
    view._approve()
    assert errors and "may not approve writeoff" in str(errors[-1])
    assert {p.status for p in world.postings()} == {"posted", "held"}


def test_import_button_uses_file_dialog(
    qtbot: QtBot, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    era = tmp_path / "era.835"
    era.write_bytes(file_835(Pay("TRC1", (paid_claim("CLM-NOPE", "10.00", "10.00"),))))
    monkeypatch.setattr("ui.views.remittances.QFileDialog.getOpenFileName", lambda *a, **k: (str(era), ""))
    notes: list[str] = []
    view = _view(qtbot, world, world.manager, [], notes)
    view.findChild(QPushButton, "importRemittance").click()
    assert "0 line(s) applied, 1 unmatched" in notes[-1]
    view.table.selectRow(0)
    assert "Unapplied £10.00" in view.detail.toPlainText()
