"""All models, imported here so Alembic and the app see one metadata."""

from app.db.models.base import Base
from app.db.models.billing import Charge, Dispute, Encounter, Invoice, Payment, Refund, Shift
from app.db.models.claims import Artefact, Claim, ClaimLine, Remittance, RemittanceLine, SettlementRun
from app.db.models.ops import AuditEvent, JournalEntry, JournalLine, OutboxMessage, Setting, Task
from app.db.models.payouts import BankLine, Payout, PayoutLine
from app.db.models.people import Clinic, Patient, Payer, Practitioner, User
from app.db.models.runbooks import (
    CodeMapping,
    ImportedFile,
    InsurerCode,
    LedgerPosting,
    SequenceCounter,
    ShiftAdjustment,
)

__all__ = [
    "Artefact",
    "AuditEvent",
    "BankLine",
    "Base",
    "Charge",
    "Claim",
    "ClaimLine",
    "Clinic",
    "CodeMapping",
    "Dispute",
    "Encounter",
    "ImportedFile",
    "InsurerCode",
    "Invoice",
    "JournalEntry",
    "JournalLine",
    "LedgerPosting",
    "OutboxMessage",
    "Patient",
    "Payer",
    "Payment",
    "Payout",
    "PayoutLine",
    "Practitioner",
    "Refund",
    "Remittance",
    "RemittanceLine",
    "SequenceCounter",
    "Setting",
    "SettlementRun",
    "Shift",
    "ShiftAdjustment",
    "Task",
    "User",
]
