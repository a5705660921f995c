"""Benchmark: a shift of 20,000 payments aggregated from the database, then its PDF rendered.

In the same run, the baseline: the same totals by a naive per-payment ORM loop (each payment
loaded as an object, its practitioner looked up one by one). Prints seconds and the ratio.

    python bench/bench_shift.py [--rows 20000] [--db URL]
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select

from app.audit import SYSTEM
from app.clock import FixedClock
from app.context import AppContext
from app.db.models import Clinic, Payment, Practitioner
from app.domain.status import PaymentStatus
from app.paths import AppPaths
from app.reports.shift_report import render_shift_pdf
from app.shifts.report import build_shift_report
from app.shifts.schedule import ShiftLocator
from app.shifts.service import summarise

PROVIDERS = (("stripe", "card_present"), ("square", "card_present"), ("stripe", "card"), ("cash", "cash"))


def seed(ctx: AppContext, rows: int) -> int:
    rng = random.Random(7)
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    with ctx.db.unit_of_work() as s:
        clinic = Clinic(name="Bench Clinic")
        s.add(clinic)
        s.flush()
        people = []
        for i in range(12):
            p = Practitioner(clinic_id=clinic.id, name=f"Practitioner {i:02d}")
            s.add(p)
            people.append(p)
        s.flush()
        shift = ShiftLocator(s, ctx.clock, SYSTEM).locate(clinic, start + timedelta(hours=1))
        batch = []
        for n in range(rows):
            provider, method = PROVIDERS[n % len(PROVIDERS)]
            gross = rng.randint(1500, 25000)
            fee = 0 if provider == "cash" else gross * 15 // 1000 + 20
            batch.append(
                {
                    "clinic_id": clinic.id,
                    "practitioner_id": people[n % len(people)].id,
                    "shift_id": shift.id,
                    "provider": provider,
                    "provider_ref": f"{provider}-{n:06d}",
                    "method": method,
                    "terminal_id": "tmr_bench",
                    "card_fingerprint": "",
                    "taken_at": start + timedelta(seconds=n),
                    "gross_minor": gross,
                    "fee_minor": fee,
                    "net_minor": gross - fee,
                    "refunded_minor": 0,
                    "currency": "GBP",
                    "status": PaymentStatus.SUCCEEDED,
                    "product_batch": "",
                }
            )
        s.execute(insert(Payment), batch)
        return shift.id


def naive_totals(ctx: AppContext, shift_id: int) -> dict[tuple[str, str], list[int]]:
    """The baseline: every payment as an ORM object, its practitioner fetched one by one."""
    groups: dict[tuple[str, str], list[int]] = {}
    people: dict[str, int] = {}
    with ctx.db.read() as s:
        ids = s.scalars(select(Payment.id).where(Payment.shift_id == shift_id)).all()
        for pid in ids:
            p = s.get(Payment, pid)
            assert p is not None
            s.expire(p)  # a fresh load per payment, as a per-row service call would do
            who = s.get(Practitioner, p.practitioner_id) if p.practitioner_id else None
            people[who.name if who else ""] = people.get(who.name if who else "", 0) + p.gross_minor
            entry = groups.setdefault((p.provider, p.method), [0, 0, 0])
            entry[0] += 1
            entry[1] += p.gross_minor
            entry[2] += p.fee_minor
    return groups


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--db", default=None, help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = AppPaths(Path(tmp) / "data", Path(tmp) / "data" / "logs").ensure()
        clock = FixedClock(datetime(2026, 11, 20, 20, 30, tzinfo=UTC))
        ctx = AppContext.open(args.db or str(Path(tmp) / "bench.sqlite3"), clock=clock, paths=paths)
        shift_id = seed(ctx, args.rows)

        started = time.perf_counter()
        with ctx.db.read() as s:
            summary = summarise(s, shift_id)
        aggregate_s = time.perf_counter() - started
        print(f"payments: {summary.payments}  gross {summary.gross}  fees {summary.card_fees}")
        print(f"aggregate from the DB (GROUP BY): {aggregate_s:.3f} s")

        started = time.perf_counter()
        with ctx.db.read() as s:
            report = build_shift_report(s, shift_id, clock.now())
        build_s = time.perf_counter() - started
        out = io.BytesIO()
        started = time.perf_counter()
        render_shift_pdf(report, out)
        render_s = time.perf_counter() - started
        size = len(out.getvalue())
        print(f"build report rows from the DB: {build_s:.2f} s; render PDF: {render_s:.2f} s ({size:,} bytes)")
        print(f"shift aggregated and PDF rendered: {aggregate_s + build_s + render_s:.2f} s")

        started = time.perf_counter()
        groups = naive_totals(ctx, shift_id)
        naive_s = time.perf_counter() - started
        assert {k: (v[0], v[1], v[2]) for k, v in groups.items()} == {
            (t.provider, t.method): (t.count, t.gross.minor, t.fee.minor) for t in summary.takings
        }, "the baseline disagrees with the aggregate"
        print(f"baseline, naive per-payment ORM loop: {naive_s:.2f} s")
        print(f"ratio baseline / GROUP BY aggregate: {naive_s / aggregate_s:.0f}x")
        ctx.close()


if __name__ == "__main__":
    main()
