"""Cash-application settings: tolerance per payer, the write-off limit, the account maps.

Settings keys (JSON):
- ``cash.tolerance``: ``{"*": {"absolute_minor": 100, "percent": "0.5"}, "<payer code>": {...}}``
- ``cash.writeoff_limit_minor``: write-offs above this wait for a manager (default 5000)
- ``accounting.account_map``: an :class:`~app.ledger.chart.AccountMap` JSON override
- ``accounting.external_map``: ``{"codes": {ours: theirs}, "names": {ours: name}, "tracking": [[c, o]],
  "xero_journal_tax_rate": "No VAT", "date_format": "%d/%m/%Y"}``
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Payer
from app.errors import ValidationFailed
from app.ledger.accounting_exports import ExternalAccountMap
from app.ledger.chart import DEFAULT_CHART, AccountMap
from app.ledger.remittance import ToleranceRule
from app.money import Money
from app.settings import get_setting


def tolerance_rules(session: Session, currency: str) -> dict[str, ToleranceRule]:
    """Payer code (or "*") -> rule; a broken entry is reported by name."""
    raw: Any = get_setting(session, "cash.tolerance") or {}
    rules: dict[str, ToleranceRule] = {}
    problems: list[str] = []
    for payer, spec in dict(raw).items():
        try:
            absolute = Money(int(spec.get("absolute_minor", 0)), currency)
            percent = Decimal(str(spec.get("percent", "0")))
        except (AttributeError, TypeError, ValueError, InvalidOperation):
            problems.append(f"cash.tolerance.{payer}: needs absolute_minor (whole pence) and percent")
            continue
        rules[str(payer)] = ToleranceRule(str(payer), absolute, percent)
    if problems:
        raise ValidationFailed("The cash tolerance settings have problems.", problems)
    return rules


def writeoff_limit(session: Session, currency: str) -> Money:
    return Money(int(get_setting(session, "cash.writeoff_limit_minor") or 0), currency)


def account_map(session: Session) -> AccountMap:
    raw = get_setting(session, "accounting.account_map")
    if not raw:
        return AccountMap()
    return AccountMap.from_json(raw if isinstance(raw, str) else json.dumps(raw), DEFAULT_CHART)


def external_map(session: Session) -> ExternalAccountMap:
    raw: Any = get_setting(session, "accounting.external_map") or {}
    if isinstance(raw, str):
        raw = json.loads(raw)
    try:
        return ExternalAccountMap(
            codes=tuple(sorted(dict(raw.get("codes", {})).items())),
            names=tuple(sorted(dict(raw.get("names", {})).items())),
            xero_journal_tax_rate=str(raw.get("xero_journal_tax_rate", "No VAT")),
            tracking=tuple((str(a), str(b)) for a, b in raw.get("tracking", [])),
            date_format=str(raw.get("date_format", "%d/%m/%Y")),
        )
    except (AttributeError, TypeError, ValueError) as exc:
        raise ValidationFailed("The accounting.external_map setting cannot be used.", [str(exc)]) from exc


class Policy:
    """The cash-application settings of one unit of work, each read once: a file of many payments
    applies them all with the same rules (Settings cannot change in the middle of an import)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._tolerance: dict[str, dict[str, ToleranceRule]] = {}
        self._limit: dict[str, Money] = {}
        self._accounts: AccountMap | None = None
        self._payers: dict[int, str] = {}

    def tolerance_rules(self, currency: str) -> dict[str, ToleranceRule]:
        if currency not in self._tolerance:
            self._tolerance[currency] = tolerance_rules(self.session, currency)
        return self._tolerance[currency]

    def writeoff_limit(self, currency: str) -> Money:
        if currency not in self._limit:
            self._limit[currency] = writeoff_limit(self.session, currency)
        return self._limit[currency]

    def account_map(self) -> AccountMap:
        if self._accounts is None:
            self._accounts = account_map(self.session)
        return self._accounts

    def payer_code(self, payer_id: int | None) -> str:
        if payer_id is None:
            return ""
        if payer_id not in self._payers:
            code = self.session.scalar(select(Payer.code).where(Payer.id == payer_id))
            self._payers[payer_id] = str(code or "")
        return self._payers[payer_id]
