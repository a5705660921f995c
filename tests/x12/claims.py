"""Sample professional claims for the 837P tests and bench."""

from __future__ import annotations

from datetime import date

from app.money import Money
from app.x12.professional import (
    Address,
    BillingProvider,
    Payer,
    Person,
    ProfessionalClaim,
    Receiver,
    RenderingProvider,
    ServiceLine,
    Submitter,
)

SENDER = Submitter("CLINICSUB01", "RIVERSIDE CLINIC", "ANNA BILLING", "5551234567")
RECEIVER = Receiver("CLEARHOUSE", "ACME CLEARING HOUSE")
CLINIC = BillingProvider(
    "RIVERSIDE CLINIC", "1234567893", "123456789", Address("1 RIVER RD", "SPRINGFIELD", "IL", "62701-1001")
)
OTHER_CLINIC = BillingProvider(
    "HILLTOP CLINIC", "1679576722", "987654321", Address("9 HILL ST", "SPRINGFIELD", "IL", "627021234")
)
HOME = Address("12 OAK ST", "SPRINGFIELD", "IL", "627011234", line2="APT 4")
JOHN = Person("DOE", "JOHN", date(1980, 5, 17), "M", HOME, member_id="MEM000111")
LILY = Person("DOE", "LILY", date(2015, 3, 2), "F", HOME)
PAYER = Payer("ACME HEALTH PLAN", "ACME01")
DR_WHO = RenderingProvider("WHO", "JANE", "1245319599")


def usd(text: str) -> Money:
    return Money.of(text, "USD")


def line(
    code: str = "99213",
    charge: str = "125.00",
    *,
    pointers: tuple[int, ...] = (1,),
    units: int = 1,
    modifiers: tuple[str, ...] = (),
) -> ServiceLine:
    return ServiceLine(code, usd(charge), units, date(2024, 1, 2), pointers, modifiers)


def claim(
    claim_id: str = "CLM0001",
    *,
    lines: tuple[ServiceLine, ...] | None = None,
    patient: Person | None = None,
    prior_auth: str | None = None,
    rendering: RenderingProvider | None = None,
    provider: BillingProvider = CLINIC,
) -> ProfessionalClaim:
    lines = lines or (line(),)
    total = Money(sum(item.charge.minor for item in lines), "USD")
    return ProfessionalClaim(
        claim_id,
        provider,
        JOHN,
        PAYER,
        total,
        "11",
        ("J02.9", "R50.9"),
        lines,
        patient=patient,
        prior_authorization=prior_auth,
        rendering_provider=rendering,
    )
