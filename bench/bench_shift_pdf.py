"""Benchmark: a 20,000-payment shift — totals in plain Python over Money, then the PDF.

Baseline in the same run: the same report with the payments list as ONE reportlab Table
(STACK-NOTES measured ~16 s for that); ``--no-baseline`` skips it.

    python bench/bench_shift_pdf.py [--rows 20000] [--no-baseline]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pypdf import PdfReader

from app.reports.shift_report import payment_totals, render_shift_pdf, takings_by_provider
from tests.reports.factory import make_shift


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="payments in the shift (default 20000)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the slow one-Table baseline")
    args = parser.parse_args()

    report = make_shift(args.rows)
    started = time.perf_counter()
    lines = takings_by_provider(report.payments)
    totals = payment_totals(report.payments)
    aggregate_s = time.perf_counter() - started
    assert sum(line.count for line in lines) == totals.count == args.rows
    print(f"payments: {args.rows}  gross {totals.gross}  fees {totals.fee}  net {totals.net}")
    print(f"aggregate totals (plain Python over Money): {aggregate_s:.3f} s")

    with tempfile.TemporaryDirectory() as tmp:
        chunked = Path(tmp) / "chunked.pdf"
        started = time.perf_counter()
        render_shift_pdf(report, chunked)
        chunked_s = time.perf_counter() - started
        pages = len(PdfReader(chunked).pages)
        size = chunked.stat().st_size
        print(f"render PDF, page-sized tables: {chunked_s:.2f} s  ({pages} pages, {size:,} bytes)")
        if args.no_baseline:
            return
        single = Path(tmp) / "single.pdf"
        started = time.perf_counter()
        render_shift_pdf(report, single, rows_per_table=args.rows + 1)
        single_s = time.perf_counter() - started
        print(f"render PDF, ONE Table (baseline): {single_s:.2f} s  ({len(PdfReader(single).pages)} pages)")
        print(f"baseline / chunked: {single_s / chunked_s:.1f}x")


if __name__ == "__main__":
    main()
