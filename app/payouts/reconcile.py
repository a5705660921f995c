"""Match marketplace payout lines to the clinic's sales ledger.

Rules, applied in order, each only to what is still unmatched:

1. ``booking_id`` — the same source and booking id (if an id repeats, the n-th line with it pairs
   with the n-th sale with it, both in input order).
2. ``patient_date_amount`` — same source, patient reference, service date and currency, and the
   amounts within tolerance; when several fit, the smallest difference wins (ties: input order).

A pair whose difference (payout gross minus sale amount) is beyond the clinic's tolerance is a
variance, not a match. Every payout line ends in exactly one of matched / variances /
unmatched_lines, every sale in one of matched / variances / unmatched_sales.

Keys are compared through two independent 64-bit hashes (both must agree), so the joins run on
integers, not strings. The engine is pure and deterministic: the same frames in give identical
frames out (historical replay). All maths is int64 minor units in polars; no Python loop runs
per row.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from pathlib import Path

import polars as pl
import pyarrow as pa

RULE_BOOKING = "booking_id"
RULE_PATIENT = "patient_date_amount"
LINE_COLUMNS = {
    "line_id": pl.String,
    "source": pl.String,
    "booking_id": pl.String,
    "patient_ref": pl.String,
    "service_date": pl.Date,
    "currency": pl.String,
    "gross_minor": pl.Int64,
}
SALE_COLUMNS = {
    "sale_id": pl.String,
    "source": pl.String,
    "booking_id": pl.String,
    "patient_ref": pl.String,
    "service_date": pl.Date,
    "currency": pl.String,
    "amount_minor": pl.Int64,
}
PAIR_COLUMNS = {
    "line_id": pl.String,
    "sale_id": pl.String,
    "rule": pl.String,
    "currency": pl.String,
    "gross_minor": pl.Int64,
    "amount_minor": pl.Int64,
    "difference_minor": pl.Int64,
    "tolerance_minor": pl.Int64,
}
_MAX_ROUNDS = 100  # rule 2 near-miss rounds; what is left after them stays unmatched


@dataclass(frozen=True, slots=True)
class Tolerance:
    """A pair matches when ``|difference| <= max(absolute_minor, percent% of the sale amount)``."""

    absolute_minor: int = 0
    percent: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if isinstance(self.percent, float) or not isinstance(self.percent, Decimal):
            raise TypeError("tolerance percent must be a Decimal")
        if self.absolute_minor < 0 or self.percent < 0:
            raise ValueError("tolerance cannot be negative")

    def allowed(self, amount: pl.Expr) -> pl.Expr:
        """The allowed difference in minor units for each sale amount (integer maths, rounded down)."""
        num, den = self.percent.as_integer_ratio()
        by_percent = (amount.abs() * num) // (den * 100)
        return pl.max_horizontal(pl.lit(self.absolute_minor, pl.Int64), by_percent)


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    """Four disjoint sets; pair frames have ``PAIR_COLUMNS``, in payout-line input order."""

    matched: pl.DataFrame  # pairs within tolerance, with ``rule`` and ``difference_minor``
    variances: pl.DataFrame  # pairs matched by booking id but beyond tolerance
    unmatched_lines: pl.DataFrame  # payout lines with no sale (``LINE_COLUMNS``)
    unmatched_sales: pl.DataFrame  # sales with no payout line (``SALE_COLUMNS``)


def read_lines_csv(path: Path | str) -> pl.DataFrame:
    """Payout lines CSV with the columns of ``LINE_COLUMNS`` as a typed frame."""
    return pl.read_csv(path, columns=list(LINE_COLUMNS), schema_overrides=LINE_COLUMNS)


def read_sales_csv(path: Path | str) -> pl.DataFrame:
    """Sales-ledger CSV with the columns of ``SALE_COLUMNS`` as a typed frame."""
    return pl.read_csv(path, columns=list(SALE_COLUMNS), schema_overrides=SALE_COLUMNS)


def reconcile(lines: pl.DataFrame | pa.Table, sales: pl.DataFrame | pa.Table, tolerance: Tolerance) -> ReconcileResult:
    """Run the rules in order (see the module docstring). Frames may be polars or Arrow tables."""
    lines, sales = pl.DataFrame(lines), pl.DataFrame(sales)
    lines = lines.select([pl.col(c).cast(t) for c, t in LINE_COLUMNS.items()]).with_row_index("_r")
    sales = sales.select([pl.col(c).cast(t) for c, t in SALE_COLUMNS.items()]).with_row_index("_r")
    by_booking = _booking_pairs(lines, sales)
    rest_l = lines.select("_r", *_PATIENT_KEY, "gross_minor").filter(~_taken(lines.height, by_booking["_rl"]))
    rest_s = sales.select("_r", *_PATIENT_KEY, "amount_minor").filter(~_taken(sales.height, by_booking["_rs"]))
    by_patient = _patient_pairs(rest_l, rest_s, tolerance)
    both = pl.concat(
        [
            by_booking.with_columns(pl.lit(RULE_BOOKING).alias("rule")),
            by_patient.with_columns(pl.lit(RULE_PATIENT).alias("rule")),
        ]
    )
    amounts = both.with_columns(
        lines["gross_minor"].gather(both["_rl"]).alias("gross_minor"),
        sales["amount_minor"].gather(both["_rs"]).alias("amount_minor"),
    ).with_columns(
        (pl.col("gross_minor") - pl.col("amount_minor")).alias("difference_minor"),
        tolerance.allowed(pl.col("amount_minor")).alias("tolerance_minor"),
    )
    same_currency = _currency_codes(lines).gather(both["_rl"]) == _currency_codes(sales).gather(both["_rs"])
    within = (amounts["difference_minor"].abs() <= amounts["tolerance_minor"]) & same_currency
    return ReconcileResult(
        matched=_pair_frame(amounts.filter(within), lines, sales),
        variances=_pair_frame(amounts.filter(~within), lines, sales),
        unmatched_lines=lines.filter(~_taken(lines.height, both["_rl"])).drop("_r"),
        unmatched_sales=sales.filter(~_taken(sales.height, both["_rs"])).drop("_r"),
    )


def _currency_codes(frame: pl.DataFrame) -> pl.Series:
    """One integer per row for its currency code (three letters: the hash cannot collide in practice)."""
    return frame["currency"].hash(7)


def _taken(height: int, rows: pl.Series) -> pl.Series:
    """A mask of ``height`` rows, true at the given row numbers."""
    return pl.zeros(height, pl.Boolean, eager=True).scatter(rows, True)


_BOOKING_KEY = ["source", "booking_id"]
_PATIENT_KEY = ["source", "patient_ref", "service_date", "currency"]


def _keys(frame: pl.DataFrame, key: list[str], prefix: str, carry: list[str]) -> pl.DataFrame:
    """Rows whose key is complete: ``carry`` columns plus two independent 64-bit hashes of the key.

    Each hash XORs per-column hashes with distinct seeds (cheaper in memory than hashing a struct).
    """
    complete = pl.all_horizontal(pl.col(c).is_not_null() for c in key)
    hashes = [
        reduce(operator.xor, (pl.col(c).hash(seed * 100 + n) for n, c in enumerate(key))).alias(f"{prefix}{seed}")
        for seed in (1, 2)
    ]
    return frame.select(*carry, *hashes, complete.alias("_complete")).filter("_complete").drop("_complete")


def _booking_pairs(lines: pl.DataFrame, sales: pl.DataFrame) -> pl.DataFrame:
    """Rule 1 as row-number pairs ``_rl``/``_rs``, in payout-line order."""
    left = _keys(lines, _BOOKING_KEY, "_b", ["_r"])
    right = _keys(sales, _BOOKING_KEY, "_b", ["_r"])
    pairs = _verified(left.join(right, on="_b1", how="inner", suffix="_s"), "_b2").sort("_rl")
    if _repeats(pairs["_rl"]) or _repeats(pairs["_rs"].sort()):  # a booking id occurs more than once
        left, right = _with_occurrence(left), _with_occurrence(right)
        pairs = _verified(left.join(right, on=["_b1", "_n"], how="inner", suffix="_s"), "_b2").sort("_rl")
    return pairs


def _verified(joined: pl.DataFrame, check: str) -> pl.DataFrame:
    """Keep pairs whose second hash agrees too; name the row numbers ``_rl``/``_rs``."""
    return joined.filter(pl.col(check) == pl.col(f"{check}_s")).select(
        pl.col("_r").alias("_rl"), pl.col("_r_s").alias("_rs")
    )


def _repeats(sorted_rows: pl.Series) -> bool:
    return bool((sorted_rows.diff() == 0).any())


def _with_occurrence(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``_n``: 0 for the first row of each booking key, 1 for the second, ... (input order)."""
    return frame.with_columns((pl.col("_r").rank("ordinal").over("_b1") - 1).cast(pl.UInt32).alias("_n"))


def _patient_pairs(lines: pl.DataFrame, sales: pl.DataFrame, tolerance: Tolerance) -> pl.DataFrame:
    """Rule 2 on the rows still unmatched, as row-number pairs in payout-line order."""
    left = _keys(lines, _PATIENT_KEY, "_p", ["_r", "gross_minor"])
    right = _keys(sales, _PATIENT_KEY, "_p", ["_r", "amount_minor"])
    # Exact amounts first (the smallest possible difference), the n-th line with the n-th sale, so
    # repeated identical visits pair up in one step.
    group = ["_p1", "_p2", "_amount"]
    occurrence = (pl.col("_r").rank("ordinal").over(group)).alias("_n")
    exact = (
        left.with_columns(pl.col("gross_minor").alias("_amount"))
        .with_columns(occurrence)
        .join(
            right.with_columns(pl.col("amount_minor").alias("_amount")).with_columns(occurrence),
            on=[*group, "_n"],
            how="inner",
            suffix="_s",
        )
        .select(pl.col("_r").alias("_rl"), pl.col("_r_s").alias("_rs"))
    )
    left = left.filter(~pl.col("_r").is_in(exact["_rl"].implode()))
    right = right.filter(~pl.col("_r").is_in(exact["_rs"].implode()))
    gap = (pl.col("gross_minor") - pl.col("amount_minor")).abs()
    candidates = (
        left.join(right, on="_p1", how="inner", suffix="_s")
        .filter((pl.col("_p2") == pl.col("_p2_s")) & (gap <= tolerance.allowed(pl.col("amount_minor"))))
        .select(pl.col("_r").alias("_rl"), pl.col("_r_s").alias("_rs"), gap.alias("_gap"))
    )
    chosen = [exact]
    for _ in range(_MAX_ROUNDS):  # mutual best choice, repeated; bounded and deterministic
        if candidates.is_empty():
            break
        best = (
            candidates.sort(["_rl", "_gap", "_rs"])
            .unique("_rl", keep="first", maintain_order=True)
            .sort(["_rs", "_gap", "_rl"])
            .unique("_rs", keep="first", maintain_order=True)
        )
        chosen.append(best.select("_rl", "_rs"))
        candidates = candidates.join(best.select("_rl"), on="_rl", how="anti").join(
            best.select("_rs"), on="_rs", how="anti"
        )
    return pl.concat(chosen).sort("_rl")


def _pair_frame(pairs: pl.DataFrame, lines: pl.DataFrame, sales: pl.DataFrame) -> pl.DataFrame:
    """Row-number pairs with their amounts -> the published ``PAIR_COLUMNS``."""
    return pairs.select(
        lines["line_id"].gather(pairs["_rl"]),
        sales["sale_id"].gather(pairs["_rs"]),
        "rule",
        lines["currency"].gather(pairs["_rl"]),
        "gross_minor",
        "amount_minor",
        "difference_minor",
        "tolerance_minor",
    )
