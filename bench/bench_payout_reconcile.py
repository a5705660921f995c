"""Benchmark: reconcile 1,000,000 payout lines against 1,000,000 sales-ledger rows.

    python bench/bench_payout_reconcile.py [--rows 1000000] [--dir /tmp/payout-bench] [--repeat 5]

Generates both CSVs once (in a child process). Then, alternating the two engines so that any
other load on the machine hits both alike, it runs each engine ``--repeat`` times, every run in a
fresh child process that imports only its own engine:

* ours: ``reconcile_csv`` -- CSV in -> matched / variances / lines without sale / sales without
  line out, both rules (booking id, then patient + date + amount within tolerance);
* DuckDB: a SQL full outer join of the same CSVs on (source, booking_id), classified into the
  same four sets.

The time is CSV in to sets out. Peak memory is the child's own peak resident set
(``getrusage(RUSAGE_SELF).ru_maxrss``: interpreter, library and data, allocator as shipped), so
the two engines' peaks are separate. Targets from the issue: our median under 1 s, within 2x of
DuckDB's median, our peak under 500 MB.
"""

from __future__ import annotations

import argparse
import json
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
    keep = rng.random(rows) >= 0.01  # 1% of sales have no payout line
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


def run_ours(folder: Path) -> tuple[float, float, dict[str, int]]:
    from app.payouts.reconcile import Tolerance, reconcile_csv

    start, cpu = time.perf_counter(), time.process_time()
    result = reconcile_csv(
        folder / "payout-lines.csv", folder / "sales-ledger.csv", Tolerance(absolute_minor=5, percent=Decimal("0.5"))
    )
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return (
        elapsed,
        cpu,
        {
            "matched": result.matched.height,
            "variances": result.variances.height,
            "lines without sale": result.unmatched_lines.height,
            "sales without line": result.unmatched_sales.height,
        },
    )


def run_duckdb(folder: Path) -> tuple[float, float, dict[str, int]]:
    import duckdb

    con = duckdb.connect()
    lines, sales = folder / "payout-lines.csv", folder / "sales-ledger.csv"
    start, cpu = time.perf_counter(), time.process_time()
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
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert counts is not None
    names = ("matched", "variances", "lines without sale", "sales without line")
    return elapsed, cpu, dict(zip(names, (int(c) for c in counts), strict=True))


ENGINES = {"ours": run_ours, "duckdb": run_duckdb}


def run_child(engine: str, folder: Path) -> dict[str, object]:
    """One timed run of ``engine`` in a fresh interpreter; its time, counts and own peak RSS."""
    out = subprocess.run(
        [sys.executable, __file__, "--dir", str(folder), "--run", engine], check=True, capture_output=True, text=True
    )
    return dict(json.loads(out.stdout))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/payout-bench"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--run", choices=sorted(ENGINES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        seconds, cpu, counts = ENGINES[args.run](args.dir)
        print(json.dumps({"seconds": seconds, "cpu": cpu, "counts": counts, "peak_mb": peak_rss_mb()}))
        return
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
    load = os.getloadavg()[0]  # other work on the machine slows both engines alike
    runs: dict[str, list[dict[str, object]]] = {name: [] for name in ENGINES}
    for _ in range(args.repeat):
        for name in ENGINES:
            runs[name].append(run_child(name, args.dir))
    times = {name: [float(str(r["seconds"])) for r in rs] for name, rs in runs.items()}
    cpu_s = {name: statistics.median(float(str(r["cpu"])) for r in rs) for name, rs in runs.items()}
    peaks = {name: max(float(str(r["peak_mb"])) for r in rs) for name, rs in runs.items()}
    ours, duck = statistics.median(times["ours"]), statistics.median(times["duckdb"])
    print(f"{args.rows:,} payout lines vs {args.rows:,} sales; {args.repeat} runs per engine, each in its own process")
    print(f"our engine (CSV in -> 4 sets out, both rules): median {ours:.3f} s, best {min(times['ours']):.3f} s")
    print(f"    runs: {', '.join(f'{t:.3f}' for t in times['ours'])}; sets: {runs['ours'][-1]['counts']}")
    print(f"DuckDB full outer join (booking id only):      median {duck:.3f} s, best {min(times['duckdb']):.3f} s")
    print(f"    runs: {', '.join(f'{t:.3f}' for t in times['duckdb'])}; sets: {runs['duckdb'][-1]['counts']}")
    print(f"ratio ours / DuckDB (medians): {ours / duck:.2f}x")
    print(f"CPU seconds per run (median, both threads): ours {cpu_s['ours']:.3f}, DuckDB {cpu_s['duckdb']:.3f}")
    print(f"peak RSS per process (worst run): ours {peaks['ours']:.0f} MB, DuckDB {peaks['duckdb']:.0f} MB")
    print(f"load average before / after the runs: {load:.2f} / {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{verdict(ours < 1.0)}  our median under 1 s ({ours:.3f} s)")
    print(f"{verdict(ours <= 2 * duck)}  within 2x of DuckDB ({ours / duck:.2f}x)")
    print(f"{verdict(peaks['ours'] < 500)}  our peak memory under 500 MB ({peaks['ours']:.0f} MB)")


if __name__ == "__main__":
    main()
