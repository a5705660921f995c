"""Content-addressed archive of what left the clinic, plus deterministic claim artefacts.

:class:`ArtefactStore` keeps each byte string at ``root/ab/cd/<sha256>``: the name *is* the hash,
so different content can never be stored under an existing name, and :meth:`ArtefactStore.get`
re-hashes on every read so a file changed on disk is detected. Files are written to a temporary
file in the same folder, then moved into place with ``os.replace`` and made read-only.

``hash-report.json``, ``attachments.zip`` and dispatch log lines are byte-for-byte reproducible
from the same input (sorted names, fixed zip timestamps, sorted JSON keys).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import tempfile
import zipfile
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Final

from app.clock import ensure_utc
from app.errors import DomainError, NotFound, ValidationFailed

_SHA_RE: Final = re.compile(r"^[0-9a-f]{64}$")
_READ_ONLY: Final = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
_ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)


class ArtefactCorrupted(DomainError):
    """An archived file no longer matches its hash: it was changed or damaged on disk."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ArtefactStore:
    """Write-once store of byte strings keyed by their SHA-256."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha: str) -> Path:
        if not _SHA_RE.fullmatch(sha):
            raise NotFound(f"{sha!r} is not an archive reference (expected 64 lowercase hex digits).")
        return self.root / sha[:2] / sha[2:4] / sha

    def exists(self, sha: str) -> bool:
        return self.path_for(sha).is_file()

    def put(self, data: bytes) -> str:
        """Store ``data`` (once) and return its SHA-256; storing it again is a no-op."""
        sha = sha256_hex(data)
        target = self.path_for(sha)
        if target.is_file():
            self._verified(sha, target)  # same content already there, unless it was tampered with
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            tmp.chmod(_READ_ONLY)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return sha

    def get(self, sha: str) -> bytes:
        """The stored bytes; :class:`ArtefactCorrupted` if they no longer match ``sha``."""
        target = self.path_for(sha)
        if not target.is_file():
            raise NotFound(f"Archived file {sha} is not in the archive at {self.root}.")
        return self._verified(sha, target)

    @staticmethod
    def _verified(sha: str, target: Path) -> bytes:
        data = target.read_bytes()
        if sha256_hex(data) != sha:
            raise ArtefactCorrupted(
                f"Archived file {target} has been changed or damaged: its content no longer matches "
                "the fingerprint recorded when it was sent. Restore it from backup."
            )
        return data


# --------------------------------------------------------------------------- deterministic files


def _check_names(attachments: Mapping[str, bytes]) -> list[str]:
    problems = []
    for name in attachments:
        if not name or name in {".", ".."} or "/" in name or "\\" in name or name != name.strip():
            problems.append(f"attachment name {name!r} must be a plain file name (no folders)")
    return problems


def hash_report(attachments: Mapping[str, bytes]) -> bytes:
    """``hash-report.json``: name, size and SHA-256 of each attachment, sorted by name."""
    problems = _check_names(attachments)
    if problems:
        raise ValidationFailed("Cannot write the hash report.", problems)
    files = [
        {"name": name, "sha256": sha256_hex(attachments[name]), "size": len(attachments[name])}
        for name in sorted(attachments)
    ]
    text = json.dumps({"algorithm": "sha256", "files": files}, sort_keys=True, indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def zip_attachments(attachments: Mapping[str, bytes]) -> bytes:
    """``attachments.zip``: sorted names, fixed timestamps and permissions, deflated."""
    problems = _check_names(attachments)
    if problems:
        raise ValidationFailed("Cannot build attachments.zip.", problems)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(attachments):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever the platform, so the bytes do not vary
            info.external_attr = 0o644 << 16
            archive.writestr(info, attachments[name], compresslevel=9)
    return buffer.getvalue()


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return ensure_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return str(value.value)
    raise TypeError(f"cannot write {type(value).__name__} to the dispatch log")


def dispatch_log_line(event: Mapping[str, object]) -> bytes:
    """One NDJSON line (keys sorted, compact, UTF-8, ending in a newline)."""
    text = json.dumps(dict(event), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    return (text + "\n").encode("utf-8")
