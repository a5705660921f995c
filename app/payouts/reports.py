"""Files a person reads after a reconciliation: ``matched-ledger.csv`` and ``variance-report.json``.

Amounts are written as decimal strings in major units (``"12.50"``), computed from the int64
minor units with integer maths; never floats.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from app.money import exponent
from app.payouts.reconcile import ReconcileResult

MATCHED_LEDGER_NAME = "matched-ledger.csv"
VARIANCE_REPORT_NAME = "variance-report.json"


def decimal_text(minor: str, currency: str = "currency") -> pl.Expr:
    """Column ``minor`` (int minor units) as decimal text using each row's currency exponent."""
    amount, exp = pl.col(minor), pl.col(currency).map_batches(_exponents, return_dtype=pl.Int64)
    sign = pl.when(amount < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    whole = amount.abs()
    text = pl.lit("")
    for digits in (3, 2):
        scale = 10**digits
        fraction = (whole % scale).cast(pl.String).str.zfill(digits)
        text = pl.when(exp == digits).then((whole // scale).cast(pl.String) + "." + fraction).otherwise(text)
    text = pl.when(exp == 0).then(whole.cast(pl.String)).otherwise(text)
    return (sign + text).alias(minor.removesuffix("_minor"))


def _exponents(currencies: pl.Series) -> pl.Series:
    """Per-row currency exponent; looked up once per distinct currency, not per row."""
    table = {c: exponent(c) for c in currencies.unique().drop_nulls().to_list()}
    return currencies.replace_strict(table, default=2, return_dtype=pl.Int64)


def matched_ledger(result: ReconcileResult) -> pl.DataFrame:
    """Every matched pair and every variance, with ``status`` saying which, amounts as decimal text."""
    pairs = pl.concat(
        [
            result.matched.with_columns(pl.lit("matched").alias("status")),
            result.variances.with_columns(pl.lit("variance").alias("status")),
        ]
    )
    return pairs.select(
        "line_id",
        "sale_id",
        "rule",
        "status",
        "currency",
        *(decimal_text(c) for c in ("gross_minor", "amount_minor", "difference_minor", "tolerance_minor")),
    ).sort("line_id")


def write_matched_ledger(result: ReconcileResult, folder: Path) -> Path:
    target = Path(folder) / MATCHED_LEDGER_NAME
    matched_ledger(result).write_csv(target)
    return target


def variance_report(result: ReconcileResult, clinic: Mapping[str, str] | None = None) -> dict[str, object]:
    """Counts, totals per currency and every variance and unmatched row, JSON-ready."""
    variances = result.variances.select(
        "line_id",
        "sale_id",
        "rule",
        "currency",
        *(decimal_text(c) for c in ("gross_minor", "amount_minor", "difference_minor", "tolerance_minor")),
    )
    lines = result.unmatched_lines.with_columns(decimal_text("gross_minor"), pl.col("service_date").cast(pl.String))
    sales = result.unmatched_sales.with_columns(decimal_text("amount_minor"), pl.col("service_date").cast(pl.String))
    return {
        "clinic": dict(clinic or {}),
        "counts": {
            "matched": result.matched.height,
            "variances": result.variances.height,
            "payout_lines_without_sale": result.unmatched_lines.height,
            "sales_without_payout_line": result.unmatched_sales.height,
        },
        "totals": {
            "variance_difference": _totals(result.variances, "difference_minor"),
            "payout_lines_without_sale": _totals(result.unmatched_lines, "gross_minor"),
            "sales_without_payout_line": _totals(result.unmatched_sales, "amount_minor"),
        },
        "variances": variances.sort("line_id").to_dicts(),
        "payout_lines_without_sale": lines.drop("gross_minor").sort("line_id").to_dicts(),
        "sales_without_payout_line": sales.drop("amount_minor").sort("sale_id").to_dicts(),
    }


def write_variance_report(result: ReconcileResult, folder: Path, clinic: Mapping[str, str] | None = None) -> Path:
    target = Path(folder) / VARIANCE_REPORT_NAME
    target.write_text(json.dumps(variance_report(result, clinic), indent=2, sort_keys=True) + "\n", "utf-8")
    return target


def _totals(frame: pl.DataFrame, column: str) -> dict[str, str]:
    sums = frame.group_by("currency").agg(pl.col(column).sum()).sort("currency")
    return dict(sums.select("currency", decimal_text(column)).iter_rows())
