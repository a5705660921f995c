"""Bench: claim packs (run by hand: ``python bench/bench_claim_packs.py``).

Builds and validates 10,000 claim packs (two thirds insurer XML checked against the XSD and its
sums, one third X12 837P through the writer's checks; each with its treatment-note PDF,
``attachments.zip`` and ``hash-report.json``) and prints claims per second. In the same run pyx12
validates a 2,000-claim 837P built from the same claims, and the per-claim ratio is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.claims.demo_data import X12_PROFILE
from app.claims.pack import PackInput, PackLine, build_pack, professional_claim
from app.domain.status import InsurerChannelKind
from app.x12.x837p import write_837p
from tests.x12.oracle import pyx12_validate

WHEN = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
BASE = PackInput(
    number="CLM-000000",
    channel=InsurerChannelKind.SFTP_XML,
    payer_name="Bupa",
    payer_id_code="BUPA",
    payer_settings={"x12": X12_PROFILE},
    currency="GBP",
    member_id="BUP12345678",
    authorisation_number="PA998877",
    patient_first="Ann",
    patient_last="Oneil",
    patient_dob=date(1980, 5, 17),
    patient_gender="F",
    patient_address="12 High Street, London",
    patient_postcode="NW1 7AA",
    clinic_name="Camden Wellness Clinic",
    clinic_provider_number="BUPA-CW-0192",
    clinic_npi="1234567893",
    clinic_tax_id="123456789",
    practitioner="Dr Sarah Hughes",
    practitioner_registration="HCPC PH123456",
    practitioner_npi="1245319599",
    service_date=date(2026, 11, 18),
    diagnoses=("M54.5", "M25.561"),
    notes="Lower back pain after lifting; mobilisation and exercises. " * 4,
    consent_date=date(2026, 11, 18),
    invoice_number="INV-000001",
    lines=(),
)
XML_LINES = (PackLine("PHY01", "BPHY01", "Physiotherapy initial assessment", 1, 7500),
             PackLine("PHY02", "BPHY02", "Physiotherapy follow-up", 2, 11000))  # fmt: skip
X12_LINES = (PackLine("PHY01", "97161", "Physiotherapy initial assessment", 1, 7500),
             PackLine("PHY02", "97110", "Physiotherapy follow-up", 2, 11000))  # fmt: skip


def inputs(count: int) -> list[PackInput]:
    out = []
    for i in range(count):
        x12 = i % 3 == 0
        out.append(
            replace(
                BASE,
                number=f"CLM-{i:06d}",
                channel=InsurerChannelKind.X12 if x12 else InsurerChannelKind.SFTP_XML,
                lines=X12_LINES if x12 else XML_LINES,
                authorisation_number=f"PA{i:06d}" if i % 5 else "",
            )
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--pyx12-claims", type=int, default=2_000)
    args = parser.parse_args()
    claims = inputs(args.claims)
    build_pack(claims[1])  # load the XSDs once, outside the timing
    start = time.perf_counter()
    size = 0
    for n, p in enumerate(claims, start=1):
        files = build_pack(p, control_number=n, created_at=WHEN)
        size += len(files.payload) + len(files.attachments_zip) + len(files.hash_report)
    ours = time.perf_counter() - start
    ours_rate = args.claims / ours
    print(f"ours:  built and validated {args.claims:,} packs ({size / 1e6:.1f} MB) in {ours:.2f} s", end=" ")
    print(f"= {ours_rate:,.0f} claims/s; load average {os.getloadavg()[0]:.1f}")
    sample = [professional_claim(p) for p in inputs(args.pyx12_claims * 3) if p.channel is InsurerChannelKind.X12]
    sample = sample[: args.pyx12_claims]
    _claim, sender, receiver = sample[0]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sample.837"
        path.write_text(write_837p([c for c, _s, _r in sample], sender, receiver, 1, WHEN))
        start = time.perf_counter()
        ok, errors = pyx12_validate(path)
        theirs = time.perf_counter() - start
    theirs_rate = len(sample) / theirs
    print(f"pyx12: validated {len(sample):,} claims in {theirs:.2f} s = {theirs_rate:,.0f} claims/s", end="")
    print(f" (valid={ok}{'' if ok else f', first error: {errors[:1]}'})")
    print(f"ratio: packing is {ours_rate / theirs_rate:.1f}x pyx12's validation speed per claim")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
