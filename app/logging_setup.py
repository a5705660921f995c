"""A rotating log file under the user's log folder; secrets are masked in every record."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from app.secrets import RedactingFilter


def configure_logging(log_dir: Path, level: int = logging.INFO, to_stderr: bool = False) -> Path:
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "clinic-billing.log"
    root = logging.getLogger()
    root.setLevel(level)
    for h in list(root.handlers):
        if getattr(h, "_clinic_billing", False):
            root.removeHandler(h)
    handler = RotatingFileHandler(path, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))
    handler.addFilter(RedactingFilter())
    handler._clinic_billing = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    if to_stderr:
        err = logging.StreamHandler()
        err.setLevel(logging.WARNING)
        err.addFilter(RedactingFilter())
        err._clinic_billing = True  # type: ignore[attr-defined]
        root.addHandler(err)
    return path
