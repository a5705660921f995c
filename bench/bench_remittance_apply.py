"""Bench: an 835 with 100,000 claim payments parsed AND applied to a database holding those claims.

Run by hand: ``python bench/bench_remittance_apply.py [--claims N] [--pyx12-claims M] [--runs R]``.
Generates the file with tests/x12/make835.py (2 service lines per claim, each with a CO and a PR
adjustment: a cash posting and one posting per group and reason per claim, all routine, so none
is stored as a ledger_posting row; 1,000 claims per payment), bulk-inserts the matching claims
(with encounters and invoices) into a fresh SQLite file, then times ``import_remittance_file``
(archive, parse, store, match, lines, claims, invoices, journal, artefacts, audit, commit) R times,
each on a fresh database in a fresh Python process, and quotes the median with where the time
went (parse / store / match / write) and the process's high-water RSS; one more traced run gives
the peak traced Python memory. pyx12 validates a file of the same shape with M claims in the same
run, and the per-claim speed ratio is printed. The floor of this design is timed in the same run
too: the lane's read of the file, and the same rows written with raw sqlite3 in one transaction.
Targets from the issue: >= 30x pyx12, 100,000 claims parsed and applied in under 3 s, peak
memory under 150 MB.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select

import app.remittance.apply as apply_module
import app.remittance.ingest as ingest_module
from app.audit import Actor
from app.clock import FixedClock
from app.context import AppContext
from app.db.models import Claim, Clinic, Encounter, Invoice, Patient, Payer, Practitioner
from app.domain.status import ClaimStatus, InsurerChannelKind, PayerKind, Role
from app.paths import AppPaths
from app.remittance.apply import INSERT_COLUMNS, RECORD_COLUMNS
from app.remittance.fastpath import FastMatcher, MergedAdjustments
from app.remittance.ingest import import_remittance_file
from app.remittance.matcher import _CANDIDATES
from app.x12.lane835 import read_835_lane
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


class Phases:
    """Wall time per phase of one import, by wrapping the functions of each phase (restored after)."""

    def __init__(self) -> None:
        self.seconds = {"parse": 0.0, "store": 0.0, "apply": 0.0, "match": 0.0}
        self.fast_lines = 0
        self._undo: list[tuple[Any, str, Any]] = []

    def _patch(self, owner: Any, name: str, wrapper: Callable[[Any], Any]) -> None:
        original = getattr(owner, name)
        self._undo.append((owner, name, original))
        setattr(owner, name, wrapper(original))

    def _timed(self, phase: str) -> Callable[[Any], Any]:
        def wrap(fn: Any) -> Any:
            def timed(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    self.seconds[phase] += time.perf_counter() - start

            return timed

        return wrap

    def _timed_stream(self, fn: Any) -> Any:
        def stream(*args: Any, **kwargs: Any) -> Iterator[Any]:
            items = fn(*args, **kwargs)
            while True:
                start = time.perf_counter()
                try:
                    item = next(items)
                except StopIteration:
                    return
                finally:
                    self.seconds["parse"] += time.perf_counter() - start
                yield item

        return stream

    def _counted(self, fn: Any) -> Any:
        def fast(*args: Any) -> Any:
            out = fn(*args)
            self.fast_lines += out is not None
            return out

        return fast

    def __enter__(self) -> Phases:
        self._patch(ingest_module, "prepared_payments", self._timed_stream)
        self._patch(ingest_module, "store_payment", self._timed("store"))
        self._patch(ingest_module, "apply_stored", self._timed("apply"))
        for name in ("_read_lines", "line_in", "load_candidates"):
            self._patch(apply_module, name, self._timed("match"))
        self._patch(FastMatcher, "apply", self._timed("match"))
        self._patch(FastMatcher, "_fast", self._counted)
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)


def import_once(folder: Path, path: Path, traced: bool) -> tuple[float, int]:
    """Import the file into the database in ``folder`` (seconds, claims now paid); tracing starts
    once the file's bytes are read (the caller's, as in the app)."""
    ctx = AppContext.open(folder / "bench.sqlite3", clock=FixedClock(NOW), paths=AppPaths(folder, folder / "logs"))
    actor = Actor(None, "bench", Role.MANAGER)
    data = path.read_bytes()
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    import_remittance_file(ctx, actor, data, path.name)
    elapsed = time.perf_counter() - start
    with ctx.db.read() as s:
        paid = int(s.scalar(select(func.count()).select_from(Claim).where(Claim.status == ClaimStatus.PAID)) or 0)
    ctx.close()
    return elapsed, paid


def child(folder: Path, path: Path, traced: bool) -> None:
    """In a fresh process: one import, timed by phase; prints the figures as JSON."""
    with Phases() as phases:
        elapsed, paid = import_once(folder, path, traced)
    figures = {
        "seconds": elapsed,
        **phases.seconds,
        "fast_lines": phases.fast_lines,
        "paid": paid,
        "traced_mb": tracemalloc.get_traced_memory()[1] / 1e6 if traced else 0.0,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "load": os.getloadavg()[0],
    }
    print(json.dumps(figures))


def floor(folder: Path, path: Path) -> None:
    """In a fresh process: what no import of this file can go below on this machine with this
    design, timed apart: reading it with the single-pass lane, and the database work alone (raw
    sqlite3, one transaction: the candidate lookup, the same line rows inserted, the claims and
    invoices updated, commit). Prints both as JSON."""
    data = path.read_bytes()
    gc.disable()
    start = time.perf_counter()
    payments = list(read_835_lane(data, path.name, "GBP"))
    lane = time.perf_counter() - start
    con = sqlite3.connect(folder / "bench.sqlite3", isolation_level=None)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
        con.execute(f"PRAGMA {pragma}")
    now, why = "2024-01-10 09:00:00.000000", "matched on claim id; paid £160.00, exactly as expected"
    columns = (*INSERT_COLUMNS[:13], *RECORD_COLUMNS)
    insert = f"INSERT INTO remittance_line ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    claim_sql = "UPDATE claim SET paid_minor = ?, patient_resp_minor = ?, status = ?, adjudicated_at = ? WHERE id = ?"
    start = time.perf_counter()
    con.execute("BEGIN IMMEDIATE")
    for n, p in enumerate(payments, start=1):
        con.execute(
            "INSERT INTO remittance (id, payer_id, source_format, filename, raw_sha256, trace_number, "
            "total_paid_minor, unapplied_minor, currency, payer_name, method, provider_adjustments_json, received_at, "
            "status) "
            "VALUES (?, 1, 'x12_835', 'f', 's', ?, 0, 0, 'GBP', 'p', 'CHK', '[]', ?, 'applied')",
            (n, p.trace_number, now),
        )
        numbers = [f[0] for f in p.fields]
        sql = _CANDIDATES.replace("{mark}", "?").replace("{in}", ", ".join("?" * len(numbers))) % "c.number"
        found = {r[1]: r for r in con.execute(sql, ("2022-07-14 09:00:00.000000", *numbers))}
        merged = MergedAdjustments("GBP")
        rows, claims, invoices = [], [], []
        for fields, line in zip(p.fields, p.lines, strict=True):
            c = found[fields[0]]
            day = fields[3].isoformat() if fields[3] else None
            record = (f"claim id (105): {why}", 1, "full payment", "claim id", 105, why, f"REM{n}:{line.position}")
            rows.append(
                (
                    n,
                    c[0],
                    *fields[:3],
                    day,
                    *fields[4:],
                    "GBP",
                    merged(line.adjustments),
                    "",
                    *record,
                    line.paid,
                    3000,
                    now,
                )
            )
            claims.append((c[8] + line.paid, c[9] + line.patient_resp, "paid", now, c[0]))
            invoices.append(c[11])
        con.executemany(insert, rows)
        con.executemany(claim_sql, claims)
        due = con.execute(
            f"SELECT id, patient_due_minor FROM invoice WHERE encounter_id IN ({', '.join('?' * len(invoices))})",
            invoices,
        ).fetchall()
        con.executemany("UPDATE invoice SET patient_due_minor = ? WHERE id = ?", [(d + 1000, i) for i, d in due])
    con.execute("COMMIT")
    database = time.perf_counter() - start
    con.close()
    print(json.dumps({"lane": lane, "database": database}))


def run_floor(folder: Path, path: Path, claims: int) -> dict[str, float]:
    folder.mkdir()
    make_db(folder, claims).close()
    command = [sys.executable, __file__, "--floor", str(folder), str(path)]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def run_child(folder: Path, path: Path, claims: int, traced: bool) -> dict[str, float]:
    """A fresh database holding the claims, then one import in a fresh interpreter (no heap left over)."""
    folder.mkdir()
    make_db(folder, claims).close()
    command = [sys.executable, __file__, "--child", str(folder), str(path), *(["--traced"] if traced else [])]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--pyx12-claims", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("FOLDER", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--floor", nargs=2, metavar=("FOLDER", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.traced)
        return 0
    if args.floor:
        floor(Path(args.floor[0]), Path(args.floor[1]))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        big, small = make_file(folder, args.claims), make_file(folder, args.pyx12_claims)
        print(f"generated {big.name} ({big.stat().st_size / 1e6:.1f} MB) and {small.name}")
        runs = []
        for n in range(args.runs):
            f = run_child(folder / f"run{n}", big, args.claims, traced=False)
            runs.append(f)
            print(
                f"run {n + 1}: {f['seconds']:.2f} s = parse {f['parse']:.2f} + store {f['store']:.2f} + "
                f"match {f['match']:.2f} + write {f['apply'] - f['match']:.2f} + archive/audit/commit "
                f"{f['seconds'] - f['parse'] - f['store'] - f['apply']:.2f}; {f['paid']:,} claims paid, "
                f"{f['fast_lines']:,} lines on the fast path; high-water RSS {f['rss_mb']:.0f} MB; "
                f"load average {f['load']:.1f}"
            )
        ours = statistics.median(f["seconds"] for f in runs)
        rate = args.claims / ours
        rss = max(f["rss_mb"] for f in runs)
        traced = run_child(folder / "traced", big, args.claims, traced=True)["traced_mb"]
        print(
            f"ours:  {args.claims:,} claims parsed and applied in {ours:.2f} s (median of {args.runs}) "
            f"= {rate:,.0f} claims/s; high-water RSS {rss:.0f} MB (whole process), peak traced Python "
            f"memory {traced:.1f} MB (separate traced run)"
        )
        start = time.perf_counter()
        ok, errors = pyx12_validate(small)
        theirs = time.perf_counter() - start
        their_rate = args.pyx12_claims / theirs
        print(
            f"pyx12: {args.pyx12_claims:,} claims validated in {theirs:.2f} s = {their_rate:,.0f} claims/s "
            f"({'valid' if ok else 'INVALID: ' + '; '.join(errors[:3])})"
        )
        ratio = rate / their_rate
        print(f"ratio: ours (parse + apply) is {ratio:.1f}x pyx12 (validate only)")
        low = run_floor(folder / "floor", big, args.claims)
        least = low["lane"] + low["database"]
        print(
            f"floor: reading the file with the lane {low['lane']:.2f} s + the database work alone (raw sqlite3: "
            f"lookup, line rows, claims, invoices, commit) {low['database']:.2f} s = {least:.2f} s; "
            f"everything else (matching, postings, journal, audit, artefacts) took {ours - least:.2f} s"
        )
        full = args.claims >= 100_000
        print(f"{verdict(ratio >= 30)}: >= 30x pyx12's speed ({ratio:.1f}x)")
        print(f"{verdict(full and ours < 3)}: 100,000 claims parsed and applied in under 3 s ({ours:.2f} s)")
        print(f"{verdict(traced < 150)}: peak traced Python memory of the import under 150 MB ({traced:.0f} MB)")
        print(f"{verdict(rss < 150)}: high-water RSS of the whole process under 150 MB ({rss:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
