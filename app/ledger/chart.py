"""Chart of accounts and the map from our event kinds (roles) to account codes.

The default is a small UK clinic chart. Settings may override any role, and the clearing
account per card processor or marketplace, through :class:`AccountMap` JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.errors import NotFound, ValidationFailed


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    INCOME = "income"
    EXPENSE = "expense"


class AccountRole(StrEnum):
    """What a posting is about; the account map turns it into an account code."""

    BANK = "bank"
    AR_INSURERS = "ar_insurers"
    AR_PATIENTS = "ar_patients"
    CARD_CLEARING = "card_clearing"
    MARKETPLACE_CLEARING = "marketplace_clearing"
    UNDEPOSITED_CASH = "undeposited_cash"
    INCOME_TREATMENTS = "income_treatments"
    INCOME_PRODUCTS = "income_products"
    INTEREST_INCOME = "interest_income"
    CONTRACTUAL_ADJUSTMENTS = "contractual_adjustments"
    BAD_DEBT = "bad_debt"
    PROCESSOR_FEES = "processor_fees"
    MARKETPLACE_COMMISSION = "marketplace_commission"
    INPUT_VAT = "input_vat"
    REFUNDS = "refunds"
    UNAPPLIED_CASH = "unapplied_cash"
    SUSPENSE = "suspense"


@dataclass(frozen=True, slots=True)
class Account:
    code: str
    name: str
    type: AccountType


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart of accounts: looked up by code."""

    accounts: tuple[Account, ...]

    def __post_init__(self) -> None:
        codes = [a.code for a in self.accounts]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValidationFailed("The chart of accounts repeats codes.", [f"code {c}" for c in dupes])

    def get(self, code: str) -> Account:
        for account in self.accounts:
            if account.code == code:
                return account
        raise NotFound(f"Account {code} is not in the chart of accounts.")

    def has(self, code: str) -> bool:
        return any(a.code == code for a in self.accounts)


_A, _L, _I, _E = AccountType.ASSET, AccountType.LIABILITY, AccountType.INCOME, AccountType.EXPENSE
DEFAULT_CHART = Chart(
    (
        Account("1200", "Bank - current account", _A),
        Account("1100", "Accounts receivable - insurers", _A),
        Account("1110", "Accounts receivable - patients", _A),
        Account("1210", "Card clearing - Stripe", _A),
        Account("1211", "Card clearing - SumUp", _A),
        Account("1212", "Card clearing - Square", _A),
        Account("1219", "Card clearing - other processors", _A),
        Account("1220", "Marketplace clearing", _A),
        Account("1230", "Undeposited cash", _A),
        Account("1300", "VAT on fees (input VAT)", _A),
        Account("2100", "Unapplied payments and patient credits", _L),
        Account("9999", "Suspense", _L),
        Account("4000", "Income - treatments", _I),
        Account("4010", "Income - products", _I),
        Account("4900", "Interest received", _I),
        Account("4100", "Contractual adjustments", _I),
        Account("4200", "Refunds", _I),
        Account("6900", "Bad debt and write-offs", _E),
        Account("7600", "Card processor fees", _E),
        Account("7610", "Marketplace commission", _E),
    )
)

_DEFAULT_ROLES: dict[AccountRole, str] = {
    AccountRole.BANK: "1200",
    AccountRole.AR_INSURERS: "1100",
    AccountRole.AR_PATIENTS: "1110",
    AccountRole.CARD_CLEARING: "1219",
    AccountRole.MARKETPLACE_CLEARING: "1220",
    AccountRole.UNDEPOSITED_CASH: "1230",
    AccountRole.INCOME_TREATMENTS: "4000",
    AccountRole.INCOME_PRODUCTS: "4010",
    AccountRole.INTEREST_INCOME: "4900",
    AccountRole.CONTRACTUAL_ADJUSTMENTS: "4100",
    AccountRole.BAD_DEBT: "6900",
    AccountRole.PROCESSOR_FEES: "7600",
    AccountRole.MARKETPLACE_COMMISSION: "7610",
    AccountRole.INPUT_VAT: "1300",
    AccountRole.REFUNDS: "4200",
    AccountRole.UNAPPLIED_CASH: "2100",
    AccountRole.SUSPENSE: "9999",
}
_DEFAULT_PROCESSORS = {"stripe": "1210", "sumup": "1211", "square": "1212"}


def _pairs(mapping: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(mapping.items()))


@dataclass(frozen=True, slots=True)
class AccountMap:
    """Role -> account code, plus a clearing account per processor and per marketplace."""

    roles: tuple[tuple[AccountRole, str], ...] = field(default_factory=lambda: tuple(_DEFAULT_ROLES.items()))
    card_clearing: tuple[tuple[str, str], ...] = field(default_factory=lambda: _pairs(_DEFAULT_PROCESSORS))
    marketplace_clearing: tuple[tuple[str, str], ...] = ()

    def code(self, role: AccountRole) -> str:
        for known, code in self.roles:
            if known is role:
                return code
        raise NotFound(f"No account is set for {role.value.replace('_', ' ')}.")

    def card_clearing_for(self, processor: str) -> str:
        """Clearing account for a card processor; the generic one when it has none of its own."""
        return dict(self.card_clearing).get(processor.lower(), self.code(AccountRole.CARD_CLEARING))

    def marketplace_clearing_for(self, marketplace: str) -> str:
        default = self.code(AccountRole.MARKETPLACE_CLEARING)
        return dict(self.marketplace_clearing).get(marketplace.lower(), default)

    def problems(self, chart: Chart) -> list[str]:
        """Every code this map uses that the chart does not have."""
        used = [(r.value, c) for r, c in self.roles]
        used += [(f"card clearing {p}", c) for p, c in self.card_clearing]
        used += [(f"marketplace clearing {m}", c) for m, c in self.marketplace_clearing]
        return [f"{what}: account {code} is not in the chart" for what, code in used if not chart.has(code)]

    def to_json(self) -> str:
        data = {
            "roles": {r.value: c for r, c in self.roles},
            "card_clearing": dict(self.card_clearing),
            "marketplace_clearing": dict(self.marketplace_clearing),
        }
        return json.dumps(data, sort_keys=True, indent=2)

    @classmethod
    def from_json(cls, text: str, chart: Chart | None = None) -> AccountMap:
        """Defaults overridden by ``text``; every wrong key or code is reported at once."""
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationFailed("The account map is not valid JSON.", [str(exc)]) from exc
        problems: list[str] = []
        if not isinstance(data, dict):
            raise ValidationFailed("The account map must be a JSON object.", [])
        problems += [f"unknown section {k!r}" for k in data if k not in cls.__slots__]
        roles = dict(_DEFAULT_ROLES)
        for key, code in _section(data, "roles", problems).items():
            try:
                roles[AccountRole(key)] = code
            except ValueError:
                problems.append(f"unknown role {key!r}")
        processors = dict(_DEFAULT_PROCESSORS)
        processors.update({k.lower(): v for k, v in _section(data, "card_clearing", problems).items()})
        markets = {k.lower(): v for k, v in _section(data, "marketplace_clearing", problems).items()}
        result = cls(tuple(roles.items()), _pairs(processors), _pairs(markets))
        if chart is not None:
            problems += result.problems(chart)
        if problems:
            raise ValidationFailed("The account map has problems.", problems)
        return result


def _section(data: dict[str, Any], name: str, problems: list[str]) -> dict[str, str]:
    section = data.get(name, {})
    if not isinstance(section, dict):
        problems.append(f"{name} must be an object of name -> account code")
        return {}
    good = {k: v for k, v in section.items() if isinstance(v, str) and v.strip()}
    problems += [f"{name}.{k}: account code must be text" for k in section if k not in good]
    return good
