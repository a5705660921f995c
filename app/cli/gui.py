"""Start the desktop app. The only place in ``app/`` that reaches for ``ui/`` — lazily, by name."""

from __future__ import annotations

import argparse
import importlib


def launch_gui(args: argparse.Namespace) -> int:
    ui_main = importlib.import_module("ui.main")
    code: int = ui_main.run(db_url=args.db, demo=args.demo)
    return code
