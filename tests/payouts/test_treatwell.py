"""Treatwell: statement CSV via the sandbox, and by hand with a changed layout through a saved mapping."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from app.clock import FixedClock
from app.connectors.treatwell import TreatwellSource
from app.errors import PermanentError, TransientError, ValidationFailed
from app.imports.csv_mapping import ColumnMapping, suggest_mapping
from app.money import Money
from app.payouts.formats import DEFAULT_TREATWELL_MAPPING, PAYOUT_CSV_SCHEMA
from app.payouts.normalise import check_payout_total, normalise_treatwell
from sandboxes.treatwell import TreatwellSandbox
from tests.payouts.samples import TW_PASSWORD, TW_USER

RESOURCES = Path(__file__).parents[2] / "resources/marketplaces"
SAMPLE = (RESOURCES / "treatwell-settlement-sample.csv").read_bytes()
SINCE = datetime(2026, 3, 1, tzinfo=UTC)


def seed(sandbox: TreatwellSandbox, statement_id: str, payout_date: str, body: bytes) -> None:
    params = {"id": statement_id, "payout_date": payout_date, "currency": "GBP", "total_net": "206.08"}
    httpx.post(f"{sandbox.base_url}/_sandbox/statements", params=params, content=body, timeout=5).raise_for_status()


def test_statement_via_sandbox_is_unchanged_and_normalises(
    treatwell: TreatwellSandbox, treatwell_client: httpx.Client, clock: FixedClock
) -> None:
    seed(treatwell, "TW-ST-0990", "2026-02-24", SAMPLE.replace(b"TW-ST-1001", b"TW-ST-0990"))
    seed(treatwell, "TW-ST-1001", "2026-03-10", SAMPLE)
    source = TreatwellSource(treatwell_client, TW_USER, TW_PASSWORD, clock=clock)

    (raw,) = source.fetch_settlements(SINCE)

    assert (raw.source, raw.name, raw.content, raw.received_at) == (
        "treatwell",
        "treatwell-TW-ST-1001.csv",
        SAMPLE,
        clock.now(),
    )
    (payout,) = normalise_treatwell(raw.content, raw.name, DEFAULT_TREATWELL_MAPPING)
    assert (payout.source, payout.payout_ref, payout.payout_date, payout.total_net) == (
        "treatwell",
        "TW-ST-1001",
        date(2026, 3, 10),
        Money(20608),
    )
    assert len(payout.lines) == 5
    assert payout.lines[4].gross == Money(-5500)  # a late-cancellation refund
    assert check_payout_total(payout) == []


def test_wrong_password_and_outage(treatwell: TreatwellSandbox, treatwell_client: httpx.Client) -> None:
    with pytest.raises(PermanentError, match="401") as caught:
        TreatwellSource(treatwell_client, TW_USER, "not-the-password").fetch_settlements(SINCE)
    assert "not-the-password" not in str(caught.value)
    httpx.post(f"{treatwell.base_url}/_sandbox/faults?status=503", timeout=5).raise_for_status()
    with pytest.raises(TransientError):
        TreatwellSource(treatwell_client, TW_USER, TW_PASSWORD).fetch_settlements(SINCE)


def _reshaped_sample() -> bytes:
    """The sample as if Treatwell renamed and reordered its columns and switched to semicolons."""
    renames = {
        "Statement ID": "Settlement Ref",
        "Payout Date": "Paid On",
        "Booking Reference": "Booking No",
        "Customer Reference": "Client Ref",
        "Appointment Date": "Visit Date",
        "Treatment Price": "Price",
        "Treatwell Commission": "Commission",
        "Payment Processing Fee": "Card Fee",
        "VAT on Fees": "VAT",
        "Net Payout": "Net",
    }
    rows = list(csv.DictReader(io.StringIO(SAMPLE.decode())))
    order = [
        "Net",
        "Client Ref",
        "Visit Date",
        "Booking No",
        "Price",
        "Commission",
        "Card Fee",
        "VAT",
        "Currency",
        "Settlement Ref",
        "Paid On",
        "Statement Net Total",
        "Service",
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=order, delimiter=";", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({renames.get(k, k): v for k, v in row.items()})
    return out.getvalue().encode()


def test_changed_layout_needs_only_a_new_saved_mapping() -> None:
    reshaped = _reshaped_sample()
    with pytest.raises(ValidationFailed) as caught:  # the old mapping names the missing columns up front
        normalise_treatwell(reshaped, "tw-new.csv", DEFAULT_TREATWELL_MAPPING)
    assert caught.value.problems[0].startswith("column 'Statement ID' (for 'payout_ref') is not in the file")

    header = reshaped.decode().splitlines()[0].split(";")
    guessed = suggest_mapping(header, PAYOUT_CSV_SCHEMA)
    saved = ColumnMapping(
        source="treatwell", columns=guessed, delimiter=";", date_formats=("%d/%m/%Y",)
    ).to_json()  # what the mapping dialog stores

    by_hand = normalise_treatwell(reshaped, "tw-new.csv", ColumnMapping.from_json(saved))
    assert by_hand == normalise_treatwell(SAMPLE, "tw.csv", DEFAULT_TREATWELL_MAPPING)


def test_saved_default_mapping_matches_the_code() -> None:
    saved = (RESOURCES / "treatwell-mapping.json").read_text("utf-8")
    assert ColumnMapping.from_json(saved) == DEFAULT_TREATWELL_MAPPING
