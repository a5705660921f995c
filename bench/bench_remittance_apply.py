"""Bench: an 835 with 100,000 claim payments parsed AND applied to a database holding those claims.

Run by hand: ``python bench/bench_remittance_apply.py [--claims N] [--pyx12-claims M]``.
Generates the file with tests/x12/make835.py (2 service lines per claim, 1,000 claims per payment),
bulk-inserts the matching claims (with encounters and invoices) into a fresh SQLite file, then
times ``import_remittance_file`` (archive, parse, store, match, post, journal, artefacts). A second
fresh database repeats the import under tracemalloc for the peak Python memory. pyx12 validates a
file of the same shape with M claims, and the per-claim speed ratio is printed.
Targets from the issue: >= 30x pyx12, 100,000 claims parsed and applied in under 3 s, < 150 MB.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select

from app.audit import Actor
from app.clock import FixedClock
from app.context import AppContext
from app.db.models import Claim, Clinic, Encounter, Invoice, Patient, Payer, Practitioner
from app.domain.status import ClaimStatus, InsurerChannelKind, PayerKind, Role
from app.paths import AppPaths
from app.remittance.ingest import import_remittance_file
from tests.x12.make835 import write_bulk_835
from tests.x12.oracle import pyx12_validate

NOW = datetime(2024, 1, 10, 9, 0, tzinfo=UTC)
CHUNK = 20_000


def make_file(folder: Path, claims: int) -> Path:
    path = folder / f"bulk-{claims}.835"
    with path.open("w") as out:
        write_bulk_835(out, claims, lines_per_claim=2, claims_per_payment=1000)
    return path


def make_db(folder: Path, claims: int) -> AppContext:
    ctx = AppContext.open(folder / "bench.sqlite3", clock=FixedClock(NOW), paths=AppPaths(folder, folder / "logs"))
    with ctx.db.unit_of_work() as s:
        s.execute(insert(Clinic), [{"id": 1, "name": "Riverside Clinic"}])
        s.execute(insert(Practitioner), [{"id": 1, "clinic_id": 1, "name": "Dr Lee"}])
        s.execute(
            insert(Payer),
            [
                {
                    "id": 1,
                    "code": "acme",
                    "name": "ACME HEALTH PLAN",
                    "kind": PayerKind.INSURER,
                    "channel": InsurerChannelKind.X12,
                }
            ],
        )
        s.execute(insert(Patient), [{"id": 1, "clinic_id": 1, "ref": "P1", "first_name": "Jane", "last_name": "Doe"}])
        for start in range(0, claims, CHUNK):
            ids = range(start + 1, min(start + CHUNK, claims) + 1)
            day = date(2024, 1, 2)
            s.execute(
                insert(Encounter),
                [{"id": i, "clinic_id": 1, "patient_id": 1, "practitioner_id": 1, "service_date": day} for i in ids],
            )
            s.execute(
                insert(Invoice),
                [
                    {
                        "id": i,
                        "number": f"INV{i:07d}",
                        "clinic_id": 1,
                        "patient_id": 1,
                        "encounter_id": i,
                        "issued_at": NOW,
                        "total_minor": 20000,
                        "paid_minor": 0,
                        "patient_due_minor": 0,
                        "currency": "GBP",
                    }
                    for i in ids
                ],
            )
            s.execute(
                insert(Claim),
                [
                    {
                        "id": i,
                        "number": f"CLM{i - 1:07d}",
                        "clinic_id": 1,
                        "patient_id": 1,
                        "practitioner_id": 1,
                        "payer_id": 1,
                        "encounter_id": i,
                        "service_date": day,
                        "status": ClaimStatus.SUBMITTED,
                        "total_minor": 20000,
                        "paid_minor": 0,
                        "patient_resp_minor": 0,
                        "currency": "GBP",
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for i in ids
                ],
            )
    return ctx


def apply_file(folder: Path, path: Path, claims: int, traced: bool) -> tuple[float, float, int]:
    ctx = make_db(folder, claims)
    actor = Actor(None, "bench", Role.MANAGER)
    data = path.read_bytes()
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    import_remittance_file(ctx, actor, data, path.name)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 1e6 if traced else 0.0
    tracemalloc.stop()
    with ctx.db.read() as s:
        paid = int(s.scalar(select(func.count()).select_from(Claim).where(Claim.status == ClaimStatus.PAID)) or 0)
    ctx.close()
    return elapsed, peak, paid


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--pyx12-claims", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        big, small = make_file(folder, args.claims), make_file(folder, args.pyx12_claims)
        print(f"generated {big.name} ({big.stat().st_size / 1e6:.1f} MB) and {small.name}")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        (folder / "a").mkdir()
        ours, _, paid = apply_file(folder / "a", big, args.claims, traced=False)
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rate = args.claims / ours
        print(
            f"ours:  {args.claims:,} claims parsed and applied in {ours:.2f} s = {rate:,.0f} claims/s "
            f"({paid:,} claims now paid); load average {os.getloadavg()[0]:.1f}"
        )
        (folder / "b").mkdir()
        _, peak, _ = apply_file(folder / "b", big, args.claims, traced=True)
        print(
            f"       peak traced Python memory during the import {peak:.1f} MB; "
            f"max RSS {rss_before:.0f} MB before, {rss_after:.0f} MB after the untraced run"
        )
        start = time.perf_counter()
        ok, errors = pyx12_validate(small)
        theirs = time.perf_counter() - start
        their_rate = args.pyx12_claims / theirs
        print(
            f"pyx12: {args.pyx12_claims:,} claims validated in {theirs:.2f} s = {their_rate:,.0f} claims/s "
            f"({'valid' if ok else 'INVALID: ' + '; '.join(errors[:3])})"
        )
        print(f"ratio: ours (parse + apply) is {rate / their_rate:.1f}x pyx12 (validate only); target >= 30x")
        print(
            f"targets: < 3 s for 100,000 claims: {'met' if ours < 3 and args.claims >= 100_000 else 'NOT met'}; "
            f"< 150 MB: {'met' if peak < 150 else 'NOT met'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
