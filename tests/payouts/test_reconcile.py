"""The matching engine: each rule, tolerance, unmatched sets, determinism and the exported files."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from app.payouts.reconcile import (
    LINE_COLUMNS,
    PAIR_COLUMNS,
    RULE_BOOKING,
    RULE_PATIENT,
    ReconcileResult,
    Tolerance,
    read_lines_csv,
    read_sales_csv,
    reconcile,
)
from app.payouts.reports import matched_ledger, write_matched_ledger, write_variance_report
from tests.payouts.samples import ledger

D = date(2026, 3, 2)


def lines(rows: list[tuple[str, str | None, str | None, date, int]], source: str = "classpass") -> pl.DataFrame:
    """(line_id, booking_id, patient_ref, service_date, gross_minor) in GBP."""
    return pl.DataFrame(
        [
            {
                "line_id": i,
                "source": source,
                "booking_id": b,
                "patient_ref": p,
                "service_date": d,
                "currency": "GBP",
                "gross_minor": g,
            }
            for i, b, p, d, g in rows
        ],
        schema=LINE_COLUMNS,
    )


def pairs(result: pl.DataFrame) -> list[tuple[str, str, str, int]]:
    return result.select("line_id", "sale_id", "rule", "difference_minor").rows()


def test_booking_id_match_wins_even_when_patient_differs() -> None:
    result = reconcile(
        lines([("L1", "B1", "P-other", D, 4000)]),
        ledger([("S1", "B1", "P1", D, 4000, "classpass")]),
        Tolerance(),
    )
    assert pairs(result.matched) == [("L1", "S1", RULE_BOOKING, 0)]


def test_fallback_patient_date_amount_within_tolerance_smallest_difference_wins() -> None:
    result = reconcile(
        lines([("L1", None, "P1", D, 4000), ("L2", "B-unknown", "P1", D, 6000)]),
        ledger(
            [
                ("S1", None, "P1", D, 4050, "classpass"),  # 50p off
                ("S2", None, "P1", D, 4001, "classpass"),  # 1p off: closer, wins for L1
                ("S3", None, "P1", D, 5990, "classpass"),
            ]
        ),
        Tolerance(absolute_minor=60),
    )
    assert pairs(result.matched) == [("L1", "S2", RULE_PATIENT, -1), ("L2", "S3", RULE_PATIENT, 10)]
    assert result.unmatched_sales["sale_id"].to_list() == ["S1"]


def test_fallback_never_matches_beyond_tolerance_or_across_sources() -> None:
    result = reconcile(
        lines([("L1", None, "P1", D, 4000)]),
        ledger([("S1", None, "P1", D, 4200, "classpass"), ("S2", None, "P1", D, 4000, "treatwell")]),
        Tolerance(absolute_minor=100),
    )
    assert result.matched.is_empty() and result.variances.is_empty()
    assert result.unmatched_lines["line_id"].to_list() == ["L1"]
    assert result.unmatched_sales["sale_id"].to_list() == ["S1", "S2"]


def test_variance_beyond_tolerance_absolute_or_percent() -> None:
    sales = ledger([("S1", "B1", "P1", D, 10000, "classpass"), ("S2", "B2", "P2", D, 10000, "classpass")])
    payout = lines([("L1", "B1", "P1", D, 10150), ("L2", "B2", "P2", D, 10250)])
    result = reconcile(payout, sales, Tolerance(absolute_minor=100, percent=Decimal("2")))  # allows 200
    assert pairs(result.matched) == [("L1", "S1", RULE_BOOKING, 150)]
    assert pairs(result.variances) == [("L2", "S2", RULE_BOOKING, 250)]
    assert result.variances["tolerance_minor"].to_list() == [200]


def test_booking_match_in_another_currency_is_a_variance() -> None:
    euro_sale = ledger([("S1", "B1", "P1", D, 4000, "classpass")]).with_columns(pl.lit("EUR").alias("currency"))
    result = reconcile(lines([("L1", "B1", "P1", D, 4000)]), euro_sale, Tolerance(absolute_minor=100))
    assert result.matched.is_empty()
    assert pairs(result.variances) == [("L1", "S1", RULE_BOOKING, 0)]


def test_line_without_sale_and_sale_without_line() -> None:
    result = reconcile(
        lines([("L1", "B1", "P1", D, 4000), ("L2", "B9", "P9", D, 1000)]),
        ledger([("S1", "B1", "P1", D, 4000, "classpass"), ("S2", "B2", "P2", D, 3000, "classpass")]),
        Tolerance(),
    )
    assert result.unmatched_lines["line_id"].to_list() == ["L2"]
    assert result.unmatched_sales["sale_id"].to_list() == ["S2"]


def test_repeated_booking_ids_pair_in_order() -> None:
    result = reconcile(
        lines([("L1", "B1", "P1", D, 4000), ("L2", "B1", "P1", D, 4000), ("L3", "B1", "P1", D, 4000)]),
        ledger([("S1", "B1", "P1", D, 4000, "classpass"), ("S2", "B1", "P1", D, 4000, "classpass")]),
        Tolerance(),
    )
    assert pairs(result.matched) == [("L1", "S1", RULE_BOOKING, 0), ("L2", "S2", RULE_BOOKING, 0)]
    assert result.unmatched_lines["line_id"].to_list() == ["L3"]


def _mixed() -> tuple[pl.DataFrame, pl.DataFrame]:
    payout = lines(
        [
            ("L1", "B1", "P1", D, 4000),
            ("L2", None, "P2", D, 5500),
            ("L3", "B3", "P3", D, 5000),
            ("L4", "B4", "P4", D, 1000),
            ("L5", None, "P5", D, 2000),
        ]
    )
    sales = ledger(
        [
            ("S3", "B3", "P3", D, 4500, "classpass"),
            ("S1", "B1", "P1", D, 4000, "classpass"),
            ("S2", None, "P2", D, 5500, "classpass"),
            ("S6", "B6", "P6", D, 3000, "classpass"),
            ("S5", None, "P5", D, 2003, "classpass"),
        ]
    )
    return payout, sales


def _assert_same(a: ReconcileResult, b: ReconcileResult) -> None:
    for name in ("matched", "variances", "unmatched_lines", "unmatched_sales"):
        assert_frame_equal(getattr(a, name), getattr(b, name))


def test_replay_is_deterministic_and_sets_partition_the_input() -> None:
    payout, sales = _mixed()
    tolerance = Tolerance(absolute_minor=5)
    first = reconcile(payout, sales, tolerance)
    _assert_same(first, reconcile(payout.clone(), sales.clone(), tolerance))
    paired = pl.concat([first.matched, first.variances])
    assert sorted(paired["line_id"].to_list() + first.unmatched_lines["line_id"].to_list()) == sorted(
        payout["line_id"].to_list()
    )
    assert sorted(paired["sale_id"].to_list() + first.unmatched_sales["sale_id"].to_list()) == sorted(
        sales["sale_id"].to_list()
    )
    assert pairs(first.matched) == [
        ("L1", "S1", RULE_BOOKING, 0),
        ("L2", "S2", RULE_PATIENT, 0),
        ("L5", "S5", RULE_PATIENT, -3),
    ]


def test_csv_in_and_files_out(tmp_path: Path) -> None:
    payout, sales = _mixed()
    payout.write_csv(tmp_path / "lines.csv")
    sales.write_csv(tmp_path / "sales.csv")
    tolerance = Tolerance(absolute_minor=5)
    result = reconcile(read_lines_csv(tmp_path / "lines.csv"), read_sales_csv(tmp_path / "sales.csv"), tolerance)
    _assert_same(result, reconcile(payout, sales, tolerance))

    ledger_csv = write_matched_ledger(result, tmp_path).read_text("utf-8").splitlines()
    assert ledger_csv[0] == "line_id,sale_id,rule,status,currency,gross,amount,difference,tolerance"
    assert "L3,S3,booking_id,variance,GBP,50.00,45.00,5.00,0.05" in ledger_csv
    report = json.loads(write_variance_report(result, tmp_path, {"clinic_id": "CL-7"}).read_text("utf-8"))
    assert report["counts"] == {
        "matched": 3,
        "variances": 1,
        "payout_lines_without_sale": 1,
        "sales_without_payout_line": 1,
    }
    assert report["totals"]["variance_difference"] == {"GBP": "5.00"}
    assert report["payout_lines_without_sale"] == [
        {
            "line_id": "L4",
            "source": "classpass",
            "booking_id": "B4",
            "patient_ref": "P4",
            "service_date": "2026-03-02",
            "currency": "GBP",
            "gross": "10.00",
        }
    ]
    assert report["clinic"] == {"clinic_id": "CL-7"}


@pytest.mark.parametrize(
    ("currency", "minor", "text"),
    [("GBP", -5, "-0.05"), ("JPY", 1200, "1200"), ("KWD", 12345, "12.345"), ("EUR", 100000, "1000.00")],
)
def test_decimal_text_per_currency(currency: str, minor: int, text: str) -> None:
    frame = pl.DataFrame(
        {
            "line_id": ["L"],
            "sale_id": ["S"],
            "rule": ["r"],
            "currency": [currency],
            "gross_minor": [minor],
            "amount_minor": [minor],
            "difference_minor": [0],
            "tolerance_minor": [0],
        }
    )
    empty = frame.clear()
    result = ReconcileResult(frame, empty, pl.DataFrame(), pl.DataFrame())
    assert matched_ledger(result)["gross"].to_list() == [text]


def test_replay_of_a_large_messy_day_is_identical() -> None:
    n = 30_000
    base = pl.DataFrame({"i": pl.int_range(n, eager=True)}).with_columns(
        source=pl.when(pl.col("i") % 4 == 0).then(pl.lit("treatwell")).otherwise(pl.lit("classpass")),
        booking_id=pl.when(pl.col("i") % 17 == 0).then(None).otherwise(pl.format("B{}", pl.col("i") % 29_000)),
        patient_ref=pl.format("P{}", pl.col("i") % 900),
        service_date=pl.lit(D) + pl.duration(days=pl.col("i") % 30),
        currency=pl.lit("GBP"),
        amount=(1000 + (pl.col("i") * 7919) % 5000).cast(pl.Int64),
    )
    sales = base.filter(pl.col("i") % 50 != 1).select(
        pl.format("S{}", "i").alias("sale_id"),
        "source",
        "booking_id",
        "patient_ref",
        "service_date",
        "currency",
        pl.col("amount").alias("amount_minor"),
    )
    payout = (
        base.filter(pl.col("i") % 60 != 2)
        .select(
            pl.format("L{}", "i").alias("line_id"),
            "source",
            "booking_id",
            "patient_ref",
            "service_date",
            "currency",
            (pl.col("amount") + pl.col("i") % 7 - 3).alias("gross_minor"),
        )
        .sample(fraction=1.0, shuffle=True, seed=3)
    )
    tolerance = Tolerance(absolute_minor=2, percent=Decimal("0.1"))
    first = reconcile(payout, sales, tolerance)
    _assert_same(first, reconcile(payout.clone(), sales.clone(), tolerance))
    _assert_same(first, reconcile(payout.to_arrow(), sales.to_arrow(), tolerance))
    assert first.matched["rule"].unique().sort().to_list() == [RULE_BOOKING, RULE_PATIENT]
    assert first.variances.height > 0
    total = first.matched.height + first.variances.height
    assert total + first.unmatched_lines.height == payout.height
    assert total + first.unmatched_sales.height == sales.height


def test_empty_inputs() -> None:
    nothing = reconcile(lines([]), ledger([]), Tolerance())
    assert nothing.matched.is_empty() and nothing.unmatched_lines.is_empty()
    only_sales = reconcile(lines([]), ledger([("S1", "B1", "P1", D, 100, "classpass")]), Tolerance())
    assert only_sales.unmatched_sales["sale_id"].to_list() == ["S1"]
    assert dict(only_sales.matched.schema) == PAIR_COLUMNS


def test_many_identical_visits_pair_up_by_fallback() -> None:
    payout = lines([(f"L{n:03d}", None, "P1", D, 1500) for n in range(120)] + [("L999", None, "P1", D, 1490)])
    sales = ledger([(f"S{n:03d}", None, "P1", D, 1500, "classpass") for n in range(120)])
    sales = pl.concat([sales, ledger([("S999", None, "P1", D, 1495, "classpass")])])
    result = reconcile(payout, sales, Tolerance(absolute_minor=10))
    assert result.matched.height == 121
    assert pairs(result.matched)[:2] == [("L000", "S000", RULE_PATIENT, 0), ("L001", "S001", RULE_PATIENT, 0)]
    assert pairs(result.matched)[-1] == ("L999", "S999", RULE_PATIENT, -5)
