"""Professional claims (what an 837P carries) and the checks made before one is written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from app.money import Money

GENDERS: Final = frozenset({"M", "F", "U"})
# PAT01: the patient's relationship to the subscriber.
RELATIONSHIPS: Final = frozenset({"01", "19", "20", "21", "39", "40", "53", "G8"})
_FORBIDDEN: Final = frozenset("*:~^")


@dataclass(frozen=True, slots=True)
class Address:
    line1: str
    city: str
    state: str
    postal_code: str
    line2: str = ""


@dataclass(frozen=True, slots=True)
class Person:
    """A subscriber or patient."""

    last_name: str
    first_name: str
    birth_date: date
    gender: str  # M, F or U
    address: Address
    member_id: str = ""  # required for the subscriber


@dataclass(frozen=True, slots=True)
class BillingProvider:
    name: str
    npi: str
    tax_id: str  # EIN, 9 digits
    address: Address


@dataclass(frozen=True, slots=True)
class RenderingProvider:
    last_name: str
    first_name: str
    npi: str


@dataclass(frozen=True, slots=True)
class Payer:
    name: str
    payer_id: str


@dataclass(frozen=True, slots=True)
class ServiceLine:
    procedure_code: str  # CPT/HCPCS
    charge: Money
    units: int
    service_date: date
    diagnosis_pointers: tuple[int, ...]  # 1-based positions in the claim's diagnosis codes
    modifiers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProfessionalClaim:
    """One claim. ``patient=None`` means the subscriber is the patient."""

    claim_id: str  # our id, CLM01; comes back in 277CA TRN/REF and 835 CLP01
    billing_provider: BillingProvider
    subscriber: Person
    payer: Payer
    total_charge: Money
    place_of_service: str  # CMS place-of-service code, e.g. "11" office
    diagnosis_codes: tuple[str, ...]  # ICD-10-CM, principal first; dots optional
    lines: tuple[ServiceLine, ...]
    patient: Person | None = None
    patient_relationship: str = "19"  # PAT01 when patient is set; 19 = child
    prior_authorization: str | None = None
    rendering_provider: RenderingProvider | None = None


@dataclass(frozen=True, slots=True)
class Submitter:
    """Us: interchange sender id, name and an EDI contact."""

    sender_id: str
    name: str
    contact_name: str
    contact_phone: str


@dataclass(frozen=True, slots=True)
class Receiver:
    """The clearinghouse or payer receiving the file."""

    receiver_id: str
    name: str


def npi_is_valid(npi: str) -> bool:
    """10 digits with a correct Luhn check digit (computed with the 80840 prefix)."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    total = 24  # the constant contributed by the 80840 prefix
    for index, char in enumerate(reversed(npi[:9])):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return (10 - total % 10) % 10 == int(npi[9])


def icd10(code: str) -> str:
    """ICD-10-CM code as X12 wants it: no dot, upper case."""
    return code.replace(".", "").strip().upper()


def _texts(claim: ProfessionalClaim) -> list[tuple[str, str]]:
    people = [("subscriber", claim.subscriber)] + ([("patient", claim.patient)] if claim.patient else [])
    out = [
        ("claim id", claim.claim_id),
        ("billing provider name", claim.billing_provider.name),
        ("payer name", claim.payer.name),
        ("payer id", claim.payer.payer_id),
        ("prior authorization", claim.prior_authorization or ""),
    ]
    for role, person in people:
        out += [
            (f"{role} name", person.last_name + person.first_name),
            (f"{role} member id", person.member_id),
        ]
        out += [(f"{role} address", person.address.line1 + person.address.line2 + person.address.city)]
    out += [
        (
            "billing provider address",
            claim.billing_provider.address.line1 + claim.billing_provider.address.city,
        )
    ]
    out += [("procedure code", line.procedure_code + "".join(line.modifiers)) for line in claim.lines]
    return out


def claim_problems(claim: ProfessionalClaim) -> list[str]:
    """Every reason this claim cannot be sent, in plain words (empty when it can)."""
    who = f"Claim {claim.claim_id}"
    problems: list[str] = []
    if not claim.claim_id or len(claim.claim_id) > 20:
        problems.append(f"{who}: the claim id must be 1 to 20 characters")
    if not npi_is_valid(claim.billing_provider.npi):
        problems.append(f"{who}: billing provider NPI {claim.billing_provider.npi!r} is not a valid NPI")
    if claim.rendering_provider and not npi_is_valid(claim.rendering_provider.npi):
        problems.append(f"{who}: rendering provider NPI {claim.rendering_provider.npi!r} is not a valid NPI")
    tax_id = claim.billing_provider.tax_id.replace("-", "")
    if len(tax_id) != 9 or not tax_id.isdigit():
        problems.append(f"{who}: the billing provider tax id must be 9 digits")
    zip_code = claim.billing_provider.address.postal_code.replace("-", "")
    if len(zip_code) != 9 or not zip_code.isdigit():
        problems.append(f"{who}: the billing provider ZIP code must have 9 digits (ZIP+4)")
    if not claim.subscriber.member_id:
        problems.append(f"{who}: the subscriber's member id is missing")
    for role, person in (("subscriber", claim.subscriber), ("patient", claim.patient)):
        if person is not None and person.gender not in GENDERS:
            problems.append(f"{who}: the {role}'s gender must be M, F or U")
    if claim.patient is not None and claim.patient_relationship not in RELATIONSHIPS:
        problems.append(f"{who}: patient relationship code {claim.patient_relationship!r} is not known")
    if len(claim.place_of_service) != 2 or not claim.place_of_service.isdigit():
        problems.append(f"{who}: place of service must be a 2-digit code")
    codes = [icd10(c) for c in claim.diagnosis_codes]
    if not 1 <= len(codes) <= 12:
        problems.append(f"{who}: a claim needs 1 to 12 diagnosis codes")
    problems += [
        f"{who}: {c!r} is not an ICD-10 code"
        for c in codes
        if not (3 <= len(c) <= 7 and c[0].isalpha() and c.isalnum())
    ]
    if not 1 <= len(claim.lines) <= 50:
        problems.append(f"{who}: a claim needs 1 to 50 service lines")
    currencies = {claim.total_charge.currency} | {line.charge.currency for line in claim.lines}
    if len(currencies) > 1:
        problems.append(f"{who}: the charges mix currencies {sorted(currencies)}")
    elif sum(line.charge.minor for line in claim.lines) != claim.total_charge.minor:
        problems.append(f"{who}: the total charge {claim.total_charge} is not the sum of its lines")
    for number, line in enumerate(claim.lines, start=1):
        where = f"{who} line {number}"
        if line.charge.minor < 0:
            problems.append(f"{where}: the charge cannot be negative")
        if line.units < 1:
            problems.append(f"{where}: units must be at least 1")
        if not 1 <= len(line.diagnosis_pointers) <= 4 or any(not 1 <= p <= len(codes) for p in line.diagnosis_pointers):
            problems.append(f"{where}: diagnosis pointers must be 1 to 4 positions in the claim's diagnosis list")
        if len(line.modifiers) > 4:
            problems.append(f"{where}: at most 4 modifiers")
        if len(line.procedure_code) != 5 or not line.procedure_code.isalnum():
            problems.append(f"{where}: {line.procedure_code!r} is not a CPT/HCPCS code")
    for label, text in _texts(claim):
        if _FORBIDDEN & set(text):
            problems.append(f"{who}: the {label} contains a character X12 reserves (* : ~ ^)")
    return problems
