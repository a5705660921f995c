"""Chart of accounts and the overridable account map."""

from __future__ import annotations

import pytest

from app.errors import NotFound, ValidationFailed
from app.ledger.chart import DEFAULT_CHART, Account, AccountMap, AccountRole, AccountType, Chart


def test_default_chart_covers_every_role_of_the_default_map() -> None:
    accounts = AccountMap()
    assert accounts.problems(DEFAULT_CHART) == []
    assert {r for r, _ in accounts.roles} == set(AccountRole)
    assert DEFAULT_CHART.get("1300") == Account("1300", "VAT on fees (input VAT)", AccountType.ASSET)
    with pytest.raises(NotFound):
        DEFAULT_CHART.get("0000")


def test_card_clearing_per_processor_with_fallback() -> None:
    accounts = AccountMap()
    assert accounts.card_clearing_for("Stripe") == "1210"
    assert accounts.card_clearing_for("dojo") == "1219"
    assert accounts.marketplace_clearing_for("treatwell") == "1220"


def test_account_map_json_round_trip_and_override() -> None:
    text = '{"roles": {"bank": "1201"}, "card_clearing": {"Dojo": "1213"}}'
    custom = AccountMap.from_json(text)
    assert custom.code(AccountRole.BANK) == "1201"
    assert custom.code(AccountRole.SUSPENSE) == "9999"
    assert custom.card_clearing_for("dojo") == "1213"
    assert AccountMap.from_json(custom.to_json()) == custom
    assert AccountMap.from_json(AccountMap().to_json()) == AccountMap()


def test_account_map_reports_every_problem_at_once() -> None:
    text = '{"roles": {"bank": "8888", "nonsense": "1"}, "card_clearing": {"x": 5}, "extra": {}}'
    with pytest.raises(ValidationFailed) as info:
        AccountMap.from_json(text, DEFAULT_CHART)
    assert sorted(info.value.problems) == sorted(
        [
            "unknown section 'extra'",
            "unknown role 'nonsense'",
            "card_clearing.x: account code must be text",
            "bank: account 8888 is not in the chart",
        ]
    )


def test_chart_refuses_duplicate_codes() -> None:
    with pytest.raises(ValidationFailed, match="code 1"):
        Chart((Account("1", "a", AccountType.ASSET), Account("1", "b", AccountType.INCOME)))
