"""Credentials live only in the OS keyring, or — where none exists and the user chose it — an encrypted file.

Never in the database, a settings file, a log line or an error message: every secret read or
written is registered with :class:`RedactingFilter`, which masks it in any log record.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any, ClassVar

import keyring
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from keyring.backend import KeyringBackend
from keyring.errors import KeyringError, NoKeyringError, PasswordDeleteError

from app.errors import ConfigurationError, SecretStoreUnavailable

SERVICE = "ClinicBillingDesk"
PASSPHRASE_ENV = "CLINIC_BILLING_SECRETS_PASSPHRASE"  # noqa: S105 - a variable name


class RedactingFilter(logging.Filter):
    """Masks every known secret value in log messages and their arguments."""

    _secrets: ClassVar[set[str]] = set()
    _lock = threading.Lock()

    @classmethod
    def register(cls, value: str) -> None:
        if value and len(value) >= 4:
            with cls._lock:
                cls._secrets.add(value)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        masked = message
        for secret in list(self._secrets):
            masked = masked.replace(secret, "***")
        if masked != message:
            record.msg, record.args = masked, None
        return True


def keyring_available(backend: KeyringBackend | None = None) -> bool:
    kr = backend or keyring.get_keyring()
    name = type(kr).__module__ + "." + type(kr).__name__
    return "fail" not in name.lower() and "null" not in name.lower() and kr.priority > 0


class EncryptedFileBackend:
    """An explicit fallback for machines with no keyring: Fernet (AES-128-CBC + HMAC), key from scrypt."""

    def __init__(self, path: Path, passphrase: str) -> None:
        if len(passphrase) < 8:
            raise ConfigurationError("The secrets passphrase needs at least 8 characters.")
        self.path = path
        self._passphrase = passphrase.encode("utf-8")
        RedactingFilter.register(passphrase)

    def _fernet(self, salt: bytes) -> Fernet:
        key = Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(self._passphrase)
        return Fernet(base64.urlsafe_b64encode(key))

    def _load(self) -> tuple[bytes, dict[str, str]]:
        if not self.path.exists():
            return os.urandom(16), {}
        doc = json.loads(self.path.read_text("utf-8"))
        salt = base64.b64decode(doc["salt"])
        try:
            plain = self._fernet(salt).decrypt(doc["token"].encode("ascii"))
        except InvalidToken as exc:
            raise ConfigurationError("The secrets file could not be opened: wrong passphrase?") from exc
        data: dict[str, str] = json.loads(plain)
        return salt, data

    def _save(self, salt: bytes, data: dict[str, str]) -> None:
        token = self._fernet(salt).encrypt(json.dumps(data).encode("utf-8")).decode("ascii")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"salt": base64.b64encode(salt).decode("ascii"), "token": token}), "utf-8")
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def get(self, name: str) -> str | None:
        return self._load()[1].get(name)

    def set(self, name: str, value: str) -> None:
        salt, data = self._load()
        data[name] = value
        self._save(salt, data)

    def delete(self, name: str) -> None:
        salt, data = self._load()
        if data.pop(name, None) is not None:
            self._save(salt, data)


class SecretStore:
    """Named credentials, e.g. ``stripe.api_key`` or ``insurer.axa.password``."""

    def __init__(self, backend: KeyringBackend | None = None, fallback: EncryptedFileBackend | None = None) -> None:
        self._backend = backend
        self._fallback = fallback

    @classmethod
    def from_environment(cls, data_dir: Path) -> SecretStore:
        """OS keyring if there is one; else the encrypted file if a passphrase was given in the environment."""
        if keyring_available():
            return cls()
        passphrase = os.environ.get(PASSPHRASE_ENV)
        if passphrase:
            return cls(fallback=EncryptedFileBackend(data_dir / "secrets.enc", passphrase))
        return cls(backend=None, fallback=None)

    @property
    def description(self) -> str:
        if self._fallback is not None:
            return f"encrypted file ({self._fallback.path.name})"
        kr = self._backend or keyring.get_keyring()
        return f"OS keyring ({type(kr).__name__})" if keyring_available(kr) else "none available"

    @property
    def available(self) -> bool:
        return self._fallback is not None or keyring_available(self._backend)

    def _kr(self) -> Any:
        if not keyring_available(self._backend):
            raise SecretStoreUnavailable(
                "No keyring is available on this computer, so credentials cannot be stored safely. "
                "In Settings → Credentials choose 'Encrypted file' and set a passphrase "
                f"(or set {PASSPHRASE_ENV} for the command line)."
            )
        return self._backend or keyring.get_keyring()

    def set(self, name: str, value: str) -> None:
        RedactingFilter.register(value)
        if self._fallback is not None:
            self._fallback.set(name, value)
            return
        try:
            self._kr().set_password(SERVICE, name, value)
        except (KeyringError, NoKeyringError) as exc:
            raise SecretStoreUnavailable(f"The keyring refused to store {name!r}: {type(exc).__name__}.") from None

    def get(self, name: str) -> str | None:
        if self._fallback is not None:
            value = self._fallback.get(name)
        else:
            try:
                value = self._kr().get_password(SERVICE, name)
            except (KeyringError, NoKeyringError):
                raise SecretStoreUnavailable(f"The keyring could not be read for {name!r}.") from None
        if value:
            RedactingFilter.register(value)
        return value

    def require(self, name: str) -> str:
        value = self.get(name)
        if not value:
            raise ConfigurationError(f"No credential {name!r} is stored: add it in Settings → Credentials.")
        return value

    def delete(self, name: str) -> None:
        if self._fallback is not None:
            self._fallback.delete(name)
            return
        try:
            self._kr().delete_password(SERVICE, name)
        except PasswordDeleteError:
            pass
