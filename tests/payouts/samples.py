"""Sample marketplace documents and a matching sales ledger, shared by the payout tests."""

from __future__ import annotations

from datetime import date

import polars as pl

from app.payouts.reconcile import SALE_COLUMNS

CLASSPASS_KEY = "cp_test_key_9f8e7d"
PARTNER = "partner-4411"
TW_USER, TW_PASSWORD = "clinic-api", "tw-secret-pw"

# Written by hand, with the odd spacing a real API might have: the bytes must survive unchanged.
CLASSPASS_PAYOUT = b"""{
  "id": "po_2026_03_001", "partner_id": "partner-4411",
  "period": {"start": "2026-03-01", "end": "2026-03-07"},
  "payout_date": "2026-03-09", "currency": "GBP", "total_net": "107.12",
  "lines": [
    {"booking_id": "CPB-1001", "reservation_id": "R-1", "member_reference": "CPM-77",
     "service_date": "2026-03-02", "venue_id": "V-LDN-1", "gross": "40.00", "commission": "8.00",
     "processing_fee": "0.80", "vat_on_fees": "1.76", "net": "29.44"},
    {"booking_id": "CPB-1002", "reservation_id": "R-2", "member_reference": "CPM-78",
     "service_date": "2026-03-03", "venue_id": "V-LDN-1", "gross": "55.00", "commission": "11.00",
     "processing_fee": "1.10", "vat_on_fees": "2.42", "net": "40.48"},
    {"booking_id": "CPB-1003", "reservation_id": "R-3", "member_reference": "CPM-79",
     "service_date": "2026-03-05", "venue_id": "V-LDN-1", "gross": "50.00", "commission": "10.00",
     "processing_fee": "1.00", "vat_on_fees": "1.80", "net": "37.20"}
  ]
}"""


def classpass_payout(payout_id: str, payout_date: str) -> bytes:
    return CLASSPASS_PAYOUT.replace(b"po_2026_03_001", payout_id.encode()).replace(
        b'"payout_date": "2026-03-09"', f'"payout_date": "{payout_date}"'.encode()
    )


def ledger(rows: list[tuple[str, str | None, str | None, date, int, str]]) -> pl.DataFrame:
    """(sale_id, booking_id, patient_ref, service_date, amount_minor, source) in GBP."""
    return pl.DataFrame(
        [
            {
                "sale_id": s,
                "booking_id": b,
                "patient_ref": p,
                "service_date": d,
                "amount_minor": a,
                "currency": "GBP",
                "source": src,
            }
            for s, b, p, d, a, src in rows
        ],
        schema=SALE_COLUMNS,
    )
