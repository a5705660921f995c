from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.context import AppContext
from app.demo import load_demo
from app.users import sign_in
from ui.mainwindow import MainWindow
from ui.taskman import TaskManager


@pytest.fixture
def demo_ctx(ctx: AppContext) -> AppContext:
    load_demo(ctx.db, ctx.clock)
    return ctx


@pytest.fixture
def window(qtbot: QtBot, demo_ctx: AppContext) -> Iterator[MainWindow]:
    actor = sign_in(demo_ctx.db, demo_ctx.clock, "manager", "2222")
    w = MainWindow(demo_ctx, actor, TaskManager(synchronous=True))
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()
