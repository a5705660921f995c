"""The Claims view driven like a user: check → audit → pack → submit, then the outbox sends it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from app.domain.status import ClaimStatus
from tests.claims_flow.conftest import World, visible
from ui.mainwindow import MainWindow
from ui.taskman import TaskManager
from ui.views.claims import ClaimsView


@pytest.fixture
def view(qtbot: QtBot, world: World) -> Iterator[ClaimsView]:
    window = MainWindow(world.ctx, world.manager, TaskManager(synchronous=True))
    qtbot.addWidget(window)
    window.show()
    claims = window.select("Claims")
    assert isinstance(claims, ClaimsView)
    yield claims
    window.close()


def _click(qtbot: QtBot, view: ClaimsView, name: str) -> None:
    button = view.findChild(QPushButton, name)
    assert button is not None, name
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_check_audit_pack_submit_then_sent(qtbot: QtBot, world: World, view: ClaimsView, tmp_path: Path) -> None:
    claim_id = world.claim("bupa")
    view.refresh()
    assert view.model.rowCount() == 1
    view.table.selectRow(0)
    number = view.current_row().number

    _click(qtbot, view, "checkClaim")  # eligibility + coding audit + denial risk
    assert world.status(claim_id) is ClaimStatus.READY
    detail = view.detail.toPlainText()
    assert "Ready" in detail and "eligibility.json" in detail and "coding-audit.csv" in detail
    assert "BPHY01" in detail  # the audit mapped the clinic code to the insurer's

    _click(qtbot, view, "packClaim")
    detail = view.detail.toPlainText()
    assert all(n in detail for n in (f"{number}.xml", "attachments.zip", "hash-report.json"))

    _click(qtbot, view, "submitClaim")
    assert world.status(claim_id) is ClaimStatus.QUEUED and world.outbox_count() == 1
    assert "Queued" in view.detail.toPlainText()

    assert world.dispatch().sent == 1  # the outbox job, against the loopback SFTP insurer
    view.refresh()
    assert view.model.rows[0].status is ClaimStatus.SUBMITTED
    assert "Submitted" in view.detail.toPlainText() and "dispatch-log.ndjson" in view.detail.toPlainText()
    assert f"{number}.xml" in visible(world.sftp.root / "inbox")

    view.ask_folder = lambda: str(tmp_path / "export")
    _click(qtbot, view, "saveArtefacts")
    assert {p.name for p in (tmp_path / "export").iterdir()} >= {f"{number}.xml", "dispatch-log.ndjson"}

    _click(qtbot, view, "submitClaim")  # a second submit is refused with a message
    box = view.window().findChild(QMessageBox, "errorBox")
    assert box is not None and "sent once only" in box.text()
    assert world.outbox_count() == 1


def test_lanes_bulk_submit_and_review(qtbot: QtBot, world: World, view: ClaimsView) -> None:
    first, second = world.claim("axa"), world.claim("aetna")
    view.refresh()
    view.table.selectAll()
    _click(qtbot, view, "checkClaim")
    assert {world.status(first), world.status(second)} == {ClaimStatus.READY}
    view.lane.setCurrentIndex(view.lane.findData("ready"))
    assert view.model.total == 2
    _click(qtbot, view, "submitAllReady")
    assert {world.status(first), world.status(second)} == {ClaimStatus.QUEUED}
    world.portal.fail_next(1)  # the portal is down for the scheduled send: AXA's claim waits out a backoff
    world.dispatch()
    assert ClaimStatus.QUEUED in {world.status(first), world.status(second)}
    _click(qtbot, view, "sendNow")  # on-demand retry from the view
    assert {world.status(first), world.status(second)} == {ClaimStatus.SUBMITTED}
    view.lane.setCurrentIndex(view.lane.findData("rejections"))
    assert view.model.total == 0 and view.stack.currentWidget() is view.empty
    view.lane.setCurrentIndex(view.lane.findData(""))
    view.table.selectRow(0)
    view.ask_text = lambda _title, _label: "Withdrawn: patient paid privately"
    _click(qtbot, view, "voidClaim")
    assert ClaimStatus.VOID in {world.status(first), world.status(second)}
