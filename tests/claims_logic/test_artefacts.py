"""Content-addressed archive and byte-for-byte reproducible claim artefacts."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from app.claims.artefacts import (
    ArtefactCorrupted,
    ArtefactStore,
    dispatch_log_line,
    hash_report,
    zip_attachments,
)
from app.errors import NotFound, ValidationFailed

ATTACHMENTS = {"report.pdf": b"%PDF-1.7 clinical report", "referral.txt": "GP referral – £".encode()}


def test_round_trip_layout_and_read_only(tmp_path: Path) -> None:
    store = ArtefactStore(tmp_path)
    sha = store.put(b"<Claim/>")
    assert sha == hashlib.sha256(b"<Claim/>").hexdigest()
    path = tmp_path / sha[:2] / sha[2:4] / sha
    assert path.read_bytes() == b"<Claim/>"
    assert stat.S_IMODE(path.stat().st_mode) & 0o222 == 0
    assert store.exists(sha) and store.get(sha) == b"<Claim/>"
    assert store.put(b"<Claim/>") == sha  # idempotent
    assert [p.name for p in path.parent.iterdir()] == [sha]  # no temp files left behind


def test_tampered_file_is_detected(tmp_path: Path) -> None:
    store = ArtefactStore(tmp_path)
    sha = store.put(b"original claim")
    path = store.path_for(sha)
    path.chmod(0o644)
    path.write_bytes(b"altered claim")
    with pytest.raises(ArtefactCorrupted, match="changed or damaged"):
        store.get(sha)
    with pytest.raises(ArtefactCorrupted):
        store.put(b"original claim")


def test_missing_and_malformed_references(tmp_path: Path) -> None:
    store = ArtefactStore(tmp_path)
    with pytest.raises(NotFound):
        store.get("0" * 64)
    with pytest.raises(NotFound, match="not an archive reference"):
        store.get("../../etc/passwd")
    assert not store.exists("a" * 64)


def test_failed_write_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ArtefactStore(tmp_path)

    def refuse(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        store.put(b"data")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_hash_report_is_sorted_and_deterministic() -> None:
    report = hash_report(ATTACHMENTS)
    assert report == hash_report(dict(reversed(list(ATTACHMENTS.items()))))
    parsed = json.loads(report)
    assert parsed["algorithm"] == "sha256"
    assert [f["name"] for f in parsed["files"]] == ["referral.txt", "report.pdf"]
    assert parsed["files"][1] == {
        "name": "report.pdf",
        "sha256": hashlib.sha256(ATTACHMENTS["report.pdf"]).hexdigest(),
        "size": len(ATTACHMENTS["report.pdf"]),
    }


def test_zip_is_deterministic_and_complete() -> None:
    first = zip_attachments(ATTACHMENTS)
    second = zip_attachments(dict(reversed(list(ATTACHMENTS.items()))))
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert archive.namelist() == ["referral.txt", "report.pdf"]
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in archive.infolist())
        assert archive.read("referral.txt") == ATTACHMENTS["referral.txt"]
        assert archive.testzip() is None


def test_folder_names_are_refused() -> None:
    with pytest.raises(ValidationFailed, match="plain file name"):
        zip_attachments({"../evil.txt": b"x", "ok.txt": b"y"})
    with pytest.raises(ValidationFailed):
        hash_report({"a/b.txt": b"x"})


def test_dispatch_log_line_is_one_sorted_line() -> None:
    event = {
        "when": datetime(2025, 6, 1, 9, 30, tzinfo=UTC),
        "claim": "CLM-1",
        "amount": Decimal("65.00"),
        "note": "line one\nline two",
    }
    line = dispatch_log_line(event)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert line == (
        b'{"amount":"65.00","claim":"CLM-1","note":"line one\\nline two","when":"2025-06-01T09:30:00+00:00"}\n'
    )
    with pytest.raises(TypeError):
        dispatch_log_line({"x": object()})
