"""Bench: our streaming 835 parser against pyx12 (run by hand: ``python bench/bench_835.py``).

Generates an 835 with 100,000 claim payments (200,000 service lines, 1,000 claims per
payment), times our parse and its peak memory, then times pyx12 validating a 10,000-claim file
of the same shape, and prints the per-claim speed ratio.
Targets: >= 30x pyx12, 100,000 claims well under 3 s, peak memory < 150 MB.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.x12.x835 import parse_835
from tests.x12.make835 import write_bulk_835
from tests.x12.oracle import pyx12_validate


def make(folder: Path, claims: int) -> Path:
    path = folder / f"bulk-{claims}.835"
    with path.open("w") as out:
        write_bulk_835(out, claims, lines_per_claim=2, claims_per_payment=1000)
    return path


def parse(path: Path) -> tuple[int, int]:
    claims = lines = 0
    with path.open("rb") as source:
        for payment in parse_835(source, path.name):
            claims += len(payment.claims)
            lines += sum(len(c.services) for c in payment.claims)
    return claims, lines


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--pyx12-claims", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        big = make(folder, args.claims)
        small = make(folder, args.pyx12_claims)
        sizes = f"{big.stat().st_size / 1e6:.1f} MB and {small.stat().st_size / 1e6:.1f} MB"
        print(f"generated {big.name} and {small.name}: {sizes}")

        parse(small)  # warm up; also the memory baseline for a file 10x smaller
        rss_small = maxrss_mb()
        runs = []
        for _ in range(3):  # best of 3: the machine may be busy with other work
            start, cpu = time.perf_counter(), time.process_time()
            claims, lines = parse(big)
            runs.append((time.perf_counter() - start, time.process_time() - cpu))
        ours, ours_cpu = min(runs)
        rss_big = maxrss_mb()
        tracemalloc.start()
        parse(big)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        ours_rate = claims / ours
        print(f"ours:  {claims:,} claims, {lines:,} lines in {ours:.2f} s (CPU {ours_cpu:.2f} s)", end=" ")
        print(f"= {ours_rate:,.0f} claims/s; load average {os.getloadavg()[0]:.1f}")
        print(f"       peak traced Python memory {peak:.1f} MB; max RSS {rss_small:.0f} MB after the", end=" ")
        print(f"{args.pyx12_claims:,}-claim file, {rss_big:.0f} MB after the {args.claims:,}-claim one")

        start = time.perf_counter()
        ok, errors = pyx12_validate(small)
        theirs = time.perf_counter() - start
        theirs_rate = args.pyx12_claims / theirs
        print(
            f"pyx12: validated {args.pyx12_claims:,} claims in {theirs:.2f} s = {theirs_rate:,.0f} claims/s",
            end="",
        )
        print(f" (valid={ok}{'' if ok else f', first error: {errors[:1]}'})")
        ratio = ours_rate / theirs_rate
        print(f"ratio: ours is {ratio:.0f}x pyx12 per claim")
        checks = {
            ">= 30x pyx12": ratio >= 30,
            f"{args.claims:,} claims < 3 s": ours < 3,
            "peak memory < 150 MB": peak < 150 and rss_big < 150,
            "same claims back": claims == args.claims and lines == 2 * args.claims,
        }
        for name, passed in checks.items():
            print(f"  {'PASS' if passed else 'FAIL'}  {name}")
        return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
