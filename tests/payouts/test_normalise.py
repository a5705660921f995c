"""One payout shape: totals that do not add up are flagged; Parquet holds int64 minor units."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from app.money import Money
from app.payouts.normalise import (
    PARQUET_NAME,
    Payout,
    check_payout_total,
    normalise_classpass,
    payout_lines_frame,
    to_parquet,
)
from tests.payouts.samples import CLASSPASS_PAYOUT


def _payout() -> Payout:
    (payout,) = normalise_classpass(CLASSPASS_PAYOUT, "po.json")
    return payout


def test_consistent_payout_has_no_flags() -> None:
    assert check_payout_total(_payout()) == []


def test_total_that_does_not_add_up_is_flagged_not_raised() -> None:
    payout = dataclasses.replace(_payout(), total_net=Money(10812))
    assert check_payout_total(payout) == [
        "classpass payout po_2026_03_001: the lines add up to £107.12 but the payout total is £108.12 "
        "(difference £1.00)"
    ]


def test_line_whose_deductions_do_not_add_up_is_flagged() -> None:
    doc = json.loads(CLASSPASS_PAYOUT)
    doc["lines"][1]["net"] = "41.48"
    doc["total_net"] = "108.12"
    (payout,) = normalise_classpass(json.dumps(doc).encode(), "po.json")
    assert check_payout_total(payout) == [
        "classpass payout po_2026_03_001, line 2 (booking CPB-1002): price less deductions is £40.48, "
        "but the net shown is £41.48"
    ]


def test_a_list_of_payouts_is_read_too() -> None:
    doc = {"data": [json.loads(CLASSPASS_PAYOUT), {**json.loads(CLASSPASS_PAYOUT), "id": "po_2"}]}
    assert [p.payout_ref for p in normalise_classpass(json.dumps(doc).encode(), "list.json")] == [
        "po_2026_03_001",
        "po_2",
    ]


def test_parquet_has_int64_minor_units_and_clinic_metadata(tmp_path: Path) -> None:
    target = to_parquet([_payout()], tmp_path, {"clinic_id": "CL-7", "name": "Riverside Physio"})
    assert target == tmp_path / PARQUET_NAME
    table = pq.read_table(target)
    for name in ("gross_minor", "commission_minor", "processing_fee_minor", "vat_on_fees_minor", "net_minor"):
        assert table.schema.field(name).type == pa.int64()
    assert not any(pa.types.is_floating(f.type) for f in table.schema)
    assert json.loads(table.schema.metadata[b"clinic_billing.clinic"]) == {
        "clinic_id": "CL-7",
        "name": "Riverside Physio",
    }
    assert table.column("net_minor").to_pylist() == [2944, 4048, 3720]
    assert table.column("service_date").to_pylist()[0] == date(2026, 3, 2)


def test_lines_frame_ids_are_stable() -> None:
    frame = payout_lines_frame([_payout()])
    assert frame["line_id"].to_list() == [
        "classpass:po_2026_03_001:000001",
        "classpass:po_2026_03_001:000002",
        "classpass:po_2026_03_001:000003",
    ]
