"""The lines ingest hands to apply_stored (to insert once, matched) are exactly what reading them back gives."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import select

import app.remittance.ingest as ingest
from app.db.models import Remittance, RemittanceLine
from app.remittance.apply import Pending
from app.remittance.fastpath import LINE_IN_COLUMNS, LineIn, line_in
from app.remittance.ingest import import_remittance_file
from tests.remittance_flow.conftest import World
from tests.remittance_flow.helpers import Pay, file_835, paid_claim


def test_handed_over_lines_equal_the_stored_rows(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.claim("CLM0000001", "100.00")
    world.claim("CLM0000002", "40.00")
    handed: dict[int, Sequence[LineIn]] = {}
    real = ingest.apply_stored

    def spy(*args: Any, pending: Pending | None = None, **kwargs: Any) -> Any:
        assert pending is not None
        handed[args[3]] = pending.lines
        return real(*args, pending=pending, **kwargs)

    monkeypatch.setattr(ingest, "apply_stored", spy)
    claims = (
        paid_claim("CLM0000001", "100.00", "80.5", co="15.00", pr="4.5"),
        paid_claim("CLM0000002", "40.00", "0", co="40.00", status="4"),
        paid_claim("CLM9999999", "12.34", "12.34"),
        paid_claim("CLM0000001", "100.00", "-80.5", status="22"),
    )
    import_remittance_file(world.ctx, world.manager, file_835(Pay("TRC1", claims)), "era.835")
    assert len(handed) == 1
    with world.ctx.db.read() as s:
        for rid, lines in handed.items():
            rem = s.get(Remittance, rid)
            assert rem is not None
            q = select(*LINE_IN_COLUMNS).where(RemittanceLine.remittance_id == rid).order_by(RemittanceLine.id)
            read_back = [line_in(i, row, rem.currency) for i, row in enumerate(s.execute(q))]
            assert [ln.row_id for ln in lines] == [None] * 4  # handed over before they were inserted
            assert [ln._replace(row_id=None) for ln in read_back] == list(lines)
            assert len(read_back) == 4 and any(ln.adjustments for ln in read_back)
