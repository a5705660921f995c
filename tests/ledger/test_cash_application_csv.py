"""cash-application.csv: header and rows exactly."""

from __future__ import annotations

from app.ledger.cash_application import apply_remittance, cash_application_csv
from app.ledger.remittance import ProviderAdjustment
from tests.ledger.factories import LIMIT, adj, claim, gbp, line, remittance, rules


def test_cash_application_csv_header_and_rows() -> None:
    result = apply_remittance(
        remittance(
            line("C1", payer_claim_id="AXA-1", paid="78.00", adjustments=(adj("CO", "45", "20.00"),)),
            line(None, patient="P9", paid="10.00"),
            plb=(ProviderAdjustment("L6", "INT", gbp("-1.00")),),
        ),
        [claim()],
        rules(absolute="5.00"),
        LIMIT,
    )
    text = cash_application_csv(result).decode("utf-8").split("\r\n")
    assert text[0] == (
        "remittance_id,line,payer_claim_id,claim_id,match_rule,score,outcome,posting_id,posting_kind,"
        "amount,currency,needs_approval,needs_review,explanation"
    )
    assert text[1] == (
        "R1,1,AXA-1,C1,claim id,105,partial payment within tolerance,R1:0:1,applied payment,78.00,GBP,no,no,"
        '"matched on claim id; paid £2.00 less than expected, within tolerance £5.00"'
    )
    assert text[2] == (
        "R1,1,AXA-1,C1,claim id,105,partial payment within tolerance,R1:0:a1,contractual write-off,20.00,GBP,"
        'no,no,"matched on claim id; paid £2.00 less than expected, within tolerance £5.00; '
        'CO-45: contractual write-off"'
    )
    assert text[3] == (
        "R1,2,,,,,unmatched,R1:1:1,unapplied (no claim matched),10.00,GBP,no,yes,no claim matches this line"
    )
    assert text[4] == (
        "R1,,,,,,provider adjustment,R1:plb1,provider-level adjustment,1.00,GBP,no,no,"
        "PLB L6 INT: interest paid by the payer"
    )
    assert text[5] == ""
