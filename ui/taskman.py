"""Background work: DB work on a one-thread executor (serialised), network on a pool.

Results come back to the GUI thread through a queued signal; workers never touch widgets.
Tests use ``TaskManager(synchronous=True)`` so threaded code is deterministic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


class _Bridge(QObject):
    finished = Signal(object, object, object)  # callback, value, error


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], Any], bridge: _Bridge, on_done: Done | None, on_error: Failed | None) -> None:
        super().__init__()
        self.fn, self.bridge, self.on_done, self.on_error = fn, bridge, on_done, on_error

    def run(self) -> None:
        try:
            value = self.fn()
        except BaseException as exc:  # handed to the GUI thread, which shows it
            self.bridge.finished.emit(self.on_error, None, exc)
            return
        self.bridge.finished.emit(self.on_done, value, None)


class TaskManager(QObject):
    busy_changed = Signal(int)

    def __init__(self, synchronous: bool = False) -> None:
        super().__init__()
        self.synchronous = synchronous
        self.db_pool = QThreadPool()
        self.db_pool.setMaxThreadCount(1)
        self.net_pool = QThreadPool()
        self.net_pool.setMaxThreadCount(4)
        self._bridge = _Bridge()
        self._bridge.finished.connect(self._deliver)
        self._running = 0
        self.default_error: Failed | None = None

    def _start(self, pool: QThreadPool, fn: Callable[[], Any], on_done: Done | None, on_error: Failed | None) -> None:
        on_error = on_error or self.default_error
        self._running += 1
        self.busy_changed.emit(self._running)
        job = _Job(fn, self._bridge, on_done, on_error)
        if self.synchronous:
            job.run()
        else:
            pool.start(job)

    def run_db(self, fn: Callable[[], Any], on_done: Done | None = None, on_error: Failed | None = None) -> None:
        """Database work (reads and unit-of-work changes), one at a time."""
        self._start(self.db_pool, fn, on_done, on_error)

    def run_net(self, fn: Callable[[], Any], on_done: Done | None = None, on_error: Failed | None = None) -> None:
        """Network work (provider polls, sends), in parallel."""
        self._start(self.net_pool, fn, on_done, on_error)

    @Slot(object, object, object)
    def _deliver(self, callback: Callable[[Any], None] | None, value: Any, error: BaseException | None) -> None:
        self._running -= 1
        self.busy_changed.emit(self._running)
        if callback is None:
            if error is not None:
                log.error("background task failed", exc_info=error)
            return
        callback(error if error is not None else value)

    def wait_idle(self, msecs: int = 10_000) -> bool:
        return self.db_pool.waitForDone(msecs) and self.net_pool.waitForDone(msecs)
