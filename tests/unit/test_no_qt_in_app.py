"""app/ never imports Qt or ui/: proven by importing every module of app/ in a fresh interpreter."""

import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import app

ROOT = Path(app.__file__).parent


def test_no_module_in_app_imports_qt_or_ui_statically() -> None:
    offenders = []
    for path in ROOT.rglob("*.py"):
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if re.match(r"\s*(from|import)\s+(PySide6|PyQt\d|shiboken6|ui)(\.|\s|$)", line):
                offenders.append(f"{path.relative_to(ROOT.parent)}:{n}: {line.strip()}")
    assert offenders == []


def test_importing_all_of_app_loads_no_qt() -> None:
    names = [m.name for m in pkgutil.walk_packages([str(ROOT)], prefix="app.")]
    assert len(names) > 20
    code = (
        "import importlib, sys\n"
        f"for n in {names!r}:\n    importlib.import_module(n)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'ui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "", f"app/ pulled in: {out.stdout}"
