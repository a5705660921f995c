"""Shared persistence: incoming files recognised once, artefacts frozen, journals posted once."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.archive import keep_artefact, quarantine, register_incoming
from app.audit import SYSTEM
from app.claims.artefacts import ArtefactStore
from app.context import AppContext
from app.db.models import ImportedFile, JournalLine
from app.errors import DomainError
from app.ledger.journals import JournalEntry
from app.ledger.journals import JournalLine as Line
from app.ledger.store import load_entries, post_entries
from app.money import Money
from app.sequences import next_value


def test_same_file_twice_is_a_duplicate_and_bad_files_are_quarantined(any_ctx: AppContext) -> None:
    store = ArtefactStore(any_ctx.paths.archive)
    with any_ctx.db.unit_of_work() as s:
        first = register_incoming(
            s, any_ctx.clock, SYSTEM, store, kind="x12_835", source="aetna", filename="a.835", data=b"ISA*..."
        )
        again = register_incoming(
            s, any_ctx.clock, SYSTEM, store, kind="x12_835", source="aetna", filename="b.835", data=b"ISA*..."
        )
        assert not first.duplicate and again.duplicate and again.file.id == first.file.id
        quarantine(
            s,
            any_ctx.clock,
            SYSTEM,
            store,
            kind="x12_835",
            source="aetna",
            filename="bad.835",
            data=b"junk",
            reason="segment 3: bad amount",
        )
    with any_ctx.db.read() as s:
        rows = {r.filename: r.status for r in s.scalars(select(ImportedFile))}
    assert rows == {"a.835": "processed", "bad.835": "quarantined"}
    assert store.get(first.file.sha256) == b"ISA*..."


def test_frozen_artefact_cannot_be_replaced(ctx: AppContext) -> None:
    store = ArtefactStore(ctx.paths.archive)
    with ctx.db.unit_of_work() as s:
        keep_artefact(s, ctx.clock, store, "claim", 1, "CLM-000001.xml", b"<Claim/>", replace=False)
        keep_artefact(s, ctx.clock, store, "claim", 1, "CLM-000001.xml", b"<Claim/>", replace=False)  # same: fine
        with pytest.raises(DomainError, match="frozen"):
            keep_artefact(s, ctx.clock, store, "claim", 1, "CLM-000001.xml", b"<Claim>changed</Claim>", replace=False)


def test_journals_post_once_and_read_back(any_ctx: AppContext) -> None:
    entry = JournalEntry(
        "JE-TEST1",
        date(2026, 11, 20),
        "Remittance TRN1",
        "remittance",
        "1",
        (Line("1200", Money(10_000), Money(0)), Line("1100", Money(0), Money(10_000))),
    )
    with any_ctx.db.unit_of_work() as s:
        assert post_entries(s, any_ctx.clock, SYSTEM, [entry]) == ["JE-TEST1"]
    with any_ctx.db.unit_of_work() as s:
        assert post_entries(s, any_ctx.clock, SYSTEM, [entry]) == []
    with any_ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(JournalLine)) == 2
        (back,) = load_entries(s)
    assert back.entry_id == "JE-TEST1" and back.total_debits == Money(10_000)


def test_sequences_count_up(ctx: AppContext) -> None:
    with ctx.db.unit_of_work() as s:
        assert [next_value(s, "x12.isa") for _ in range(3)] == [1, 2, 3]
    with ctx.db.unit_of_work() as s:
        assert next_value(s, "x12.isa") == 4
