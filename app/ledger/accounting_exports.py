"""Journal and refund exports: our own CSV, Xero and QuickBooks Online import layouts.

Layouts follow the vendors' import templates:
- Xero manual journals (Adviser > Manual Journals > Import): one row per line, lines with the
  same narration and date form one journal; Amount positive = debit, negative = credit;
  Date dd/mm/yyyy; AccountCode is the code, TaxRate the tax rate's full name.
- QuickBooks Online journal entries (Settings > Import data > Journal entries): Journal No
  groups lines; Account is the account name (account numbers turned off); blank Debits on
  credit lines and vice versa; Name is required on A/R and A/P lines.
- Xero credit notes (sales credit note import template, positive amounts).
- QBO refund receipts (the importer field set: Refund Receipt No, Customer, Refund From, ...).
Amounts are decimal strings with the currency's places; never floats.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.errors import ValidationFailed
from app.ledger.chart import DEFAULT_CHART, AccountMap, Chart
from app.ledger.csv_text import money_text, positive_or_blank, write_csv
from app.ledger.journal_builders import RefundRecord, refund_accounts
from app.ledger.journals import JournalEntry


@dataclass(frozen=True, slots=True)
class ExternalAccountMap:
    """How our account codes appear in the accounting package.

    ``codes``: our code -> their account code (Xero). ``names``: our code -> their account
    name (QBO; falls back to our chart's name). ``tracking``: up to two (category, option)
    pairs put on every Xero line.
    """

    codes: tuple[tuple[str, str], ...] = ()
    names: tuple[tuple[str, str], ...] = ()
    xero_journal_tax_rate: str = "No VAT"
    xero_sales_tax_type: str = "Exempt Income"
    tracking: tuple[tuple[str, str], ...] = ()
    date_format: str = "%d/%m/%Y"

    def __post_init__(self) -> None:
        if len(self.tracking) > 2:
            raise ValidationFailed("Xero allows at most two tracking categories.", [str(self.tracking)])

    def code_for(self, ours: str) -> str:
        return dict(self.codes).get(ours, ours)

    def name_for(self, ours: str, chart: Chart) -> str:
        return dict(self.names).get(ours) or chart.get(ours).name


def _check_codes(entries: Iterable[JournalEntry], chart: Chart) -> list[JournalEntry]:
    listed = list(entries)
    missing = sorted({ln.account for e in listed for ln in e.lines if not chart.has(ln.account)})
    if missing:
        raise ValidationFailed(
            "Some journal lines use accounts that are not in the chart.", [f"account {c}" for c in missing]
        )
    return listed


JOURNALS_HEADER = ("entry_id", "date", "account_code", "account_name", "debit", "credit", "memo", "source")


def journals_csv(entries: Iterable[JournalEntry], chart: Chart = DEFAULT_CHART) -> bytes:
    """Our journal export: one row per line, ISO dates, 0.00 for the empty side."""
    rows = [
        (
            e.entry_id,
            e.date.isoformat(),
            ln.account,
            chart.get(ln.account).name,
            money_text(ln.debit),
            money_text(ln.credit),
            ln.memo,
            f"{e.source_kind}:{e.source_id}",
        )
        for e in _check_codes(entries, chart)
        for ln in e.lines
    ]
    return write_csv(JOURNALS_HEADER, rows)


XERO_JOURNAL_HEADER = (
    "*Narration",
    "*Date",
    "Description",
    "*AccountCode",
    "*TaxRate",
    "*Amount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
)


def xero_manual_journals_csv(
    entries: Iterable[JournalEntry], mapping: ExternalAccountMap, chart: Chart = DEFAULT_CHART
) -> bytes:
    """Xero manual journal import. The entry id is in the narration so each journal stays apart."""
    tracking = [*(x for pair in mapping.tracking for x in pair)]
    tracking += [""] * (4 - len(tracking))
    rows = [
        (
            f"{e.description} [{e.entry_id}]",
            e.date.strftime(mapping.date_format),
            ln.memo,
            mapping.code_for(ln.account),
            mapping.xero_journal_tax_rate,
            money_text(ln.signed),
            *tracking,
        )
        for e in _check_codes(entries, chart)
        for ln in e.lines
    ]
    return write_csv(XERO_JOURNAL_HEADER, rows)


QBO_JOURNAL_HEADER = (
    "Journal No",
    "Journal Date",
    "Account",
    "Debits",
    "Credits",
    "Description",
    "Name",
    "Currency Code",
)


def qbo_journal_entries_csv(
    entries: Iterable[JournalEntry], mapping: ExternalAccountMap, chart: Chart = DEFAULT_CHART
) -> bytes:
    """QuickBooks Online journal entry import (account names; blank for the empty side)."""
    rows = [
        (
            e.entry_id,
            e.date.strftime(mapping.date_format),
            mapping.name_for(ln.account, chart),
            positive_or_blank(ln.debit),
            positive_or_blank(ln.credit),
            ln.memo or e.description,
            ln.party,
            e.currency,
        )
        for e in _check_codes(entries, chart)
        for ln in e.lines
    ]
    return write_csv(QBO_JOURNAL_HEADER, rows)


XERO_CREDIT_NOTE_HEADER = (
    "*ContactName",
    "EmailAddress",
    "*CreditNoteNumber",
    "Reference",
    "*CreditNoteDate",
    "*Description",
    "*Quantity",
    "*UnitAmount",
    "*AccountCode",
    "*TaxType",
    "TrackingName1",
    "TrackingOption1",
    "Currency",
)


def xero_credit_notes_csv(refunds: Iterable[RefundRecord], accounts: AccountMap, mapping: ExternalAccountMap) -> bytes:
    """Xero sales credit notes for refunds (positive amounts; Xero credits the contact)."""
    name, option = mapping.tracking[0] if mapping.tracking else ("", "")
    rows = []
    for r in refunds:
        debit, _ = refund_accounts(r, accounts)
        rows.append(
            (
                r.patient_name,
                "",
                f"CN-{r.refund_id}",
                r.refund_id,
                r.refunded_on.strftime(mapping.date_format),
                r.reason,
                "1",
                money_text(r.amount),
                mapping.code_for(debit),
                mapping.xero_sales_tax_type,
                name,
                option,
                r.amount.currency,
            )
        )
    return write_csv(XERO_CREDIT_NOTE_HEADER, rows)


QBO_REFUND_RECEIPT_HEADER = (
    "Refund Receipt No",
    "Customer",
    "Refund Receipt Date",
    "Refund From",
    "Payment Method",
    "Memo",
    "Product/Service",
    "Description",
    "Qty",
    "Rate",
    "Amount",
    "Currency Code",
)


def qbo_refund_receipts_csv(
    refunds: Iterable[RefundRecord],
    accounts: AccountMap,
    mapping: ExternalAccountMap,
    chart: Chart = DEFAULT_CHART,
) -> bytes:
    """QBO refund receipts: the money leaves the tender account named in "Refund From"."""
    rows = []
    for r in refunds:
        _, tender = refund_accounts(r, accounts)
        amount = money_text(r.amount)
        rows.append(
            (
                r.refund_id,
                r.patient_name,
                r.refunded_on.strftime(mapping.date_format),
                mapping.name_for(tender, chart),
                r.method.value.title(),
                r.reason,
                r.refunded_use.value.capitalize(),
                r.reason,
                "1",
                amount,
                amount,
                r.amount.currency,
            )
        )
    return write_csv(QBO_REFUND_RECEIPT_HEADER, rows)
