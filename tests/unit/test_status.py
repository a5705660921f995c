import itertools

import pytest

from app.domain.status import TRANSITIONS, ClaimStatus, RefundStatus, ShiftStatus, advance, can_move
from app.errors import IllegalTransition


def test_illegal_transition_is_refused_with_a_clear_message() -> None:
    with pytest.raises(IllegalTransition, match="Claim cannot move from 'draft' to 'paid'"):
        advance("Claim", ClaimStatus.DRAFT, ClaimStatus.PAID)
    with pytest.raises(IllegalTransition):
        advance("Shift", ShiftStatus.CLOSED, ShiftStatus.OPEN)
    with pytest.raises(IllegalTransition):
        advance("Refund", RefundStatus.SUCCEEDED, RefundStatus.SENT)


def test_the_documented_claim_path_is_allowed() -> None:
    path = [
        ClaimStatus.DRAFT,
        ClaimStatus.READY,
        ClaimStatus.QUEUED,
        ClaimStatus.SUBMITTED,
        ClaimStatus.ACKNOWLEDGED,
        ClaimStatus.PARTLY_PAID,
        ClaimStatus.PAID,
        ClaimStatus.CLOSED,
    ]
    for a, b in itertools.pairwise(path):
        assert advance("Claim", a, b) is b
    for a, b in [
        (ClaimStatus.SUBMITTED, ClaimStatus.REJECTED),
        (ClaimStatus.REJECTED, ClaimStatus.CORRECTED),
        (ClaimStatus.CORRECTED, ClaimStatus.QUEUED),
        (ClaimStatus.SUBMITTED, ClaimStatus.VOID),
    ]:
        assert can_move(a, b)


def test_every_status_enum_has_a_complete_transitions_table() -> None:
    for enum_cls, table in TRANSITIONS.items():
        assert set(table) == set(enum_cls), f"{enum_cls.__name__} table misses a status"
        for targets in table.values():
            assert all(isinstance(t, enum_cls) for t in targets)


def test_mixing_enums_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        advance("x", ClaimStatus.DRAFT, ShiftStatus.OPEN)  # type: ignore[type-var]
