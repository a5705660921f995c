"""Bad statement CSVs are refused whole with row and column named; missing payouts open a task."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.audit import Actor
from app.context import AppContext
from app.db.models import ImportedFile, Payout, PayoutLine, Task
from app.domain.status import Role
from app.errors import ValidationFailed
from app.imports.csv_mapping import ColumnMapping
from app.payouts.calendar import check_missing_payouts
from app.payouts.service import import_settlement, load_mapping, save_mapping
from tests.payouts_flow.conftest import add_sales, configure

FINANCE = Actor(None, "finance", Role.FINANCE)
SAMPLE = (Path(__file__).parents[2] / "resources/marketplaces/treatwell-settlement-sample.csv").read_bytes()


def stored(ctx: AppContext) -> tuple[int, int]:
    with ctx.db.read() as s:
        return (
            int(s.scalar(select(func.count()).select_from(Payout)) or 0),
            int(s.scalar(select(func.count()).select_from(PayoutLine)) or 0),
        )


def test_good_treatwell_statement_imports(ctx: AppContext) -> None:
    result = import_settlement(ctx, FINANCE, "treatwell", "tw.csv", SAMPLE)
    assert len(result.payout_ids) == 1 and stored(ctx) == (1, 5)


def test_bad_dates_and_amounts_name_row_and_column_and_import_nothing(ctx: AppContext) -> None:
    bad = SAMPLE.replace(b"03/03/2026", b"2026-13-45").replace(b"130.00", b"one hundred")

    with pytest.raises(ValidationFailed) as caught:
        import_settlement(ctx, FINANCE, "treatwell", "tw-bad.csv", bad)

    problems = caught.value.problems
    assert any(p.startswith("row 3, column 'Appointment Date'") for p in problems), problems
    assert any(p.startswith("row 5, column 'Treatment Price'") for p in problems), problems
    assert stored(ctx) == (0, 0)
    with ctx.db.read() as s:
        (file,) = s.scalars(select(ImportedFile))
    assert file.status == "quarantined" and "row 3" in file.message


def test_missing_columns_are_named_and_nothing_imported(ctx: AppContext) -> None:
    header, *rows = SAMPLE.decode().splitlines()
    cut = [",".join(r.split(",")[:3] + r.split(",")[4:]) for r in [header, *rows[:3]]]  # drop Statement Net Total
    no_total = "\n".join(cut).replace("Payout Date,Currency", "Paid,Currency").encode()

    with pytest.raises(ValidationFailed) as caught:
        import_settlement(ctx, FINANCE, "treatwell", "tw-cols.csv", no_total)

    assert caught.value.problems[0].startswith("column 'Payout Date' (for 'payout_date') is not in the file")
    assert any("'Statement Net Total'" in p for p in caught.value.problems)
    assert stored(ctx) == (0, 0)


def test_a_saved_mapping_is_used_for_the_next_import(ctx: AppContext) -> None:
    renamed = SAMPLE.replace(b"Payout Date", b"Paid On")
    with ctx.db.unit_of_work() as s:
        default = load_mapping(s, "treatwell")
        columns = {**default.columns, "payout_date": "Paid On"}
        save_mapping(s, ctx.clock, FINANCE, ColumnMapping(**{**default.to_dict(), "columns": columns}))  # type: ignore[arg-type]
    result = import_settlement(ctx, FINANCE, "treatwell", "tw-renamed.csv", renamed)
    assert len(result.payout_ids) == 1


def tasks(ctx: AppContext, kind: str) -> list[Task]:
    with ctx.db.read() as s:
        return list(s.scalars(select(Task).where(Task.kind == kind).order_by(Task.id)))


def test_missing_payout_task_when_the_calendar_says_one_is_due(ctx: AppContext) -> None:
    # today is 20 Nov 2026: October's ClassPass payout was due by 15 Nov; Treatwell's 1 Nov statement by 6 Nov
    add_sales(ctx, [("classpass", "CPB-2001", "CPM-1", date(2026, 10, 10), 4000)])
    add_sales(ctx, [("treatwell", "TWB-3001", "CUST-1", date(2026, 10, 20), 6500)])
    configure(ctx, payouts__accounts={"classpass": {"partner_id": "partner-4411"}})

    opened = check_missing_payouts(ctx, FINANCE)

    found = tasks(ctx, "missing_payout")
    assert len(opened) == 2 and len(found) == 2
    cp = next(t for t in found if t.title.startswith("classpass"))
    assert cp.owner_role == "finance"
    assert "partner_id partner-4411" in cp.detail and "2026-10-01 to 2026-10-31" in cp.detail
    assert "1 booking(s), £40.00 gross" in cp.detail
    tw = next(t for t in found if t.title.startswith("treatwell"))
    assert "2026-10-16 to 2026-10-31" in tw.detail and "Expected between 2026-11-04 and 2026-11-06" in tw.detail
    assert check_missing_payouts(ctx, FINANCE) == opened  # one task per period, not one per check


def test_no_task_when_the_payout_arrived_or_is_not_due(ctx: AppContext) -> None:
    add_sales(ctx, [("classpass", "CPB-2001", "CPM-1", date(2026, 10, 10), 4000)])
    add_sales(ctx, [("classpass", "CPB-2002", "CPM-1", date(2026, 11, 3), 4000)])  # November: due 15 Dec
    with ctx.db.unit_of_work() as s:
        s.add(
            Payout(
                source="classpass",
                provider_ref="po_oct",
                payout_date=date(2026, 11, 12),
                expected_minor=2800,
                currency="GBP",
                created_at=ctx.clock.now(),
            )
        )
    assert check_missing_payouts(ctx, FINANCE) == []
