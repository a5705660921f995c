"""The Treatwell settlement CSV as an import schema plus its default saved column mapping.

When Treatwell changes its export, the clinic saves a new :class:`ColumnMapping` (the mapping
dialog starts from :func:`app.imports.csv_mapping.suggest_mapping`); no code changes.
``resources/marketplaces/treatwell-mapping.json`` is this default mapping as saved JSON.
"""

from __future__ import annotations

from app.imports.csv_mapping import ColumnMapping, FieldKind, FieldSpec, ImportSchema

PAYOUT_CSV_SCHEMA = ImportSchema(
    name="marketplace settlement",
    fields=(
        FieldSpec(
            "payout_ref",
            FieldKind.TEXT,
            aliases=("statement id", "settlement id", "settlement ref", "statement ref", "payout id"),
        ),
        FieldSpec("payout_date", FieldKind.DATE, aliases=("payout date", "paid on", "settlement date")),
        FieldSpec("currency", FieldKind.TEXT, required=False, aliases=("ccy",)),
        FieldSpec(
            "total_net",
            FieldKind.MONEY,
            required=False,
            aliases=("statement net total", "statement total", "payout total"),
        ),
        FieldSpec(
            "booking_id",
            FieldKind.TEXT,
            required=False,
            aliases=("booking reference", "booking id", "booking no", "booking"),
        ),
        FieldSpec(
            "patient_ref",
            FieldKind.TEXT,
            required=False,
            aliases=("customer reference", "client reference", "member reference"),
        ),
        FieldSpec("service_date", FieldKind.DATE, aliases=("appointment date", "treatment date", "visit date")),
        FieldSpec("gross", FieldKind.MONEY, aliases=("treatment price", "price", "gross amount")),
        FieldSpec("commission", FieldKind.MONEY, aliases=("treatwell commission", "commission amount")),
        FieldSpec("processing_fee", FieldKind.MONEY, aliases=("payment processing fee", "card fee")),
        FieldSpec("vat_on_fees", FieldKind.MONEY, aliases=("vat on fees", "vat")),
        FieldSpec("net", FieldKind.MONEY, aliases=("net payout", "net amount")),
    ),
    currency_field="currency",
)

DEFAULT_TREATWELL_MAPPING = ColumnMapping(
    source="treatwell",
    columns={
        "payout_ref": "Statement ID",
        "payout_date": "Payout Date",
        "currency": "Currency",
        "total_net": "Statement Net Total",
        "booking_id": "Booking Reference",
        "patient_ref": "Customer Reference",
        "service_date": "Appointment Date",
        "gross": "Treatment Price",
        "commission": "Treatwell Commission",
        "processing_fee": "Payment Processing Fee",
        "vat_on_fees": "VAT on Fees",
        "net": "Net Payout",
    },
    date_formats=("%d/%m/%Y",),
    currency="GBP",
)
