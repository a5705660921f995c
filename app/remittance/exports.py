"""Journal exports over the posted ledger: journals.csv, Xero manual journals, QuickBooks journal entries.

Our account codes are mapped to the accounting package's through Settings ``accounting.external_map``.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from app.context import AppContext
from app.ledger.accounting_exports import journals_csv, qbo_journal_entries_csv, xero_manual_journals_csv
from app.ledger.store import load_entries
from app.remittance.policy import external_map


class JournalFormat(StrEnum):
    JOURNALS = "journals"
    XERO = "xero"
    QBO = "qbo"


def export_journals(
    ctx: AppContext,
    fmt: JournalFormat,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    source_kind: str | None = None,
) -> bytes:
    """The posted journal entries in the chosen layout (CSV bytes)."""
    with ctx.db.read() as s:
        entries = load_entries(s, date_from=date_from, date_to=date_to, source_kind=source_kind)
        mapping = external_map(s)
    if fmt is JournalFormat.XERO:
        return xero_manual_journals_csv(entries, mapping)
    if fmt is JournalFormat.QBO:
        return qbo_journal_entries_csv(entries, mapping)
    return journals_csv(entries)
