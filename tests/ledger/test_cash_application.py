"""Cash application: matching rules, classification, CAS groups, approvals, balance."""

from __future__ import annotations

import pytest

from app.errors import DomainError
from app.ledger.cash_application import apply_remittance
from app.ledger.matching import MatchRule
from app.ledger.postings import LineApplication, Outcome, Posting, PostingKind, UnmatchedLine
from app.ledger.remittance import ProviderAdjustment
from app.money import Money, total
from tests.ledger.factories import LIMIT, adj, claim, gbp, line, remittance, rules


def _kinds(postings: tuple[Posting, ...]) -> list[str]:
    return [p.kind.value for p in postings]


def test_exact_match_by_claim_id_is_a_full_payment() -> None:
    claims = [claim("C1"), claim("C2", patient="P2")]
    result = apply_remittance(
        remittance(line("C1", paid="80.00", adjustments=(adj("CO", "45", "20.00"),))), claims, rules(), LIMIT
    )
    (app,) = result.applications
    assert (app.claim_id, app.rule, app.outcome) == ("C1", MatchRule.CLAIM_ID, Outcome.FULL_PAYMENT)
    assert app.explanation[0] == "matched on claim id"
    assert app.explanation[-1] == "paid £80.00, exactly as expected"
    kinds = [(p.kind, p.amount) for p in app.postings]
    assert kinds == [
        (PostingKind.APPLIED_PAYMENT, gbp("80.00")),
        (PostingKind.CONTRACTUAL_WRITE_OFF, gbp("20.00")),
    ]
    assert not result.unmatched
    assert result.unapplied == Money.zero()


def test_fallback_to_payer_claim_id_when_our_id_is_wrong() -> None:
    claims = [claim("C1", payer_claim_id="AXA-778"), claim("C2", patient="P2", payer_claim_id="AXA-779")]
    result = apply_remittance(remittance(line("WRONG", payer_claim_id="AXA-779", patient="P2")), claims, rules(), LIMIT)
    (app,) = result.applications
    assert (app.claim_id, app.rule) == ("C2", MatchRule.PAYER_CLAIM_ID)
    assert "claim id 'WRONG' on the remittance is not ours" in app.explanation


def test_fallback_to_patient_date_and_amount_when_ids_are_missing() -> None:
    claims = [claim("C1", charged="100.00"), claim("C2", charged="60.00", expected="60.00")]
    result = apply_remittance(remittance(line(None, charged="60.00", paid="60.00")), claims, rules(), LIMIT)
    (app,) = result.applications
    assert (app.claim_id, app.rule, app.outcome) == (
        "C2",
        MatchRule.PATIENT_DATE_AMOUNT,
        Outcome.FULL_PAYMENT,
    )
    # the other claim of the same patient and date was a weaker, ranked candidate
    assert [c.claim_id for c in app.candidates] == ["C2", "C1"]


def test_short_payment_within_absolute_tolerance_is_partial() -> None:
    result = apply_remittance(remittance(line(paid="78.00")), [claim()], rules(absolute="5.00"), LIMIT)
    (app,) = result.applications
    assert app.outcome is Outcome.PARTIAL_PAYMENT
    assert app.explanation[-1] == "paid £2.00 less than expected, within tolerance £5.00"
    assert not app.needs_review


def test_short_payment_within_percentage_tolerance_is_partial() -> None:
    # 2.5 % of £80.00 is £2.00, more than the £1.00 absolute allowance
    result = apply_remittance(remittance(line(paid="78.00")), [claim()], rules(absolute="1.00", percent="2.5"), LIMIT)
    (app,) = result.applications
    assert app.outcome is Outcome.PARTIAL_PAYMENT
    assert app.explanation[-1] == "paid £2.00 less than expected, within tolerance £2.00"


def test_short_payment_beyond_tolerance_is_an_underpayment_for_review() -> None:
    result = apply_remittance(remittance(line(paid="70.00")), [claim()], rules(absolute="1.00", percent="0.5"), LIMIT)
    (app,) = result.applications
    assert app.outcome is Outcome.UNDERPAYMENT
    assert app.explanation[-1] == "paid £10.00 less than expected £80.00, beyond tolerance £1.00"
    assert app.needs_review
    assert app.postings[0].amount == gbp("70.00")


def test_overpayment_beyond_outstanding_goes_to_unapplied() -> None:
    c = claim(charged="100.00", expected="80.00", outstanding="80.00")
    result = apply_remittance(remittance(line(paid="95.00")), [c], rules(absolute="1.00"), LIMIT)
    (app,) = result.applications
    assert app.outcome is Outcome.OVERPAYMENT
    assert [(p.kind, p.amount) for p in app.postings] == [
        (PostingKind.APPLIED_PAYMENT, gbp("80.00")),
        (PostingKind.OVERPAYMENT, gbp("15.00")),
    ]
    assert result.unapplied == gbp("15.00")
    assert app.postings[1].needs_review


def test_denial_posts_no_cash_and_holds_the_write_off_for_review() -> None:
    line_ = line(status="4", paid="0.00", adjustments=(adj("CO", "50", "100.00"),))
    result = apply_remittance(remittance(line_), [claim()], rules(), gbp("500.00"))
    (app,) = result.applications
    assert app.outcome is Outcome.DENIAL
    assert app.explanation[-1] == "payer denied the claim (paid £0.00); reasons: CO-50"
    (write_off,) = app.postings
    assert write_off.kind is PostingKind.CONTRACTUAL_WRITE_OFF
    assert write_off.held and not write_off.needs_approval
    assert result.total_cash == Money.zero()


def test_reversal_undoes_a_previous_application() -> None:
    original = line(paid="80.00", adjustments=(adj("CO", "45", "20.00"),))
    reversal = line(status="22", paid="-80.00", adjustments=(adj("CO", "45", "-20.00"),))
    first = apply_remittance(remittance(original), [claim()], rules(), LIMIT)
    paid_claim = claim(already_paid="80.00", outstanding="0.00")
    second = apply_remittance(remittance(reversal, rid="R2"), [paid_claim], rules(), LIMIT)
    (app,) = second.applications
    assert app.outcome is Outcome.REVERSAL
    assert [(p.kind, p.amount) for p in app.postings] == [
        (PostingKind.REVERSAL, gbp("-80.00")),
        (PostingKind.CONTRACTUAL_WRITE_OFF, gbp("-20.00")),
    ]
    assert not app.postings[0].needs_review
    both = [*first.postings, *second.postings]
    assert total([p.amount for p in both]) == Money.zero()


def test_reversal_and_corrected_payment_in_one_file_use_the_running_balance() -> None:
    paid_claim = claim(already_paid="80.00", outstanding="0.00")
    reversal = line(status="22", paid="-80.00")
    corrected = line(paid="85.00", adjustments=(adj("CR", "45", "15.00"),))
    result = apply_remittance(remittance(reversal, corrected), [paid_claim], rules(), LIMIT)
    outcomes = [a.outcome for a in result.applications]
    assert outcomes == [Outcome.REVERSAL, Outcome.CORRECTION]
    # after the takeback the claim is open again for £80.00: 80 applied, 5 over
    assert [(p.kind, p.amount) for p in result.applications[1].postings][:2] == [
        (PostingKind.APPLIED_PAYMENT, gbp("80.00")),
        (PostingKind.OVERPAYMENT, gbp("5.00")),
    ]


def test_takeback_larger_than_paid_is_flagged() -> None:
    result = apply_remittance(remittance(line(status="22", paid="-30.00")), [claim()], rules(), LIMIT)
    assert result.applications[0].postings[0].needs_review


def test_patient_responsibility_creates_a_patient_balance() -> None:
    line_ = line(paid="60.00", pr="20.00", adjustments=(adj("CO", "45", "20.00"), adj("PR", "3", "20.00")))
    result = apply_remittance(remittance(line_), [claim()], rules(), LIMIT)
    (app,) = result.applications
    assert app.outcome is Outcome.FULL_PAYMENT
    (balance,) = result.patient_balances
    assert (balance.claim_id, balance.patient_ref, balance.amount, balance.reason_code) == (
        "C1",
        "P1",
        gbp("20.00"),
        "PR-3",
    )
    assert _kinds(app.postings) == ["applied payment", "contractual write-off", "patient responsibility"]


def test_write_off_above_limit_needs_approval() -> None:
    line_ = line(paid="30.00", adjustments=(adj("CO", "45", "70.00"),))
    c = claim(expected="30.00")
    result = apply_remittance(remittance(line_), [c], rules(), gbp("50.00"))
    write_off = result.applications[0].postings[1]
    assert write_off.needs_approval and write_off.held
    assert "above the £50.00 limit" in write_off.memo
    assert result.awaiting_approval == (write_off,)
    small = apply_remittance(remittance(line(paid="60.00", adjustments=(adj("CO", "45", "40.00"),))), [c], {}, LIMIT)
    assert not small.applications[0].postings[1].needs_approval


def test_other_adjustments_need_review() -> None:
    line_ = line(paid="75.00", adjustments=(adj("CO", "45", "20.00"), adj("OA", "23", "5.00")))
    result = apply_remittance(remittance(line_), [claim()], rules(absolute="5.00"), LIMIT)
    other = result.applications[0].postings[2]
    assert (other.kind, other.needs_review, other.needs_approval) == (
        PostingKind.OTHER_ADJUSTMENT,
        True,
        False,
    )


def test_ambiguous_match_is_unmatched_with_ranked_candidates() -> None:
    claims = [claim("C1"), claim("C2"), claim("C3", patient="P9")]
    result = apply_remittance(remittance(line(None, paid="80.00")), claims, rules(), LIMIT)
    assert not result.applications
    (un,) = result.unmatched
    assert un.reason == "claims C1 and C2 match almost equally well"
    assert [(c.claim_id, c.score) for c in un.candidates] == [("C1", 85), ("C2", 85)]
    assert [(p.kind, p.amount) for p in un.postings] == [(PostingKind.UNAPPLIED, gbp("80.00"))]
    assert result.unapplied == gbp("80.00")


def test_no_candidate_is_unmatched() -> None:
    result = apply_remittance(remittance(line("NOPE", patient="P404")), [claim()], rules(), LIMIT)
    assert result.unmatched[0].reason == "no claim matches this line"
    assert result.unmatched[0].candidates == ()


def test_weak_match_is_not_applied() -> None:
    result = apply_remittance(remittance(line(None, charged="55.00")), [claim()], rules(), LIMIT)
    (un,) = result.unmatched
    assert un.reason == "best candidate C1 matched only on patient + service date"


def test_provider_level_adjustments_are_separate_postings() -> None:
    plb = (
        ProviderAdjustment("L6", "INT", gbp("-1.25")),
        ProviderAdjustment("WO", "C0099", gbp("30.00")),
    )
    result = apply_remittance(remittance(line(paid="80.00"), plb=plb), [claim()], rules(), LIMIT)
    assert [(p.kind, p.reason_code, p.amount, p.needs_review) for p in result.provider_postings] == [
        (PostingKind.PROVIDER_ADJUSTMENT, "L6", gbp("1.25"), False),
        (PostingKind.PROVIDER_ADJUSTMENT, "WO", gbp("-30.00"), True),
    ]
    assert result.total_cash == gbp("51.25")


def test_every_line_cash_postings_equal_its_paid_amount() -> None:
    lines = (
        line(paid="80.00"),
        line("C2", patient="P2", paid="95.00"),
        line(None, patient="P7", paid="12.34"),
        line("C3", patient="P3", status="22", paid="-10.00"),
    )
    claims = [
        claim(),
        claim("C2", patient="P2", outstanding="90.00"),
        claim("C3", patient="P3", already_paid="10"),
    ]
    result = apply_remittance(remittance(*lines), claims, rules(), LIMIT)
    groups: list[LineApplication | UnmatchedLine] = [*result.applications, *result.unmatched]
    for group in groups:
        assert total([p.amount for p in group.postings if p.is_cash]) == group.line.paid
    assert result.total_cash == gbp("177.34")


def test_currency_mismatch_is_refused() -> None:
    bad = claim()
    bad = type(bad)(**{**{f: getattr(bad, f) for f in bad.__slots__}, "expected": Money(8000, "EUR")})
    with pytest.raises(DomainError, match="in GBP but amounts in EUR"):
        apply_remittance(remittance(line()), [bad], rules(), LIMIT)


def test_the_same_group_and_reason_on_several_services_is_one_posting_checked_as_one() -> None:
    """CO-45 on each of three service lines is one write-off of the claim; the limit applies to the sum."""
    services = (adj("CO", "45", "6.00"), adj("PR", "2", "5.00"), adj("CO", "45", "7.00"), adj("CO", "45", "7.00"))
    result = apply_remittance(remittance(line("C1", paid="75.00", adjustments=services)), [claim()], rules(), LIMIT)
    (app,) = result.applications
    assert [(p.kind, p.amount, p.reason_code) for p in app.postings] == [
        (PostingKind.APPLIED_PAYMENT, gbp("75.00"), ""),
        (PostingKind.CONTRACTUAL_WRITE_OFF, gbp("20.00"), "CO-45"),
        (PostingKind.PATIENT_RESPONSIBILITY, gbp("5.00"), "PR-2"),
    ]
    assert [p.needs_approval for p in app.postings] == [False, False, False]
    over = apply_remittance(
        remittance(line("C1", paid="75.00", adjustments=services)), [claim()], rules(), gbp("15.00")
    )
    (held,) = [p for p in over.applications[0].postings if p.needs_approval]
    assert (held.amount, held.reason_code) == (gbp("20.00"), "CO-45")  # no single adjustment was above 15.00
