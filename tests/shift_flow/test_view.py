"""The Shift close-out view: today's shift front and centre, the cash count, one Close action, the report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.audit import SYSTEM
from app.context import AppContext
from app.db.models import Clinic
from app.domain.status import Role, ShiftStatus
from app.shifts.schedule import ShiftLocator
from app.users import create_user, sign_in
from tests.shift_flow.helpers import CARD_AND_CASH, add_takings
from ui.env import ViewEnv
from ui.taskman import TaskManager
from ui.views import shifts as shifts_view

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


@pytest.fixture
def view(qtbot: QtBot, ctx: AppContext) -> tuple[shifts_view.ShiftsView, list[str], list[BaseException]]:
    with ctx.db.unit_of_work() as s:
        clinic = Clinic(name="Harbour Physio")
        s.add(clinic)
        s.flush()
        create_user(s, ctx.clock, SYSTEM, "manager", "Mo Manager", Role.MANAGER, "2222")
        taken = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
        shift = ShiftLocator(s, ctx.clock, SYSTEM).locate(clinic, taken)
        add_takings(s, clinic.id, shift.id, taken, CARD_AND_CASH)
    notes: list[str] = []
    errors: list[BaseException] = []
    actor = sign_in(ctx.db, ctx.clock, "manager", "2222")
    tasks = TaskManager(synchronous=True)
    tasks.default_error = errors.append  # as the main window does: one place shows errors
    env = ViewEnv(ctx, tasks, actor, errors.append, notes.append)
    widget = shifts_view.ShiftsView(env)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    widget.refresh()
    return widget, notes, errors


def test_todays_shift_is_counted_closed_and_printed(
    view: tuple[shifts_view.ShiftsView, list[str], list[BaseException]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    widget, notes, errors = view
    today = widget.today
    assert "Front desk" in today.heading.text() and "Open" in today.heading.text()
    assert "Count the cash drawer" in today.todo.text()
    shown = {name: fig.value.text() for name, fig in today.figures.items()}
    assert shown == {
        "Takings": "£140.00",
        "Card fees": "£1.93",
        "Expected deposit": "£103.07",
        "Expected cash": "£135.00",
    }
    assert widget.model.rowCount() == 2  # today's two shifts are listed below

    today.counts[5000].setValue(2)
    today.counts[2000].setValue(1)
    today.counts[1000].setValue(1)
    today.counts[500].setValue(1)
    assert today.counted.text() == "Counted: £135.00 (difference £0.00)"
    widget.grab().save(str(tmp_path / "view.png"))
    SCREENSHOTS.mkdir(exist_ok=True)
    widget.grab().save(str(SCREENSHOTS / "shift-close-out-view.png"))
    today.close_button.click()
    assert errors == [] and today.summary is not None
    assert today.summary.status is ShiftStatus.CLOSED and not today.close_button.isEnabled()
    assert any("Closed" in n for n in notes)

    opened: list[object] = []
    monkeypatch.setattr(shifts_view.QDesktopServices, "openUrl", opened.append)
    out = tmp_path / "report.pdf"
    today.save_report_to(str(out))
    assert out.read_bytes().startswith(b"%PDF") and len(opened) == 1 and errors == []


def test_a_difference_without_a_reason_is_refused_with_a_clear_message(
    view: tuple[shifts_view.ShiftsView, list[str], list[BaseException]],
) -> None:
    widget, _notes, errors = view
    widget.today.counts[5000].setValue(2)
    widget.today.close_button.click()
    assert len(errors) == 1 and "give a reason for -£35.00" in str(errors[0])
    assert widget.today.summary is not None and widget.today.summary.status is ShiftStatus.OPEN
