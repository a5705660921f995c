"""Every remittance file kind read into one normalised form: :class:`RemittancePayment` per payment.

An X12 835 is streamed (one payment per ST/SE, yielded as read); an insurer XML remittance is one
payment; a CSV with a saved column mapping gives one payment per trace number, in file order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from app.claims.xml_payload import parse_remittance_xml
from app.errors import ValidationFailed
from app.imports.csv_mapping import ColumnMapping, FieldKind, FieldSpec, ImportSchema, read_mapped_csv
from app.money import Money
from app.x12.lane835 import LanePayment, first_service_date, from_reference, read_835_lane
from app.x12.remittance import Adjustment, ClaimPayment, RemittancePayment
from app.x12.x835 import parse_835


class FileKind(StrEnum):
    """The ``imported_file.kind`` each remittance source is registered under."""

    X12_835 = "x12_835"
    INSURER_XML = "insurer_xml_remittance"
    CSV = "remittance_csv"


COPAY_REASON = "3"  # CARC 3: co-payment amount (XML and CSV give the patient's share without a reason)

REMITTANCE_CSV_SCHEMA = ImportSchema(
    "remittance",
    (
        FieldSpec("trace_number", FieldKind.TEXT, aliases=("payment reference", "payment ref", "trace")),
        FieldSpec("payment_date", FieldKind.DATE, aliases=("paid on", "payment date")),
        FieldSpec("claim_id", FieldKind.TEXT, required=False, aliases=("claim", "claim number", "our ref")),
        FieldSpec("payer_claim_id", FieldKind.TEXT, required=False, aliases=("insurer ref", "insurer claim ref")),
        FieldSpec("patient_ref", FieldKind.TEXT, required=False, aliases=("patient", "member")),
        FieldSpec("service_date", FieldKind.DATE, required=False, aliases=("date of service",)),
        FieldSpec("status_code", FieldKind.TEXT, required=False, aliases=("status",)),
        FieldSpec("charged", FieldKind.MONEY, aliases=("billed", "charge")),
        FieldSpec("paid", FieldKind.MONEY, aliases=("paid amount", "benefit")),
        FieldSpec("patient_responsibility", FieldKind.MONEY, required=False, aliases=("co-pay", "excess")),
        FieldSpec("contractual", FieldKind.MONEY, required=False, aliases=("write off", "adjustment")),
        FieldSpec("currency", FieldKind.TEXT, required=False),
    ),
    currency_field="currency",
)


@dataclass(frozen=True, slots=True)
class ReadPayment:
    """One payment from a file, with what the 835 shape does not carry."""

    payment: RemittancePayment
    currency: str
    patient_refs: tuple[str, ...] = ()  # per claim, aligned with payment.claims ("" = none)
    service_dates: tuple[date | None, ...] = ()


def detect_kind(data: bytes) -> FileKind:
    """835 files start with ISA, XML with ``<``; anything else is taken as CSV."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"ISA"):
        return FileKind.X12_835
    if head.startswith(b"<"):
        return FileKind.INSURER_XML
    return FileKind.CSV


def _from_835(data: bytes, filename: str, currency: str) -> Iterator[ReadPayment]:
    for payment in parse_835(data, filename):
        dates = tuple(first_service_date(c) for c in payment.claims)
        yield ReadPayment(payment, currency, ("",) * len(payment.claims), dates)


def _from_xml(data: bytes, filename: str) -> Iterator[ReadPayment]:
    doc = parse_remittance_xml(data, filename)
    claims = []
    for c in doc.claims:
        adjustments = [Adjustment("CO", a.code, a.amount.amount) for a in c.adjustments]
        if c.patient_responsibility.minor:
            adjustments.append(Adjustment("PR", COPAY_REASON, c.patient_responsibility.amount))
        status = "1" if c.paid.minor > 0 else ("22" if c.paid.minor < 0 else "4")
        claims.append(
            ClaimPayment(
                c.claim_id,
                c.insurer_claim_ref,
                status,
                c.charged.amount,
                c.paid.amount,
                c.patient_responsibility.amount,
                tuple(adjustments),
                (),
            )
        )
    payment = RemittancePayment(
        doc.payment_reference, doc.insurer_code, "", "", doc.payment_date, doc.total_paid.amount, tuple(claims), ()
    )
    yield ReadPayment(payment, doc.total_paid.currency, ("",) * len(claims), (None,) * len(claims))


def _amount(row: dict[str, Any], name: str) -> Decimal:
    value = row.get(name)
    return value.amount if isinstance(value, Money) else Decimal(0)


def _from_csv(data: bytes, filename: str, mapping: ColumnMapping) -> Iterator[ReadPayment]:
    rows = read_mapped_csv(data, filename, mapping, REMITTANCE_CSV_SCHEMA)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(str(row["trace_number"]), []).append(row)
    for trace, group in groups.items():
        claims = []
        currency = group[0]["paid"].currency
        for row in group:
            paid, resp, contractual = (
                _amount(row, "paid"),
                _amount(row, "patient_responsibility"),
                _amount(row, "contractual"),
            )
            adjustments = []
            if contractual:
                adjustments.append(Adjustment("CO", "45", contractual))
            if resp:
                adjustments.append(Adjustment("PR", COPAY_REASON, resp))
            status = row.get("status_code") or ("1" if paid > 0 else ("22" if paid < 0 else "4"))
            claims.append(
                ClaimPayment(
                    row.get("claim_id") or "",
                    row.get("payer_claim_id") or "",
                    status,
                    _amount(row, "charged"),
                    paid,
                    resp,
                    tuple(adjustments),
                    (),
                )
            )
        total = sum((c.paid for c in claims), Decimal(0))
        payment = RemittancePayment(trace, mapping.source, "", "", group[0]["payment_date"], total, tuple(claims), ())
        refs = tuple(str(r.get("patient_ref") or "") for r in group)
        yield ReadPayment(payment, currency, refs, tuple(r.get("service_date") for r in group))


def read_payments(
    kind: FileKind, data: bytes, filename: str, *, currency: str, mapping: ColumnMapping | None = None
) -> Iterator[ReadPayment]:
    """Payments of the file in file order. Raises ParseError/ValidationFailed naming file and place."""
    if kind is FileKind.X12_835:
        return _from_835(data, filename, currency)
    if kind is FileKind.INSURER_XML:
        return _from_xml(data, filename)
    if mapping is None:
        raise ValidationFailed(
            f"{filename} looks like a CSV remittance but no saved column mapping was given",
            ["choose the insurer (--payer) or the mapping (--mapping) saved in Settings"],
        )
    return _from_csv(data, filename, mapping)


def prepared_payments(
    kind: FileKind, data: bytes, filename: str, *, currency: str, mapping: ColumnMapping | None = None
) -> Iterator[tuple[LanePayment, str]]:
    """Payments of the file in file order as import stores them, each with its currency: an 835
    through the single-pass lane (app.x12.lane835), the other kinds through :func:`read_payments`."""
    if kind is FileKind.X12_835:
        for payment in read_835_lane(data, filename, currency):
            yield payment, currency
        return
    for read in read_payments(kind, data, filename, currency=currency, mapping=mapping):
        yield from_reference(read.payment, read.currency, read.patient_refs, read.service_dates), read.currency
