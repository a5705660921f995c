"""``reconcile_csv`` (the bench's path: CSV in, four sets out) gives exactly what ``reconcile`` gives."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from app.payouts.reconcile import LINE_COLUMNS, SALE_COLUMNS, Tolerance, reconcile, reconcile_csv


def _frame(id_column: str, amount_column: str, n: int, shift: int) -> pl.DataFrame:
    """Repeated booking ids, missing ids and patients, two sources and two currencies."""
    rows = [
        {
            id_column: f"{id_column[0].upper()}{i}",
            "source": "treatwell" if i % 3 == 0 else "classpass",
            "booking_id": None if i % 7 == 0 else f"B{(i + shift) % 40}",
            "patient_ref": None if i % 11 == 0 else f"P{i % 9}",
            "service_date": date(2026, 3, 1) + timedelta(days=i % 4),
            "currency": "EUR" if i % 13 == 0 else "GBP",
            amount_column: 1000 + (i * 37) % 25 - shift,
        }
        for i in range(n)
    ]
    return pl.DataFrame(rows, schema=LINE_COLUMNS if id_column == "line_id" else SALE_COLUMNS)


def test_csv_path_equals_frame_path_and_partitions(tmp_path: Path) -> None:
    lines, sales = _frame("line_id", "gross_minor", 300, 0), _frame("sale_id", "amount_minor", 280, 3)
    lines.write_csv(tmp_path / "lines.csv")
    sales.write_csv(tmp_path / "sales.csv")
    tolerance = Tolerance(absolute_minor=4, percent=Decimal("0.2"))

    from_csv = reconcile_csv(tmp_path / "lines.csv", tmp_path / "sales.csv", tolerance)

    from_frames = reconcile(lines, sales, tolerance)
    for name in ("matched", "variances", "unmatched_lines", "unmatched_sales"):
        assert_frame_equal(getattr(from_csv, name), getattr(from_frames, name))
    paired = pl.concat([from_csv.matched, from_csv.variances])
    assert paired["rule"].unique().sort().to_list() == ["booking_id", "patient_date_amount"]
    assert sorted(paired["line_id"].to_list() + from_csv.unmatched_lines["line_id"].to_list()) == sorted(
        lines["line_id"].to_list()
    )
    assert sorted(paired["sale_id"].to_list() + from_csv.unmatched_sales["sale_id"].to_list()) == sorted(
        sales["sale_id"].to_list()
    )
    assert dict(from_csv.unmatched_lines.schema) == LINE_COLUMNS  # published types, not the working ones
