"""Where the app keeps its files: platformdirs, overridable with CLINIC_BILLING_HOME (tests, demos)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "ClinicBillingDesk"


@dataclass(frozen=True)
class AppPaths:
    data: Path
    logs: Path

    @property
    def default_db(self) -> Path:
        return self.data / "clinic-billing.sqlite3"

    @property
    def archive(self) -> Path:
        """Content-addressed store of every artefact (claim packs, raw remittances, PDFs)."""
        return self.data / "archive"

    @property
    def backups(self) -> Path:
        return self.data / "backups"

    @property
    def exports(self) -> Path:
        return self.data / "exports"

    @property
    def quarantine(self) -> Path:
        return self.data / "quarantine"

    def ensure(self) -> AppPaths:
        for p in (self.data, self.logs, self.archive, self.backups, self.exports, self.quarantine):
            p.mkdir(parents=True, exist_ok=True)
        return self


def app_paths() -> AppPaths:
    home = os.environ.get("CLINIC_BILLING_HOME")
    if home:
        root = Path(home)
        return AppPaths(data=root, logs=root / "logs")
    return AppPaths(
        data=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        logs=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )
