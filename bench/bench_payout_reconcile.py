"""Benchmark: reconcile 1,000,000 payout lines against 1,000,000 sales-ledger rows.

Generates both CSVs (in a child process, so generation does not count towards peak memory),
then in one run times (a) our engine: CSV in -> matched / variances / unmatched sets out, and
(b) DuckDB: a SQL full outer join of the same CSVs on (source, booking_id), classified into the
same four sets. Prints both times, the ratio and the peak resident memory (RSS) after each step.

    python bench/bench_payout_reconcile.py [--rows 1000000] [--dir /tmp/payout-bench]

Targets: our engine under 1 s, within 2x of DuckDB, peak RSS under 500 MB. Polars' allocator
keeps freed memory for a while; ``_RJEM_MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0`` in the
environment makes it give memory back at once (lower peak RSS, slightly slower).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(rows: int, folder: Path) -> None:
    """Sales, and payout lines: 1% missing, 1% extra, 1% without booking id, 0.5% variances."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(20260301)
    i = np.arange(rows)
    sales = pl.DataFrame(
        {
            "sale_id": [f"S{n:08d}" for n in i],
            "source": np.where(i % 3 == 0, "treatwell", "classpass"),
            "booking_id": [f"B{n:08d}" for n in i],
            "patient_ref": [f"P{n % 250_000:06d}" for n in i],
            "service_date": pl.date_range(pl.date(2026, 1, 1), pl.date(2026, 12, 31), eager=True).gather(i % 365),
            "currency": "GBP",
            "amount_minor": (2000 + (i * 37) % 10_000).astype(np.int64),
        }
    )
    roll = rng.random(rows)
    keep = roll >= 0.01  # 1% of sales have no payout line
    lines = sales.filter(pl.Series(keep)).rename({"sale_id": "line_id", "amount_minor": "gross_minor"})
    roll = pl.Series(rng.random(lines.height))
    lines = lines.with_columns(
        pl.col("line_id").str.replace("S", "L"),
        pl.when(roll < 0.01).then(None).otherwise(pl.col("booking_id")).alias("booking_id"),
        pl.when(roll.is_between(0.01, 0.015))
        .then(pl.col("gross_minor") + 750)
        .when(roll.is_between(0.015, 0.02))
        .then(pl.col("gross_minor") + 3)
        .otherwise(pl.col("gross_minor"))
        .alias("gross_minor"),
    )
    extra_n = rows // 100
    extra = pl.DataFrame(
        {
            "line_id": [f"X{n:08d}" for n in range(extra_n)],
            "source": "classpass",
            "booking_id": [f"E{n:08d}" for n in range(extra_n)],
            "patient_ref": [f"Q{n:06d}" for n in range(extra_n)],
            "service_date": pl.date_range(pl.date(2026, 1, 1), pl.date(2026, 12, 31), eager=True).gather(
                np.arange(extra_n) % 365
            ),
            "currency": "GBP",
            "gross_minor": np.full(extra_n, 4500, dtype=np.int64),
        }
    )
    lines = pl.concat([lines, extra]).sample(fraction=1.0, shuffle=True, seed=7)
    lines.write_csv(folder / "payout-lines.csv")
    sales.sample(fraction=1.0, shuffle=True, seed=8).write_csv(folder / "sales-ledger.csv")


def run_ours(folder: Path) -> tuple[float, dict[str, int]]:
    from app.payouts.reconcile import Tolerance, read_lines_csv, read_sales_csv, reconcile

    start = time.perf_counter()
    result = reconcile(
        read_lines_csv(folder / "payout-lines.csv"),
        read_sales_csv(folder / "sales-ledger.csv"),
        Tolerance(absolute_minor=5, percent=Decimal("0.5")),
    )
    elapsed = time.perf_counter() - start
    return elapsed, {
        "matched": result.matched.height,
        "variances": result.variances.height,
        "lines without sale": result.unmatched_lines.height,
        "sales without line": result.unmatched_sales.height,
    }


def run_duckdb(folder: Path) -> tuple[float, dict[str, int]]:
    import duckdb

    con = duckdb.connect()
    lines, sales = folder / "payout-lines.csv", folder / "sales-ledger.csv"
    start = time.perf_counter()
    con.execute(f"""
        CREATE TABLE joined AS
        SELECT l.line_id, s.sale_id, l.gross_minor - s.amount_minor AS difference_minor,
               greatest(5, abs(s.amount_minor) * 5 // 1000) AS tolerance_minor
        FROM read_csv('{lines}', types={{'booking_id': 'VARCHAR'}}) l
        FULL OUTER JOIN read_csv('{sales}') s ON l.source = s.source AND l.booking_id = s.booking_id
    """)
    counts = con.execute("""
        SELECT count(*) FILTER (WHERE line_id IS NOT NULL AND sale_id IS NOT NULL
                                AND abs(difference_minor) <= tolerance_minor),
               count(*) FILTER (WHERE line_id IS NOT NULL AND sale_id IS NOT NULL
                                AND abs(difference_minor) > tolerance_minor),
               count(*) FILTER (WHERE sale_id IS NULL), count(*) FILTER (WHERE line_id IS NULL)
        FROM joined
    """).fetchone()
    elapsed = time.perf_counter() - start
    assert counts is not None
    names = ("matched", "variances", "lines without sale", "sales without line")
    return elapsed, dict(zip(names, (int(c) for c in counts), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/payout-bench"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    if args.generate_only:
        generate(args.rows, args.dir)
        return
    marker = args.dir / f"rows-{args.rows}"
    if not marker.exists():
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--rows", str(args.rows), "--dir", str(args.dir), "--generate-only"],
            check=True,
        )
        marker.touch()
        print(f"generated {args.rows:,} sales and payout lines in {time.perf_counter() - t:.1f} s")
    import polars as pl

    print(f"polars threads: {pl.thread_pool_size()}; baseline RSS after imports: {peak_rss_mb():.0f} MB")
    ours_times = []
    for _ in range(args.repeat):
        seconds, ours_counts = run_ours(args.dir)
        ours_times.append(seconds)
    ours_peak = peak_rss_mb()
    duck_times = []
    for _ in range(args.repeat):
        seconds, duck_counts = run_duckdb(args.dir)
        duck_times.append(seconds)
    ours, duck = statistics.median(ours_times), statistics.median(duck_times)
    print(f"our engine (CSV in -> 4 sets out, both rules): median {ours:.3f} s, best {min(ours_times):.3f} s")
    print(f"    {ours_counts}")
    print(f"DuckDB full outer join (booking id only):      median {duck:.3f} s, best {min(duck_times):.3f} s")
    print(f"    {duck_counts}")
    print(f"ratio ours / DuckDB (median): {ours / duck:.2f}x; (best): {min(ours_times) / min(duck_times):.2f}x")
    print(f"peak RSS: {ours_peak:.0f} MB after our engine, {peak_rss_mb():.0f} MB after DuckDB too")
    print(f"load average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
