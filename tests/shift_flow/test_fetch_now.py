"""On demand from the Shift close-out view: card takings fetched now, stored once, shown in today's shift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from app.context import AppContext
from app.db.models import Payment
from app.paths import AppPaths
from app.secrets import SecretStore
from tests.shift_flow.conftest import SQUARE_DEVICE, SquareBox, _wire
from tests.support.memory_keyring import MemoryKeyring
from ui.env import ViewEnv
from ui.taskman import TaskManager
from ui.views.shifts import ShiftsView


def test_fetch_card_takings_now_from_the_view(
    qtbot: QtBot, sqlite_url: str, paths: AppPaths, square: SquareBox
) -> None:
    from app.clock import FixedClock

    clock = FixedClock(datetime.now(UTC) + timedelta(minutes=1))
    ctx = AppContext.open(sqlite_url, clock=clock, paths=paths)
    ctx.secrets = SecretStore(backend=MemoryKeyring())
    desk = _wire(ctx, "", square.base_url)  # Square only: Stripe is not set up here
    with ctx.db.unit_of_work() as s:
        from app.audit import SYSTEM
        from app.settings import set_setting

        set_setting(s, ctx.clock, SYSTEM, "endpoints", {"square": square.base_url})
    for amount in (4500, 6000):
        httpx.post(
            f"{square.base_url}/_sandbox/payments", json={"amount": amount, "device_id": SQUARE_DEVICE}, timeout=10
        ).raise_for_status()
    notes: list[str] = []
    errors: list[BaseException] = []
    env = ViewEnv(ctx, TaskManager(synchronous=True), desk.manager, errors.append, notes.append)
    view = ShiftsView(env)
    qtbot.addWidget(view)
    view.fetch_takings()
    view.fetch_takings()  # again: nothing is stored twice
    assert errors == []
    assert notes and notes[-1].startswith("square:")
    with ctx.db.read() as s:
        payments = s.execute(
            select(func.count(), func.sum(Payment.gross_minor)).where(Payment.provider == "square")
        ).one()
    assert tuple(payments) == (2, 10_500)
    ctx.close()
