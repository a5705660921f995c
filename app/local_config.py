"""The one thing that cannot live in the database: which database to open. A password in a
PostgreSQL URL is moved to the keyring, never written to this file."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import make_url

from app.db.engine import normalise_url
from app.secrets import SecretStore

DB_PASSWORD_SECRET = "database.password"  # noqa: S105 - the keyring entry name, not a password


def config_path(data_dir: Path) -> Path:
    return data_dir / "desk.json"


def save_database_url(data_dir: Path, url: str, secrets: SecretStore | None) -> str:
    """Store the database URL for this desk; returns the URL as written (without password)."""
    normalised = normalise_url(url)
    parsed = make_url(normalised)
    if parsed.password:
        if secrets is None:
            raise ValueError("no secret store for the database password")
        secrets.set(DB_PASSWORD_SECRET, parsed.password)
        parsed = parsed._replace(password=None)  # URL.set(password=None) keeps it
    text = parsed.render_as_string(hide_password=False)
    path = config_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"database_url": text}, indent=2), "utf-8")
    return text


def load_database_url(data_dir: Path, secrets: SecretStore | None) -> str | None:
    path = config_path(data_dir)
    if not path.exists():
        return None
    url = json.loads(path.read_text("utf-8")).get("database_url")
    if not url:
        return None
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and secrets is not None and secrets.available:
        password = secrets.get(DB_PASSWORD_SECRET)
        if password:
            parsed = parsed.set(password=password)
    return parsed.render_as_string(hide_password=False)
