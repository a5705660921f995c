"""Remittance records read from an 835, their JSON form and the payment balance check."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS reason/amount: group CO, PR, OA, PI or CR; reason a CARC code."""

    group: str
    reason: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class ServicePayment:
    """One SVC line. ``code`` is the procedure code (SVC01-2); qualifier and modifiers kept apart."""

    code: str
    charged: Decimal
    paid: Decimal
    units: Decimal
    adjustments: tuple[Adjustment, ...]
    qualifier: str = ""
    modifiers: tuple[str, ...] = ()
    service_date: date | None = None


@dataclass(frozen=True, slots=True)
class ClaimPayment:
    """One CLP: our claim id (CLP01), the payer's id (CLP07), status (CLP02; 22 = reversal)."""

    claim_id: str
    payer_claim_id: str
    status_code: str
    charged: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    adjustments: tuple[Adjustment, ...]
    services: tuple[ServicePayment, ...]


@dataclass(frozen=True, slots=True)
class ProviderAdjustment:
    """One PLB reason: positive amounts reduce the payment (e.g. a takeback), negative add."""

    reason: str
    reference: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class RemittancePayment:
    """One 835 transaction (BPR/TRN): a payment or a notice of no payment."""

    trace_number: str
    payer: str
    payee: str
    method: str
    date: date | None
    total_paid: Decimal
    claims: tuple[ClaimPayment, ...]
    provider_adjustments: tuple[ProviderAdjustment, ...]


def _adjustments(items: Iterable[Adjustment]) -> list[dict[str, str]]:
    return [{"group": a.group, "reason": a.reason, "amount": str(a.amount)} for a in items]


def payment_dict(payment: RemittancePayment) -> dict[str, Any]:
    """The JSON-ready form of one payment (amounts as decimal strings, dates ISO)."""
    return {
        "trace_number": payment.trace_number,
        "payer": payment.payer,
        "payee": payment.payee,
        "method": payment.method,
        "date": payment.date.isoformat() if payment.date else None,
        "total_paid": str(payment.total_paid),
        "claims": [
            {
                "claim_id": c.claim_id,
                "payer_claim_id": c.payer_claim_id,
                "status_code": c.status_code,
                "charged": str(c.charged),
                "paid": str(c.paid),
                "patient_responsibility": str(c.patient_responsibility),
                "adjustments": _adjustments(c.adjustments),
                "services": [
                    {
                        "code": s.code,
                        "charged": str(s.charged),
                        "paid": str(s.paid),
                        "units": str(s.units),
                        "adjustments": _adjustments(s.adjustments),
                    }
                    for s in c.services
                ],
            }
            for c in payment.claims
        ],
        "provider_adjustments": [
            {"reason": p.reason, "reference": p.reference, "amount": str(p.amount)}
            for p in payment.provider_adjustments
        ],
    }


_CLAIM_SCALARS = ("claim_id", "payer_claim_id", "status_code", "charged", "paid", "patient_responsibility")


def claim_json(claim: dict[str, Any], adjustments: str, services: str) -> str:
    """``json.dumps(claim)`` for a claim of :func:`payment_dict` whose adjustments and services
    are already encoded (a remittance line stores them; remittance.json then reuses them)."""
    head = json.dumps({key: claim[key] for key in _CLAIM_SCALARS})
    return f'{head[:-1]}, "adjustments": {adjustments}, "services": {services}}}'


def payment_json(payment: dict[str, Any], claims: Iterable[str]) -> str:
    """``json.dumps(payment)`` for a :func:`payment_dict` whose claims are already encoded by
    :func:`claim_json`. Every string value is escaped, so the only bare ``"claims": []`` is the key."""
    text = json.dumps({**payment, "claims": []})
    return text.replace('"claims": []', f'"claims": [{", ".join(claims)}]', 1)


def to_json_dict(payments: Iterable[RemittancePayment]) -> dict[str, Any]:
    """``{"payments": [...]}`` with one entry per BPR/TRN, in file order."""
    return {"payments": [payment_dict(p) for p in payments]}


def check_balance(payment: RemittancePayment) -> list[str]:
    """Problems where BPR02 differs from the claims paid minus the provider adjustments.

    Returned, not raised: the payer's money arrived whatever the arithmetic says, and a person
    decides what to do.
    """
    claims_paid = sum((c.paid for c in payment.claims), Decimal(0))
    provider = sum((p.amount for p in payment.provider_adjustments), Decimal(0))
    expected = claims_paid - provider
    if expected == payment.total_paid:
        return []
    return [
        f"Payment {payment.trace_number}: the payer says {payment.total_paid} was paid, but the claims "
        f"add up to {claims_paid} less {provider} of provider adjustments = {expected} "
        f"(difference {payment.total_paid - expected})."
    ]
