"""Credentials go to the keyring (or an explicit encrypted file), never to the DB file or the logs."""

from __future__ import annotations

import logging
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from app.audit import SYSTEM
from app.context import AppContext
from app.errors import ConfigurationError, SecretStoreUnavailable
from app.local_config import config_path, load_database_url, save_database_url
from app.logging_setup import configure_logging
from app.outbox import enqueue
from app.secrets import EncryptedFileBackend, SecretStore
from app.settings import set_setting
from tests.support.memory_keyring import MemoryKeyring

SECRET = "sk_live_51ThisMustNeverLeakAnywhere9f8e7d"
PG_PASSWORD = "Pg-pa55word-never-on-disk"


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_secret_never_reaches_db_file_or_logs(
    ctx: AppContext, tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    backend = MemoryKeyring()
    store = SecretStore(backend=backend)
    log_file = configure_logging(ctx.paths.logs)
    store.set("stripe.api_key", SECRET)
    assert store.get("stripe.api_key") == SECRET
    # the app uses it and talks about it the way real code does
    log = logging.getLogger("app.connectors.stripe_cards")
    log.warning("request failed with key %s", store.get("stripe.api_key"))
    log.error(f"calling Stripe with Authorization: Bearer {SECRET}")
    with ctx.db.unit_of_work() as s:
        set_setting(s, ctx.clock, SYSTEM, "endpoints", {"stripe": "http://127.0.0.1:1"})
        enqueue(
            s,
            ctx.clock,
            SYSTEM,
            kind="refund.execute",
            provider="stripe",
            payload={"payment": "pi_1"},
            idempotency_key="r-1",
        )
    save_database_url(ctx.paths.data, f"postgresql://desk:{PG_PASSWORD}@127.0.0.1:5432/clinic", store)
    ctx.db.dispose()
    for handler in logging.getLogger().handlers:
        handler.flush()
    haystack = _all_bytes(tmp_path) + log_file.read_bytes()
    assert b"stripe.api_key" not in haystack or SECRET.encode() not in haystack
    assert SECRET.encode() not in haystack
    assert PG_PASSWORD.encode() not in haystack
    assert b"***" in log_file.read_bytes()  # it was masked, not silently dropped
    assert backend.store[("ClinicBillingDesk", "stripe.api_key")] == SECRET
    assert "desk@127.0.0.1" in config_path(ctx.paths.data).read_text()
    assert load_database_url(ctx.paths.data, store) == f"postgresql+psycopg://desk:{PG_PASSWORD}@127.0.0.1:5432/clinic"


def test_no_keyring_gives_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    store = SecretStore.from_environment(tmp_path)
    assert not store.available
    with pytest.raises(SecretStoreUnavailable, match=r"No keyring is available.*Encrypted file"):
        store.set("stripe.api_key", SECRET)


def test_explicit_encrypted_file_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    monkeypatch.setenv("CLINIC_BILLING_SECRETS_PASSPHRASE", "correct horse battery")
    store = SecretStore.from_environment(tmp_path)
    assert store.available and "encrypted file" in store.description
    store.set("square.access_token", SECRET)
    raw = (tmp_path / "secrets.enc").read_bytes()
    assert SECRET.encode() not in raw
    assert SecretStore.from_environment(tmp_path).get("square.access_token") == SECRET
    with pytest.raises(ConfigurationError, match="wrong passphrase"):
        EncryptedFileBackend(tmp_path / "secrets.enc", "not the passphrase").get("square.access_token")
