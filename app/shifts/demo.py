"""Reference data the demo needs for shift close-out: the cash-drawer schedule and a bank CSV mapping.

The lead calls :func:`seed_demo` from :mod:`app.demo` after the clinics exist.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import SYSTEM
from app.clock import Clock
from app.db.models import Clinic
from app.imports.csv_mapping import ColumnMapping
from app.settings import set_setting
from app.shifts.bank import MAPPINGS
from app.shifts.schedule import DEFAULT_FLOAT_MINOR, SETTING

DEMO_BANK_MAPPING = ColumnMapping(
    "demo bank (current account)",
    {"posted_on": "Date", "amount": "Amount", "description": "Description", "reference": "Reference"},
    date_formats=("%d/%m/%Y", "%Y-%m-%d"),
)


def seed_demo(session: Session, clock: Clock) -> None:
    """Two shifts a day (08:00-14:00, 14:00-20:00) per clinic, at the desks and terminals the demo uses."""
    clinics = list(session.scalars(select(Clinic.id).order_by(Clinic.id)))
    schedule = {
        str(clinic_id): [
            {
                "desk": f"Front desk {'A' if n == 0 else 'B'}",
                "start": start,
                "end": end,
                "terminals": ["tmr_desk_A", "sq_device_B"],
                "opening_float_minor": DEFAULT_FLOAT_MINOR,
            }
            for start, end in (("08:00", "14:00"), ("14:00", "20:00"))
        ]
        for n, clinic_id in enumerate(clinics)
    }
    set_setting(session, clock, SYSTEM, SETTING, schedule)
    set_setting(session, clock, SYSTEM, MAPPINGS, {"demo bank": DEMO_BANK_MAPPING.to_dict()})
