"""Match marketplace payout lines to the clinic's sales ledger.

Rules, applied in order, each only to what is still unmatched:

1. ``booking_id`` — the same source and booking id (if an id repeats, the n-th line with it pairs
   with the n-th sale with it, both in input order).
2. ``patient_date_amount`` — same source, patient reference, service date and currency, and the
   amounts within tolerance; when several fit, the smallest difference wins (ties: input order).

A pair whose difference (payout gross minus sale amount) is beyond the clinic's tolerance is a
variance, not a match. Every payout line ends in exactly one of matched / variances /
unmatched_lines, every sale in one of matched / variances / unmatched_sales.

The joins run on integers, not strings: rule 1 on a 64-bit hash of the key, each pair then checked
on the key itself; rule 2 (only the remainder) through two independent 64-bit hashes that must
both agree. The engine is pure and deterministic: the same frames in give identical
frames out (historical replay). All maths is int64 minor units in polars; no Python loop runs
per row.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
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
    """Four disjoint sets. Pair frames have ``PAIR_COLUMNS``: rule-1 pairs, then rule-2 pairs, each in
    payout-line input order. A pair with a missing amount is a variance."""

    matched: pl.DataFrame  # pairs within tolerance, with ``rule`` and ``difference_minor``
    variances: pl.DataFrame  # pairs matched by booking id but beyond tolerance
    unmatched_lines: pl.DataFrame  # payout lines with no sale (``LINE_COLUMNS``)
    unmatched_sales: pl.DataFrame  # sales with no payout line (``SALE_COLUMNS``)


def read_lines_csv(path: Path | str) -> pl.DataFrame:
    """Payout lines CSV with the columns of ``LINE_COLUMNS``; source and currency come back categorical."""
    return _read_csv(path, LINE_COLUMNS)


def read_sales_csv(path: Path | str) -> pl.DataFrame:
    """Sales-ledger CSV with the columns of ``SALE_COLUMNS``; source and currency come back categorical."""
    return _read_csv(path, SALE_COLUMNS)


def _read_csv(path: Path | str, columns: dict[str, type[pl.DataType]]) -> pl.DataFrame:
    """Only the engine's columns, typed as it works on them, in one contiguous chunk (fast gathers)."""
    return pl.read_csv(path, columns=list(columns), schema_overrides={**columns, **_CODES}).rechunk()


def reconcile(lines: pl.DataFrame | pa.Table, sales: pl.DataFrame | pa.Table, tolerance: Tolerance) -> ReconcileResult:
    """Run the rules in order (see the module docstring). Frames may be polars or Arrow tables."""
    return _reconcile(lambda: pl.DataFrame(lines), lambda: pl.DataFrame(sales), tolerance)


def reconcile_csv(lines_csv: Path | str, sales_csv: Path | str, tolerance: Tolerance) -> ReconcileResult:
    """``reconcile`` of two CSV files. The engine owns the frames it reads, so it frees each column
    as soon as it is done with it (a million lines against a million sales within 500 MB)."""
    return _reconcile(lambda: read_lines_csv(lines_csv), lambda: read_sales_csv(sales_csv), tolerance)


def _reconcile(
    load_lines: Callable[[], pl.DataFrame], load_sales: Callable[[], pl.DataFrame], tolerance: Tolerance
) -> ReconcileResult:
    """The engine. It takes loaders rather than frames so that, when it reads the files itself,
    nothing else holds the frames and narrowing them below really frees memory."""
    lines, sales = _working(load_lines(), LINE_COLUMNS), _working(load_sales(), SALE_COLUMNS)
    by_booking = _booking_pairs(lines, sales)
    taken_l, taken_s = _taken(lines.height, by_booking["_rl"]), _taken(sales.height, by_booking["_rs"])
    by_patient = _patient_pairs(  # rule 2 sees only the rows rule 1 left over
        lines.select("_r", *_PATIENT_KEY, "gross_minor").filter(~taken_l),
        sales.select("_r", *_PATIENT_KEY, "amount_minor").filter(~taken_s),
        tolerance,
    )
    taken_l, taken_s = taken_l.scatter(by_patient["_rl"], True), taken_s.scatter(by_patient["_rs"], True)
    unmatched_lines = _published(lines.filter(~taken_l), LINE_COLUMNS)
    unmatched_sales = _published(sales.filter(~taken_s), SALE_COLUMNS)
    lines = lines.select("line_id", "currency", "gross_minor")  # all the pairs still need
    sales = sales.select("sale_id", "currency", "amount_minor")
    pairs = pl.concat(
        [by_booking.with_columns(_by_patient=pl.lit(False)), by_patient.with_columns(_by_patient=pl.lit(True))]
    )
    del by_booking, by_patient, taken_l, taken_s
    within = _within(pairs, lines, sales, tolerance)
    return ReconcileResult(
        matched=_pair_frame(pairs.filter(within), lines, sales, tolerance),
        variances=_pair_frame(pairs.filter(~within), lines, sales, tolerance),
        unmatched_lines=unmatched_lines,
        unmatched_sales=unmatched_sales,
    )


_CODES = {"source": pl.Categorical, "currency": pl.Categorical}  # few distinct values: 4 bytes a row


def _working(frame: pl.DataFrame, columns: dict[str, type[pl.DataType]]) -> pl.DataFrame:
    """The published columns with source and currency as categoricals, plus the row number ``_r``."""
    typed = frame.select(pl.col(c).cast(_CODES.get(c, t)) for c, t in columns.items())
    return typed.rechunk().with_row_index("_r")


def _published(frame: pl.DataFrame, columns: dict[str, type[pl.DataType]]) -> pl.DataFrame:
    """Back to the published column types (drops ``_r``)."""
    return frame.select(pl.col(c).cast(t) for c, t in columns.items())


def _taken(height: int, rows: pl.Series) -> pl.Series:
    """A mask of ``height`` rows, true at the given row numbers."""
    return pl.zeros(height, pl.Boolean, eager=True).scatter(rows, True)


_BOOKING_KEY = ["source", "booking_id"]
_PATIENT_KEY = ["source", "patient_ref", "service_date", "currency"]


def _complete(key: list[str]) -> pl.Expr:
    return pl.all_horizontal(pl.col(c).is_not_null() for c in key)


def _keys(frame: pl.DataFrame, key: list[str], prefix: str, carry: list[str]) -> pl.DataFrame:
    """Rows whose key is complete: ``carry`` columns plus two independent 64-bit hashes of the key.

    Each hash XORs per-column hashes with distinct seeds (cheaper in memory than hashing a struct).
    """
    hashes = [
        reduce(operator.xor, (pl.col(c).hash(seed * 100 + n) for n, c in enumerate(key))).alias(f"{prefix}{seed}")
        for seed in (1, 2)
    ]
    return frame.lazy().filter(_complete(key)).select(*carry, *hashes).collect()


def _booking_pairs(lines: pl.DataFrame, sales: pl.DataFrame) -> pl.DataFrame:
    """Rule 1 as row-number pairs ``_rl``/``_rs``, in payout-line order.

    Joined on one 64-bit hash of the key (streaming engine: faster and smaller than the in-memory
    join), then every pair is checked on the key itself, so a hash collision never pairs bookings.
    """
    left, right = _booking_hash(lines), _booking_hash(sales)
    joined = left.join(right, on="_k", how="inner", suffix="_s").select(
        pl.col("_r").alias("_rl"), pl.col("_r_s").alias("_rs")
    )
    pairs = joined.collect(engine="streaming")
    same = [lines[c].gather(pairs["_rl"]) == sales[c].gather(pairs["_rs"]) for c in _BOOKING_KEY]
    pairs = pairs.filter(reduce(operator.and_, same))
    if _repeats(lines.height, pairs["_rl"]) or _repeats(sales.height, pairs["_rs"]):  # a booking id recurs
        return (
            _numbered(lines)
            .join(_numbered(sales), on=[*_BOOKING_KEY, "_n"], how="inner", suffix="_s")
            .select(pl.col("_r").alias("_rl"), pl.col("_r_s").alias("_rs"))
            .collect()
            .sort("_rl")
        )
    # Each line has at most one sale: place the sale at its line's row number, keep the filled places.
    by_line = pl.repeat(None, lines.height, dtype=pl.UInt32, eager=True).scatter(pairs["_rl"], pairs["_rs"])
    return pl.DataFrame({"_rl": pl.int_range(lines.height, dtype=pl.UInt32, eager=True), "_rs": by_line}).drop_nulls()


def _booking_hash(frame: pl.DataFrame) -> pl.LazyFrame:
    """``_r`` and ``_k``, a 64-bit hash of the booking key, for rows whose key is complete (hashed
    eagerly: inside the streaming join the same hashing costs twice the time)."""
    key = pl.col("booking_id").hash(1) ^ pl.col("source").hash(2)
    return frame.lazy().filter(_complete(_BOOKING_KEY)).select("_r", key.alias("_k")).collect().lazy()


def _repeats(height: int, rows: pl.Series) -> bool:
    """Does any row number occur more than once?"""
    return bool(_taken(height, rows).sum() < rows.len())


def _numbered(frame: pl.DataFrame) -> pl.LazyFrame:
    """The booking key plus ``_n``: 0 for the first row with that key, 1 for the second, ... (input order)."""
    n = (pl.col("_r").rank("ordinal").over(_BOOKING_KEY) - 1).cast(pl.UInt32).alias("_n")
    return frame.lazy().filter(_complete(_BOOKING_KEY)).select("_r", *_BOOKING_KEY, n)


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


def _within(pairs: pl.DataFrame, lines: pl.DataFrame, sales: pl.DataFrame, tolerance: Tolerance) -> pl.Series:
    """True where a pair is in the same currency and its difference is within tolerance."""
    gross, amount = lines["gross_minor"].gather(pairs["_rl"]), sales["amount_minor"].gather(pairs["_rs"])
    same = lines["currency"].gather(pairs["_rl"]).eq_missing(sales["currency"].gather(pairs["_rs"]))
    allowed = pl.select(tolerance.allowed(pl.lit(amount))).to_series()
    return (((gross - amount).abs() <= allowed) & same).fill_null(False)


def _pair_frame(pairs: pl.DataFrame, lines: pl.DataFrame, sales: pl.DataFrame, tolerance: Tolerance) -> pl.DataFrame:
    """Row-number pairs -> the published ``PAIR_COLUMNS``."""
    gross, amount = lines["gross_minor"].gather(pairs["_rl"]), sales["amount_minor"].gather(pairs["_rs"])
    return pairs.select(
        lines["line_id"].gather(pairs["_rl"]),
        sales["sale_id"].gather(pairs["_rs"]),
        pl.when("_by_patient").then(pl.lit(RULE_PATIENT)).otherwise(pl.lit(RULE_BOOKING)).alias("rule"),
        lines["currency"].gather(pairs["_rl"]).cast(pl.String),
        gross,
        amount,
        (gross - amount).alias("difference_minor"),
        tolerance.allowed(pl.lit(amount)).alias("tolerance_minor"),
    )
