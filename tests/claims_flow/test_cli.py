"""``clinic-billing claims …`` in-process, on the same database, data folder and keyring as the app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import keyring
import pytest

from app.cli.main import main
from app.domain.status import ClaimStatus
from app.paths import AppPaths
from tests.claims_flow.conftest import PASSWORDS, World
from tests.support.memory_keyring import MemoryKeyring


@pytest.fixture
def cli(world: World, paths: AppPaths, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    ring = MemoryKeyring()
    for code, password in PASSWORDS.items():
        ring.set_password("ClinicBillingDesk", f"insurer.{code}.password", password)
    previous = keyring.get_keyring()
    keyring.set_keyring(ring)
    monkeypatch.setenv("CLINIC_BILLING_HOME", str(paths.data))
    monkeypatch.setenv("CLINIC_BILLING_PIN", "2222")
    yield world
    keyring.set_keyring(previous)


def run(world: World, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([args[0], args[1], *args[2:], "--db", world.ctx.db.url])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_pack_submit_list_and_export(cli: World, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    world = cli
    claim_id = world.claim("bupa")
    number = world.get(claim_id).number
    code, out, _ = run(world, capsys, "claims", "check", number, "--user", "manager")
    assert code == 0 and f"{number} checked: ready" in out
    code, out, _ = run(world, capsys, "claims", "pack", number, "--out", str(tmp_path / "pack"), "--user", "manager")
    assert code == 0
    names = {p.name for p in (tmp_path / "pack").iterdir()}
    assert names == {f"{number}.xml", "eligibility.json", "coding-audit.csv", "attachments.zip", "hash-report.json"}
    code, out, _ = run(world, capsys, "claims", "submit", str(claim_id), "--user", "manager")
    assert code == 0 and "queued" in out and world.status(claim_id) is ClaimStatus.QUEUED
    code, _, err = run(world, capsys, "claims", "submit", number, "--user", "manager")
    assert code == 2 and "already queued" in err and world.outbox_count() == 1
    code, out, _ = run(world, capsys, "claims", "list", "--status", "queued", "--json")
    assert code == 0 and [r["number"] for r in json.loads(out)] == [number]
    world.clock.set(datetime.now(UTC) + timedelta(minutes=1))  # the CLI queued it on the real clock
    assert world.dispatch().sent == 1
    code, out, _ = run(world, capsys, "claims", "pack", number, "--out", str(tmp_path / "sent"), "--user", "manager")
    assert code == 0 and "dispatch-log.ndjson" in {p.name for p in (tmp_path / "sent").iterdir()}


def test_blocking_check_and_mapping_import(cli: World, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    world = cli
    claim_id = world.claim("bupa", codes=("ZZZ99",))
    code, out, _ = run(world, capsys, "claims", "check", str(claim_id), "--user", "manager")
    assert code == 3 and "ZZZ99 has no mapping" in out
    mapping = tmp_path / "bupa.csv"
    mapping.write_text(
        "clinic_code,insurer_code,description,valid_from,valid_to,requires_authorisation\n"
        "ZZZ99,BPHY01,Special session,2024-01-01,,no\n"
    )
    args = ("claims", "mappings", "import", str(mapping), "--clinic", str(world.clinic_id), "--payer", "bupa")
    code, out, _ = run(world, capsys, *args, "--user", "manager")
    assert code == 0 and "Imported 1 mapping" in out
    code, out, _ = run(world, capsys, "claims", "check", str(claim_id), "--user", "manager")
    assert code == 0 and "checked: ready" in out
    code, _, err = run(world, capsys, "claims", "submit", "CLM-999999", "--user", "manager")
    assert code == 2 and "No claim 'CLM-999999'" in err
