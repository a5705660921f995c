"""pytest-qt: approve a refund in the Refunds view; resolve a dispute in the Disputes view."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app.audit import Actor
from app.db.models import Dispute, OutboxMessage, Refund
from app.disputes import service as disputes
from app.domain.status import DisputeKind, DisputeStatus, RefundReason, RefundStatus
from app.refunds import service
from app.refunds.service import Proposal
from tests.refunds_flow.conftest import Clinic1
from ui.env import ViewEnv
from ui.taskman import TaskManager
from ui.views.disputes import DisputesView
from ui.views.refunds import RefundsView


class Said:
    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self.notes: list[str] = []


@pytest.fixture
def said() -> Said:
    return Said()


def _env(c: Clinic1, actor: Actor, said: Said) -> ViewEnv:
    tasks = TaskManager(synchronous=True)
    tasks.default_error = said.errors.append  # as the main window does: failures are shown
    return ViewEnv(c.ctx, tasks, actor, said.errors.append, said.notes.append)


@pytest.fixture
def refunds_view(qtbot: QtBot, clinic: Clinic1, said: Said) -> Iterator[RefundsView]:
    view = RefundsView(_env(clinic, clinic.manager, said))
    qtbot.addWidget(view)
    view.show()
    yield view
    view.close()


def _click(qtbot: QtBot, view: RefundsView | DisputesView, name: str) -> None:
    button = view.findChild(QPushButton, name)
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_approving_a_refund_in_the_refunds_view(
    qtbot: QtBot, clinic: Clinic1, refunds_view: RefundsView, said: Said
) -> None:
    rid = service.propose(
        clinic.ctx,
        clinic.desk,
        Proposal(
            clinic.payment(4500, ref="pi_view"),
            1500,
            RefundReason.DUPLICATE_CHARGE,
            "charged twice",
            {"rule": "same card"},
        ),
    )
    refunds_view.refresh()
    assert [r.id for r in refunds_view.model.rows] == [rid]
    assert "same card" in refunds_view.detail.toPlainText()  # the evidence is shown
    refunds_view.ask_text = lambda title, label: "receipt checked"

    _click(qtbot, refunds_view, "approve")

    assert said.errors == []
    assert said.notes[-1] == f"Refund {rid} approved: it goes to stripe now."
    with clinic.ctx.db.read() as s:
        refund = s.get(Refund, rid)
        assert refund is not None
        assert (refund.status, refund.approved_by_id, refund.decision_reason) == (
            RefundStatus.APPROVED,
            clinic.manager.user_id,
            "receipt checked",
        )
        assert (
            s.scalar(select(OutboxMessage.kind).where(OutboxMessage.idempotency_key == f"refund-{rid}"))
            == "refund.execute"
        )
    assert refunds_view.model.rows[0].status is RefundStatus.APPROVED
    assert "receipt checked" in refunds_view.detail.toPlainText()


def test_refusals_are_shown_and_reject_needs_a_reason(
    qtbot: QtBot, clinic: Clinic1, refunds_view: RefundsView, said: Said
) -> None:
    mine = service.propose(clinic.ctx, clinic.manager, Proposal(clinic.payment(2000), 2000, RefundReason.MANUAL))
    refunds_view.refresh()
    refunds_view.ask_text = lambda title, label: ""

    _click(qtbot, refunds_view, "approve")
    assert "someone else must approve it" in str(said.errors[-1])

    _click(qtbot, refunds_view, "reject")  # no reason given: nothing happens
    refunds_view.ask_text = lambda title, label: "duplicate request"
    _click(qtbot, refunds_view, "reject")
    with clinic.ctx.db.read() as s:
        refund = s.get(Refund, mine)
        assert refund is not None and refund.status is RefundStatus.REJECTED


def test_run_detectors_and_propose_from_the_view(
    qtbot: QtBot, clinic: Clinic1, refunds_view: RefundsView, said: Said
) -> None:
    payment = clinic.payment(3000)
    refunds_view.ask_text = lambda title, label: f"{payment} 10.00 treatment cancelled"
    _click(qtbot, refunds_view, "propose")
    _click(qtbot, refunds_view, "detect")
    assert said.errors == [] and said.notes[-1].startswith("Detectors proposed 0 refund(s)")
    assert [(r.amount.minor, r.status) for r in refunds_view.model.rows] == [(1000, RefundStatus.PROPOSED)]


def test_resolving_a_dispute_in_the_disputes_view(qtbot: QtBot, clinic: Clinic1, said: Said) -> None:
    did = disputes.open_dispute(
        clinic.ctx, clinic.manager, DisputeKind.CARD, reason="fraudulent", payment_id=clinic.payment(5000)
    )
    view = DisputesView(_env(clinic, clinic.manager, said))
    qtbot.addWidget(view)
    view.refresh()
    assert [r.id for r in view.model.rows] == [did]
    assert "Signed receipt or terminal slip" in view.detail.toPlainText()
    view.ask_choice = lambda title, label, items: "Won"
    view.ask_text = lambda title, label: "terminal slip signed by the patient"

    _click(qtbot, view, "resolve")

    assert said.errors == [] and said.notes[-1] == f"Dispute {did} won."
    with clinic.ctx.db.read() as s:
        d = s.get(Dispute, did)
        assert d is not None and d.status is DisputeStatus.WON
    assert view.model.rows == []  # the open list no longer has it
