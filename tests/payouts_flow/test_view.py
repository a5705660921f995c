"""The Payouts view: import through the column-mapping dialog, drill down, resolve, release."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app.audit import Actor
from app.context import AppContext
from app.db.models import JournalEntry, Payout
from app.domain.status import PayoutStatus, Role
from app.payouts.service import load_mapping
from tests.payouts.samples import CLASSPASS_PAYOUT
from tests.payouts_flow.conftest import configure
from ui.env import ViewEnv
from ui.taskman import TaskManager
from ui.views.payouts import MappingDialog, PayoutsView

SAMPLE = (Path(__file__).parents[2] / "resources/marketplaces/treatwell-settlement-sample.csv").read_bytes()


def make_view(qtbot: QtBot, ctx: AppContext) -> tuple[PayoutsView, list[BaseException], list[str]]:
    errors: list[BaseException] = []
    notes: list[str] = []
    env = ViewEnv(ctx, TaskManager(synchronous=True), Actor(None, "finance", Role.FINANCE), errors.append, notes.append)
    view = PayoutsView(env)
    qtbot.addWidget(view)
    return view, errors, notes


def test_statement_csv_through_the_mapping_dialog_is_saved_per_source(
    qtbot: QtBot, ctx: AppContext, tmp_path: Path
) -> None:
    view, errors, _ = make_view(qtbot, ctx)
    renamed = SAMPLE.replace(b"Statement ID", b"Settlement Ref").replace(b"Net Payout", b"Net")
    path = tmp_path / "statement.csv"
    path.write_bytes(renamed)
    seen: dict[str, str] = {}

    def accept(dialog: MappingDialog) -> bool:
        seen.update({name: combo.currentText() for name, combo in dialog.combos.items()})
        return True

    view.confirm_mapping = accept
    view.start_import(str(path))

    assert errors == []
    assert seen["payout_ref"] == "Settlement Ref" and seen["net"] == "Net"  # guessed by suggest_mapping
    assert seen["gross"] == "Treatment Price"  # from the saved mapping
    with ctx.db.read() as s:
        assert load_mapping(s, "treatwell").columns["payout_ref"] == "Settlement Ref"
        assert s.scalar(select(Payout.provider_ref)) == "TW-ST-1001"
    assert view.model.rowCount() == 1


def test_drill_down_resolve_and_release(qtbot: QtBot, clinic: AppContext, tmp_path: Path) -> None:
    configure(clinic, payouts__batch_variance_limit_minor=100)
    view, errors, notes = make_view(qtbot, clinic)
    path = tmp_path / "po.json"
    path.write_bytes(CLASSPASS_PAYOUT)
    view.start_import(str(path))
    view.reconcile()
    view.table.selectRow(0)

    assert errors == [], errors
    assert "held" in view.detail.toPlainText().lower()
    assert view.lines.rowCount() == 3
    statuses = [view.lines.item(r, 6).text() for r in range(3)]
    assert statuses == ["matched", "matched", "variance"]
    assert view.lines.item(0, 9).text().startswith("payment ")  # its ledger match

    view.lines.selectRow(2)
    view.resolve_selected("member discount")
    view.table.selectRow(0)
    view.release_selected("checked with ClassPass")

    assert errors == [], errors
    with clinic.db.read() as s:
        assert s.scalar(select(Payout.status)) is PayoutStatus.POSTED
        assert len(list(s.scalars(select(JournalEntry)))) == 1
    assert any(n.startswith("Released; journal JE-") for n in notes)
