"""Runbook settings are edited in Settings: checked, all problems listed, saved and audit-logged."""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QComboBox, QPlainTextEdit, QPushButton
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app.audit import SYSTEM
from app.context import AppContext
from app.db.models import AuditEvent
from app.errors import PermissionDenied, ValidationFailed
from app.settings import get_setting
from app.settings_catalogue import save_runbook_setting
from app.users import sign_in
from ui.mainwindow import MainWindow
from ui.taskman import TaskManager


def test_shift_schedule_edited_in_settings(demo_ctx: AppContext, qtbot: QtBot) -> None:
    window = MainWindow(demo_ctx, sign_in(demo_ctx.db, demo_ctx.clock, "admin", "4444"), TaskManager(synchronous=True))
    qtbot.addWidget(window)
    settings = window.select("Settings")
    key = settings.findChild(QComboBox, "runbookKey")
    editor = settings.findChild(QPlainTextEdit, "runbookValue")
    save = settings.findChild(QPushButton, "saveRunbookSetting")
    assert key is not None and editor is not None and save is not None
    key.setCurrentIndex(key.findData("shifts.schedule"))
    schedule = json.loads(editor.toPlainText())
    assert schedule, "the demo schedule is shown"
    first = next(iter(schedule))
    schedule[first] = [{"desk": "Front desk A", "start": "07:30", "end": "19:30", "terminals": ["tmr_desk_A"]}]
    editor.setPlainText(json.dumps(schedule))
    save.click()
    with window.ctx.db.read() as s:
        assert get_setting(s, "shifts.schedule")[first][0]["start"] == "07:30"
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.entity_id == "shifts.schedule")) is not None


def test_bad_values_list_every_problem_and_save_nothing(demo_ctx: AppContext) -> None:
    manager = sign_in(demo_ctx.db, demo_ctx.clock, "manager", "2222")
    admin = sign_in(demo_ctx.db, demo_ctx.clock, "admin", "4444")
    bad = json.dumps({"1": [{"desk": "", "start": "25:00", "end": "08:00"}]})
    with pytest.raises(PermissionDenied), demo_ctx.db.unit_of_work() as s:
        save_runbook_setting(s, demo_ctx.clock, manager, "shifts.schedule", bad)
    with pytest.raises(ValidationFailed) as err, demo_ctx.db.unit_of_work() as s:
        save_runbook_setting(s, demo_ctx.clock, admin, "shifts.schedule", bad)
    assert len(err.value.problems) >= 2 and any("no desk name" in p for p in err.value.problems)
    with pytest.raises(ValidationFailed, match="not valid JSON"), demo_ctx.db.unit_of_work() as s:
        save_runbook_setting(s, demo_ctx.clock, admin, "templates.refund_sms", "{body: nope}")
    with demo_ctx.db.unit_of_work() as s:
        save_runbook_setting(s, demo_ctx.clock, admin, "templates.refund_sms", '{"body": "Refunded $amount"}')
    with demo_ctx.db.read() as s:
        assert get_setting(s, "templates.refund_sms") == {"body": "Refunded $amount"}
        assert get_setting(s, "shifts.schedule")["1"][0]["start"] != "25:00"
    assert SYSTEM.username == "system"
