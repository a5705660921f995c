"""``pos-payments.json``: the payments of one shift as stored (each once), for the accounts or a support case."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Payment, Shift
from app.errors import NotFound
from app.money import to_decimal


def pos_payments(session: Session, shift_id: int) -> list[dict[str, object]]:
    shift = session.get(Shift, shift_id)
    if shift is None:
        raise NotFound(f"Shift {shift_id} does not exist.")
    rows = session.scalars(select(Payment).where(Payment.shift_id == shift_id).order_by(Payment.taken_at, Payment.id))
    return [
        {
            "provider": p.provider,
            "provider_ref": p.provider_ref,
            "terminal_id": p.terminal_id,
            "method": p.method,
            "taken_at": p.taken_at.isoformat(),
            "currency": p.currency,
            "gross": str(to_decimal(p.gross_minor, p.currency)),
            "fee": str(to_decimal(p.fee_minor, p.currency)),
            "net": str(to_decimal(p.net_minor, p.currency)),
            "refunded": str(to_decimal(p.refunded_minor, p.currency)),
            "status": p.status.value,
            "payout_id": p.payout_id,
        }
        for p in rows
    ]


def pos_payments_json(session: Session, shift_id: int) -> bytes:
    """The shift's payments as ``pos-payments.json`` (amounts as decimal strings, never floats)."""
    body = {"shift_id": shift_id, "payments": pos_payments(session, shift_id)}
    return json.dumps(body, indent=2, ensure_ascii=False).encode("utf-8")
