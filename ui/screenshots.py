"""Save a PNG of the main window on each view, with demo data. Run: python -m ui.screenshots [OUT_DIR]

Works offscreen (QT_QPA_PLATFORM=offscreen) or in a real window under Xvfb (DISPLAY set).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication


def capture(out_dir: Path, db_url: str | None = None, user: str = "manager", pin: str = "2222") -> dict[str, Path]:
    from app.context import AppContext
    from app.demo import load_demo
    from app.users import sign_in
    from ui.mainwindow import NAV, MainWindow
    from ui.taskman import TaskManager

    app = QApplication.instance() or QApplication(sys.argv)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = AppContext.open(db_url or str(Path(tmp) / "demo.sqlite3"))
        if db_url is None:
            load_demo(ctx.db, ctx.clock)
        actor = sign_in(ctx.db, ctx.clock, user, pin)
        window = MainWindow(ctx, actor, TaskManager(synchronous=True))
        window.show()
        saved = {}
        for name in NAV:
            window.select(name)
            app.processEvents()
            path = out_dir / f"{NAV.index(name):02d}-{name.lower().replace(' ', '-')}.png"
            window.grab().save(str(path))
            saved[name] = path
        window.close()
        ctx.close()
    return saved


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
    for view, file in capture(target).items():
        print(f"{view}: {file}")
