"""The Claims view's service-date filter, and the code mapping table edited and imported from its dialog."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from app.audit import Actor
from app.claims.mapping_store import MappingRow, edit_mapping, list_mappings
from app.claims.preflight import check_claim
from app.claims.service import store_of
from app.claims.submission import claim_artefacts
from app.db.models import AuditEvent
from app.domain.status import ClaimStatus, Role
from app.errors import PermissionDenied
from tests.claims_flow.conftest import World
from ui.mainwindow import MainWindow
from ui.taskman import TaskManager
from ui.views.claims import ClaimsView
from ui.views.code_mappings import CodeMappingsDialog


@pytest.fixture
def view(qtbot: QtBot, world: World) -> Iterator[ClaimsView]:
    window = MainWindow(world.ctx, world.manager, TaskManager(synchronous=True))
    qtbot.addWidget(window)
    window.show()
    claims = window.select("Claims")
    assert isinstance(claims, ClaimsView)
    yield claims
    window.close()


def _click(qtbot: QtBot, parent: QWidget, name: str) -> None:
    button = parent.findChild(QPushButton, name)
    assert button is not None and button.isEnabled(), name
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _shown(view: ClaimsView) -> set[int]:
    assert view.model.total == len(view.model.rows)
    return {r.id for r in view.model.rows}


def test_service_date_filter_shows_exactly_the_claims_in_range(world: World, view: ClaimsView) -> None:
    by_day = {d: world.claim("bupa", day=date(2026, 11, d)) for d in (2, 10, 15, 18)}
    view.refresh()
    assert _shown(view) == set(by_day.values())
    assert view.date_from.text() == "Service from: any" and view.date_to.text() == "Service to: any"

    view.date_from.set_day(date(2026, 11, 10))
    view.date_to.set_day(date(2026, 11, 15))  # both ends included
    assert _shown(view) == {by_day[10], by_day[15]}
    assert all(date(2026, 11, 10) <= r.service_date <= date(2026, 11, 15) for r in view.model.rows)

    view.date_to.set_day(None)  # from a day on
    assert _shown(view) == {by_day[10], by_day[15], by_day[18]}
    view.date_from.set_day(None)
    view.date_to.set_day(date(2026, 11, 9))  # up to a day
    assert _shown(view) == {by_day[2]}
    view.date_from.set_day(date(2026, 11, 16))  # an empty range shows the empty state
    assert _shown(view) == set() and view.stack.currentWidget() is view.empty

    view.findChild(QWidget, "clearDates").click()  # type: ignore[union-attr]
    assert view.date_from.day() is None and view.date_to.day() is None
    assert _shown(view) == set(by_day.values())


# --------------------------------------------------------------------------- code mappings


def _dialog(qtbot: QtBot, view: ClaimsView, payer: str = "BUPA") -> CodeMappingsDialog:
    _click(qtbot, view, "codeMappings")
    dialog = view.findChild(CodeMappingsDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.payer.setCurrentIndex(dialog.payer.findText(payer))
    return dialog


def _select(dialog: CodeMappingsDialog, clinic_code: str) -> None:
    (index,) = [i for i, r in enumerate(dialog.rows) if r.clinic_code == clinic_code]
    dialog.table.selectRow(index)


def _coding_audit(world: World, claim_id: int) -> tuple[ClaimStatus, str]:
    result = check_claim(world.ctx, world.manager, claim_id)
    with world.ctx.db.read() as s:
        csv_text = claim_artefacts(s, store_of(world.ctx), claim_id)["coding-audit.csv"].decode()
    return result.status, csv_text + str(result)


def test_editing_a_mapping_in_the_dialog_changes_the_coding_audit(qtbot: QtBot, world: World, view: ClaimsView) -> None:
    claim_id = world.claim("bupa")  # PHY01 on 18 Nov 2026
    assert _coding_audit(world, claim_id)[0] is ClaimStatus.READY
    dialog = _dialog(qtbot, view)
    assert [r.clinic_code for r in dialog.rows] == ["ACU01", "PHY01", "PHY02"]
    assert dialog.table.item(1, 1).text() == "BPHY01"

    _select(dialog, "PHY01")
    assert dialog.insurer_code.text() == "BPHY01"
    dialog.insurer_code.setText("bphy99")  # not in Bupa's code list
    _click(qtbot, dialog, "saveMapping")
    assert dialog.table.item(1, 1).text() == "BPHY99"
    status, audit = _coding_audit(world, claim_id)
    assert status is ClaimStatus.DRAFT and "BPHY99" in audit and "not in bupa's code list" in audit

    _select(dialog, "PHY01")
    dialog.insurer_code.setText("BPHY01")
    dialog.ends.setChecked(True)  # end-dated the day before the visit: no mapping on the service date
    dialog.valid_to.setDate(date(2026, 11, 17))
    _click(qtbot, dialog, "saveMapping")
    status, audit = _coding_audit(world, claim_id)
    assert status is ClaimStatus.DRAFT and "EXPIRED_MAPPING" in audit and "valid 2024-01-01 to 2026-11-17" in audit

    dialog.valid_from.setDate(date(2026, 11, 18))  # the same form, added as a new row from the visit day
    dialog.ends.setChecked(False)
    _click(qtbot, dialog, "addMapping")
    assert [(r.clinic_code, r.valid_from, r.valid_to) for r in dialog.rows if r.clinic_code == "PHY01"] == [
        ("PHY01", date(2024, 1, 1), date(2026, 11, 17)),
        ("PHY01", date(2026, 11, 18), None),
    ]
    assert _coding_audit(world, claim_id)[0] is ClaimStatus.READY

    _click(qtbot, dialog, "addMapping")  # the same row again overlaps: refused, nothing added
    box = view.window().findChild(QMessageBox, "errorBox")
    assert box is not None and "dates overlap" in box.text()
    assert len(dialog.rows) == 4
    with world.ctx.db.read() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "code_mapping")))
    assert actions == ["code_mapping.edit", "code_mapping.edit", "code_mapping.add"]


def test_a_bad_csv_lists_every_problem_and_changes_nothing(
    qtbot: QtBot, world: World, view: ClaimsView, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot, view)
    before = list(dialog.rows)
    head = "clinic_code,insurer_code,description,valid_from,valid_to,requires_authorisation\n"
    bad = tmp_path / "bupa-bad.csv"
    bad.write_text(head + "PHY01,BPHY01,ok,2024-01-01,,no\nPHY02,,x,2024-01-01,,no\nACU01,BACU01,y,31/31/2024,,maybe\n")
    dialog.ask_file = lambda: str(bad)
    with world.ctx.db.read() as s:
        events = s.scalar(select(func.count()).select_from(AuditEvent))
    _click(qtbot, dialog, "importMappings")
    box = view.window().findChild(QMessageBox, "errorBox")
    assert box is not None
    for problem in ("row 3, column insurer_code", "row 4, column valid_from", "row 4, column requires_authorisation"):
        assert problem in box.text()
    assert dialog.rows == before
    with world.ctx.db.read() as s:
        assert list_mappings(s, world.clinic_id, world.payers["bupa"]) == before
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == events

    good = tmp_path / "bupa.csv"
    good.write_text(head + "PHY01,BPHY01,Assessment,2024-01-01,,yes\n")
    dialog.ask_file = lambda: str(good)
    _click(qtbot, dialog, "importMappings")
    assert [(r.clinic_code, r.requires_authorisation) for r in dialog.rows] == [("PHY01", True)]


def test_only_claim_preparers_and_administrators_edit_mappings(qtbot: QtBot, world: World) -> None:
    finance = Actor(None, "finance", Role.FINANCE)
    with world.ctx.db.read() as s:
        (row,) = [m for m in list_mappings(s, world.clinic_id, world.payers["axa"]) if m.clinic_code == "PHY01"]
    with pytest.raises(PermissionDenied, match="prepare claims"), world.ctx.db.unit_of_work() as s:
        edit_mapping(s, world.clock, finance, row.id, description="changed")
    with world.ctx.db.unit_of_work() as s:
        changed: MappingRow = edit_mapping(s, world.clock, world.frontdesk, row.id, description="Initial assessment")
    assert changed.description == "Initial assessment"
    window = MainWindow(world.ctx, finance, TaskManager(synchronous=True))
    qtbot.addWidget(window)
    dialog = CodeMappingsDialog(window.env, window)
    assert not dialog.findChild(QPushButton, "saveMapping").isEnabled()  # type: ignore[union-attr]
    assert dialog.findChild(QPushButton, "importMappings").isEnabled()  # type: ignore[union-attr]
    window.close()
