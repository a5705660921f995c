"""ui/ calls services in app/ (through AppContext.query/change) and never touches the database itself."""

import re
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "ui"


def test_ui_never_opens_a_session_or_imports_sqlalchemy() -> None:
    offenders = []
    for path in UI.rglob("*.py"):
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if re.search(r"^\s*(from|import)\s+sqlalchemy|\.db\.(read|unit_of_work)\(|\bSession\(", line):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert offenders == []
