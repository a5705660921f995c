"""What every view gets from the main window: the app context, background runners, the acting user,
and the two ways to talk to the user."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.audit import Actor
from app.context import AppContext
from ui.taskman import TaskManager


@dataclass
class ViewEnv:
    ctx: AppContext
    tasks: TaskManager
    actor: Actor
    show_error: Callable[[BaseException], None]
    notify: Callable[[str], None]

    def run_db(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None) -> None:
        self.tasks.run_db(fn, on_done)

    def run_net(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None) -> None:
        self.tasks.run_net(fn, on_done)

    def act(self, fn: Callable[[], Any], done: Callable[[Any], None] | str, *, network: bool = False) -> None:
        """Run a change in the background; show its error, or say/do ``done`` when it succeeded."""

        def after(result: Any) -> None:
            if isinstance(result, BaseException):
                self.show_error(result)
            elif isinstance(done, str):
                self.notify(done)
            else:
                done(result)

        (self.tasks.run_net if network else self.tasks.run_db)(fn, after, after)
