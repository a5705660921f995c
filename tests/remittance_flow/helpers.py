"""835 builders for the flow tests (on top of tests/x12/make835.py)."""

from __future__ import annotations

from decimal import Decimal

from tests.x12.make835 import Clm, Pay, Svc, build_835

D = Decimal


def paid_claim(number: str, charged: str, paid: str, *, co: str = "0", pr: str = "0", status: str = "1") -> Clm:
    adjustments = []
    if D(co):
        adjustments.append(("CO", "45", D(co)))
    if D(pr):
        adjustments.append(("PR", "2", D(pr)))
    svc = Svc("99213", D(charged), D(paid), adjustments=tuple(adjustments))
    return Clm(
        number,
        D(charged),
        D(paid),
        status=status,
        patient_resp=D(pr) if D(pr) else None,
        payer_claim_id=f"PCN-{number}",
        services=(svc,),
    )


def file_835(*payments: Pay, control: int = 1) -> bytes:
    return build_835(list(payments), control=control).encode()


__all__ = ["Clm", "Pay", "Svc", "file_835", "paid_claim"]
