"""ClassPass: sandbox -> raw bytes unchanged -> normalised -> reconciled."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import jsonschema
import pytest

from app.clock import FixedClock
from app.connectors.base import MarketplaceSource
from app.connectors.classpass import ClassPassSource
from app.errors import ParseError, PermanentError, TransientError, ValidationFailed
from app.money import Money
from app.payouts.normalise import check_payout_total, normalise_classpass, payout_lines_frame
from app.payouts.reconcile import RULE_BOOKING, RULE_PATIENT, Tolerance, reconcile
from sandboxes.classpass import ClassPassSandbox
from tests.payouts.samples import CLASSPASS_KEY, PARTNER, classpass_payout, ledger

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "resources/marketplaces/classpass-payout.schema.json").read_text("utf-8")
)
SINCE = datetime(2026, 3, 1, tzinfo=UTC)


def seed(sandbox: ClassPassSandbox, body: bytes) -> None:
    httpx.post(f"{sandbox.base_url}/_sandbox/payouts", content=body, timeout=5).raise_for_status()


def test_classpass_end_to_end(classpass: ClassPassSandbox, classpass_client: httpx.Client, clock: FixedClock) -> None:
    old = classpass_payout("po_2026_02_009", "2026-02-20")
    new = classpass_payout("po_2026_03_001", "2026-03-09")
    seed(classpass, old)
    seed(classpass, new)
    source: MarketplaceSource = ClassPassSource(classpass_client, PARTNER, CLASSPASS_KEY, clock=clock)

    settlements = source.fetch_settlements(SINCE)

    assert [s.name for s in settlements] == ["classpass-po_2026_03_001.json"]
    assert settlements[0].content == new  # byte for byte, before any parsing
    assert settlements[0].received_at == clock.now()
    jsonschema.validate(json.loads(settlements[0].content), SCHEMA)

    (payout,) = normalise_classpass(settlements[0].content, settlements[0].name)
    assert (payout.payout_ref, payout.payout_date, payout.total_net) == (
        "po_2026_03_001",
        date(2026, 3, 9),
        Money(10712),
    )
    assert check_payout_total(payout) == []
    assert payout.lines[0].patient_ref == "CPM-77"
    assert payout.lines[0].commission == Money(800)

    sales = ledger(
        [
            ("S-1", "CPB-1001", "CPM-77", date(2026, 3, 2), 4000, "classpass"),  # booking id, exact
            ("S-2", None, "CPM-78", date(2026, 3, 3), 5500, "classpass"),  # no booking id: fallback rule
            ("S-3", "CPB-1003", "CPM-79", date(2026, 3, 5), 4500, "classpass"),  # £5 short: variance
            ("S-4", "CPB-1009", "CPM-80", date(2026, 3, 6), 3000, "classpass"),  # no payout line yet
        ]
    )
    result = reconcile(payout_lines_frame([payout]), sales, Tolerance(absolute_minor=100))
    assert result.matched.select("sale_id", "rule", "difference_minor").rows() == [
        ("S-1", RULE_BOOKING, 0),
        ("S-2", RULE_PATIENT, 0),
    ]
    assert result.variances.select("sale_id", "difference_minor").rows() == [("S-3", 500)]
    assert result.unmatched_sales["sale_id"].to_list() == ["S-4"]
    assert result.unmatched_lines.is_empty()


def test_pages_are_followed(classpass: ClassPassSandbox, classpass_client: httpx.Client) -> None:
    for n in range(1, 4):
        seed(classpass, classpass_payout(f"po_{n}", f"2026-03-0{n}"))
    source = ClassPassSource(classpass_client, PARTNER, CLASSPASS_KEY, page_size=1)
    assert [s.name for s in source.fetch_settlements(SINCE)] == [
        "classpass-po_1.json",
        "classpass-po_2.json",
        "classpass-po_3.json",
    ]


def test_service_down_is_transient_then_recovers(classpass: ClassPassSandbox, classpass_client: httpx.Client) -> None:
    seed(classpass, classpass_payout("po_1", "2026-03-02"))
    httpx.post(f"{classpass.base_url}/_sandbox/faults?status=503&count=1", timeout=5).raise_for_status()
    source = ClassPassSource(classpass_client, PARTNER, CLASSPASS_KEY)
    with pytest.raises(TransientError, match="503"):
        source.fetch_settlements(SINCE)
    assert len(source.fetch_settlements(SINCE)) == 1


def test_wrong_key_is_permanent_and_never_echoed(classpass_client: httpx.Client) -> None:
    source = ClassPassSource(classpass_client, PARTNER, "cp_wrong_key_123")
    with pytest.raises(PermanentError, match="401") as caught:
        source.fetch_settlements(SINCE)
    assert "cp_wrong_key_123" not in str(caught.value)


def test_bad_documents_list_every_problem() -> None:
    doc = json.loads(classpass_payout("po_x", "2026-03-09"))
    doc["lines"][0]["gross"] = "forty"
    doc["lines"][1]["service_date"] = "03/03/2026"
    doc["currency"] = "GBP"
    with pytest.raises(ValidationFailed) as caught:
        normalise_classpass(json.dumps(doc).encode(), "po_x.json")
    problems = caught.value.problems
    assert problems[0] == "payout po_x, line 1, field 'gross': 'forty' is not an amount"
    assert problems[1].startswith("payout po_x, line 2, field 'service_date': '03/03/2026' is not a date")
    assert len(problems) == 2
    with pytest.raises(ParseError, match="not a ClassPass payout document"):
        normalise_classpass(b"<html>", "po_y.json")


def test_tolerance_percent_is_decimal() -> None:
    with pytest.raises(TypeError):
        Tolerance(percent=0.5)  # type: ignore[arg-type]
    assert Tolerance(percent=Decimal("0.5")).percent == Decimal("0.5")
