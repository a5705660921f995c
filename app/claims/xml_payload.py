"""The XML documents exchanged with UK private insurers over SFTP or a portal.

Three shapes, each with an XSD in ``resources/insurer-xml/`` (described in its README):

* a **claim** we send (``build_claim_xml`` / ``validate_claim_xml``),
* an **acknowledgement** the insurer returns (``parse_ack_xml``),
* a **remittance** advice explaining a payment (``parse_remittance_xml``).

Incoming XML is parsed with defusedxml (no DTDs, no entities, nothing fetched) and then checked
against its XSD; anything wrong raises :class:`app.errors.ParseError` naming the file and the
line or element path. Amounts are :class:`app.money.Money`; no float is ever involved.
"""

from __future__ import annotations

import enum
import hashlib
import re
import xml.etree.ElementTree as ET  # building only; parsing goes through defusedxml
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Final

import defusedxml.ElementTree as SafeET
import xmlschema
from defusedxml import DefusedXmlException

from app.clock import ensure_utc
from app.errors import ParseError, ValidationFailed
from app.money import Money, total

SCHEMA_DIR: Final = Path(__file__).resolve().parents[2] / "resources" / "insurer-xml"
CLAIM_NS: Final = "urn:clinic-billing-desk:insurer:claim:v1"
ACK_NS: Final = "urn:clinic-billing-desk:insurer:acknowledgement:v1"
REMITTANCE_NS: Final = "urn:clinic-billing-desk:insurer:remittance:v1"
_NAMESPACE: Final = re.compile(r"\{[^}]*\}")

# --------------------------------------------------------------------------- claim content


@dataclass(frozen=True, slots=True)
class ClaimPatient:
    given_name: str
    family_name: str
    date_of_birth: date
    postcode: str  # upper case with one space, "SW1A 1AA"


@dataclass(frozen=True, slots=True)
class ClaimProvider:
    clinic_name: str
    practitioner: str
    registration_body: str  # "HCPC", "GMC", "GDC", "GOsC", "GCC", "NMC"
    registration_number: str  # e.g. "PH123456"
    provider_number: str  # the clinic's number with this insurer


@dataclass(frozen=True, slots=True)
class ClaimLine:
    insurer_procedure_code: str
    ccsd_code: str
    description: str
    quantity: int
    unit_price: Money

    @property
    def amount(self) -> Money:
        return self.unit_price.times(self.quantity)


@dataclass(frozen=True, slots=True)
class ClaimAttachment:
    """A document sent with the claim, listed by name and SHA-256 so the insurer can match it."""

    file_name: str
    sha256: str  # lower-case hex

    @classmethod
    def of(cls, file_name: str, content: bytes) -> ClaimAttachment:
        return cls(file_name, hashlib.sha256(content).hexdigest())


@dataclass(frozen=True, slots=True)
class InsurerClaim:
    """Everything one claim file says about one encounter."""

    claim_id: str  # "CLM-000123"
    insurer_code: str  # "BUPA", "AXA", ...
    member_number: str
    pre_authorisation_number: str | None
    patient: ClaimPatient
    provider: ClaimProvider
    encounter_date: date
    diagnosis_codes: tuple[str, ...]  # ICD-10
    lines: tuple[ClaimLine, ...]
    consent_given: bool
    consent_date: date | None
    notes: str = ""
    attachments: tuple[ClaimAttachment, ...] = ()

    @property
    def total(self) -> Money:
        return total([line.amount for line in self.lines])

    @property
    def file_name(self) -> str:
        return f"{self.claim_id}.xml"


# --------------------------------------------------------------------------- building


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, attrs)
    if text is not None:
        child.text = text
    return child


def _add_money(parent: ET.Element, tag: str, amount: Money) -> None:
    _add(parent, tag, str(amount.amount), currency=amount.currency)


def build_claim_xml(claim: InsurerClaim) -> bytes:
    """The claim as UTF-8 XML. Deterministic: the same claim always gives the same bytes."""
    root = ET.Element("Claim", {"xmlns": CLAIM_NS, "version": "1.0"})  # plain tags, one default ns
    _add(root, "ClaimId", claim.claim_id)
    insurer = _add(root, "Insurer")
    _add(insurer, "InsurerCode", claim.insurer_code)
    _add(insurer, "MemberNumber", claim.member_number)
    if claim.pre_authorisation_number:
        _add(insurer, "PreAuthorisationNumber", claim.pre_authorisation_number)
    patient = _add(root, "Patient")
    _add(patient, "GivenName", claim.patient.given_name)
    _add(patient, "FamilyName", claim.patient.family_name)
    _add(patient, "DateOfBirth", claim.patient.date_of_birth.isoformat())
    _add(patient, "Postcode", claim.patient.postcode)
    provider = _add(root, "Provider")
    _add(provider, "ClinicName", claim.provider.clinic_name)
    _add(provider, "Practitioner", claim.provider.practitioner)
    _add(provider, "Registration", claim.provider.registration_number, body=claim.provider.registration_body)
    _add(provider, "ProviderNumber", claim.provider.provider_number)
    encounter = _add(root, "Encounter")
    _add(encounter, "Date", claim.encounter_date.isoformat())
    for code in claim.diagnosis_codes:
        _add(encounter, "Diagnosis", code)
    lines = _add(root, "Lines")
    for number, line in enumerate(claim.lines, start=1):
        element = _add(lines, "Line", number=str(number))
        _add(element, "InsurerProcedureCode", line.insurer_procedure_code)
        _add(element, "CcsdCode", line.ccsd_code)
        _add(element, "Description", line.description)
        _add(element, "Quantity", str(line.quantity))
        _add_money(element, "UnitPrice", line.unit_price)
        _add_money(element, "Amount", line.amount)
    _add_money(_add(root, "Totals"), "Charged", claim.total)
    consent = _add(root, "Consent")
    _add(consent, "Given", "true" if claim.consent_given else "false")
    if claim.consent_date is not None:
        _add(consent, "Date", claim.consent_date.isoformat())
    if claim.notes:
        _add(root, "Notes", claim.notes)
    if claim.attachments:
        manifest = _add(root, "Attachments")
        for attachment in claim.attachments:
            entry = _add(manifest, "Attachment")
            _add(entry, "FileName", attachment.file_name)
            _add(entry, "Sha256", attachment.sha256)
    ET.indent(root)
    xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml + b"\n"


# --------------------------------------------------------------------------- checking


@cache
def _schema(name: str) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA_DIR / f"{name}.xsd"))


def _parse(xml: bytes, filename: str) -> ET.Element:
    """Parse without DTDs, entities or network; a syntax error names the line."""
    try:
        return SafeET.fromstring(xml, forbid_dtd=True)
    except ET.ParseError as exc:
        line, column = exc.position
        raise ParseError(filename, f"line {line}, column {column}", "the file is not well-formed XML") from exc
    except DefusedXmlException as exc:
        raise ParseError(filename, "line 1", "the file declares a DTD or entities, which are refused") from exc


def _schema_problems(schema: xmlschema.XMLSchema, root: ET.Element) -> list[str]:
    problems = []
    for error in schema.iter_errors(root):
        path = _NAMESPACE.sub("", error.path or "/")
        found = f" (found {error.obj!r})" if isinstance(error.obj, str) else ""
        problems.append(f"{path}: {error.reason or error.message}{found}")
    return problems


def _decimal(element: ET.Element | None) -> Decimal | None:
    if element is None or element.text is None:
        return None
    try:
        return Decimal(element.text.strip())
    except InvalidOperation:
        return None


def _claim_sum_problems(root: ET.Element) -> list[str]:
    """Arithmetic the XSD cannot express: line amounts, the total, recorded consent."""
    ns = {"c": CLAIM_NS}
    problems: list[str] = []
    line_sum = Decimal(0)
    for index, line in enumerate(root.findall("c:Lines/c:Line", ns), start=1):
        quantity, unit, amount = (_decimal(line.find(f"c:{tag}", ns)) for tag in ("Quantity", "UnitPrice", "Amount"))
        if quantity is not None and unit is not None and amount is not None and quantity * unit != amount:
            problems.append(f"/Claim/Lines/Line[{index}]: amount {amount} is not quantity × unit price")
        line_sum += amount or 0
    charged = _decimal(root.find("c:Totals/c:Charged", ns))
    if charged is not None and charged != line_sum:
        problems.append(f"/Claim/Totals/Charged: total {charged} is not the sum of the lines ({line_sum})")
    given = root.findtext("c:Consent/c:Given", namespaces=ns)
    if given is not None and given.strip() not in ("true", "1"):
        problems.append("/Claim/Consent/Given: the patient's consent to share data with the insurer is missing")
    elif given is not None and root.find("c:Consent/c:Date", ns) is None:
        problems.append("/Claim/Consent/Date: the date the patient gave consent is missing")
    return problems


def validate_claim_xml(xml: bytes) -> None:
    """Check a claim file against ``claim.xsd`` and its sums; ValidationFailed lists every problem."""
    try:
        root = _parse(xml, "claim")
    except ParseError as exc:
        raise ValidationFailed("The claim is not readable XML", [f"{exc.position}: {exc.reason}"]) from exc
    problems = _schema_problems(_schema("claim"), root)
    if root.tag == f"{{{CLAIM_NS}}}Claim":
        problems += _claim_sum_problems(root)
    if problems:
        raise ValidationFailed("The claim does not meet the insurer's format", problems)


# --------------------------------------------------------------------------- insurer answers


class AckStatus(enum.Enum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


@dataclass(frozen=True, slots=True)
class ClaimAcknowledgement:
    claim_id: str
    status: AckStatus
    insurer_claim_ref: str | None
    reason_code: str | None
    reason_text: str | None


@dataclass(frozen=True, slots=True)
class AcknowledgementFile:
    filename: str
    insurer_code: str
    issued_at: datetime  # aware UTC
    claims: tuple[ClaimAcknowledgement, ...]


@dataclass(frozen=True, slots=True)
class RemittanceAdjustment:
    code: str
    amount: Money
    text: str | None


@dataclass(frozen=True, slots=True)
class RemittedClaim:
    """One claim in a payment: charged = paid + patient responsibility + adjustments."""

    claim_id: str
    insurer_claim_ref: str
    charged: Money
    paid: Money
    patient_responsibility: Money
    adjustments: tuple[RemittanceAdjustment, ...]


@dataclass(frozen=True, slots=True)
class RemittanceFile:
    filename: str
    insurer_code: str
    payment_reference: str
    payment_date: date
    total_paid: Money
    claims: tuple[RemittedClaim, ...]


def _checked_root(xml: bytes, filename: str, schema_name: str) -> ET.Element:
    root = _parse(xml, filename)
    problems = _schema_problems(_schema(schema_name), root)
    if problems:
        position, _, reason = problems[0].partition(": ")
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ParseError(filename, position, reason + more)
    return root


def _req(element: ET.Element, tag: str, ns: str) -> str:
    """Text of a child the XSD made mandatory."""
    return (element.findtext(f"{{{ns}}}{tag}") or "").strip()


def _opt(element: ET.Element, tag: str, ns: str) -> str | None:
    text = element.findtext(f"{{{ns}}}{tag}")
    return text.strip() if text is not None and text.strip() else None


def _when(text: str, filename: str, position: str) -> datetime:
    try:
        return ensure_utc(datetime.fromisoformat(text))
    except ValueError as exc:
        raise ParseError(filename, position, f"not a date and time we can read: {text!r}") from exc


def _day(text: str, filename: str, position: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ParseError(filename, position, f"not a plain date (YYYY-MM-DD): {text!r}") from exc


def parse_ack_xml(xml: bytes, filename: str) -> AcknowledgementFile:
    """Read an acknowledgement file; a rejection without a reason is refused too."""
    root = _checked_root(xml, filename, "acknowledgement")
    claims = []
    for index, element in enumerate(root.findall(f"{{{ACK_NS}}}Claim"), start=1):
        status = AckStatus(_req(element, "Status", ACK_NS))
        reason = element.find(f"{{{ACK_NS}}}Reason")
        if status is AckStatus.REJECTED and reason is None:
            raise ParseError(filename, f"/Acknowledgement/Claim[{index}]", "a rejected claim has no reason")
        claims.append(
            ClaimAcknowledgement(
                claim_id=_req(element, "ClaimId", ACK_NS),
                status=status,
                insurer_claim_ref=_opt(element, "InsurerClaimRef", ACK_NS),
                reason_code=reason.get("code") if reason is not None else None,
                reason_text=(reason.text or "").strip() if reason is not None else None,
            )
        )
    return AcknowledgementFile(
        filename=filename,
        insurer_code=_req(root, "InsurerCode", ACK_NS),
        issued_at=_when(_req(root, "IssuedAt", ACK_NS), filename, "/Acknowledgement/IssuedAt"),
        claims=tuple(claims),
    )


def _money(element: ET.Element, tag: str) -> Money:
    child = element.find(f"{{{REMITTANCE_NS}}}{tag}")
    assert child is not None  # mandatory in remittance.xsd
    return Money.of((child.text or "").strip(), child.get("currency", ""))


def parse_remittance_xml(xml: bytes, filename: str) -> RemittanceFile:
    """Read a remittance advice; per-claim sums and the payment total must add up."""
    root = _checked_root(xml, filename, "remittance")
    claims = []
    for index, element in enumerate(root.findall(f"{{{REMITTANCE_NS}}}Claim"), start=1):
        adjustments = tuple(
            RemittanceAdjustment(
                code=adj.get("code", ""),
                amount=Money.of((adj.text or "").strip(), adj.get("currency", "")),
                text=adj.get("text"),
            )
            for adj in element.findall(f"{{{REMITTANCE_NS}}}Adjustment")
        )
        claim = RemittedClaim(
            claim_id=_req(element, "ClaimId", REMITTANCE_NS),
            insurer_claim_ref=_req(element, "InsurerClaimRef", REMITTANCE_NS),
            charged=_money(element, "Charged"),
            paid=_money(element, "Paid"),
            patient_responsibility=_money(element, "PatientResponsibility"),
            adjustments=adjustments,
        )
        explained = claim.paid + claim.patient_responsibility + total([a.amount for a in adjustments])
        if explained != claim.charged:
            raise ParseError(
                filename,
                f"/Remittance/Claim[{index}]",
                f"paid + patient share + adjustments ({explained}) do not equal the charge ({claim.charged})",
            )
        claims.append(claim)
    total_paid = _money(root, "TotalPaid")
    paid_sum = total([c.paid for c in claims])
    if paid_sum != total_paid:
        raise ParseError(
            filename,
            "/Remittance/TotalPaid",
            f"total paid {total_paid} is not the sum of the claims ({paid_sum})",
        )
    return RemittanceFile(
        filename=filename,
        insurer_code=_req(root, "InsurerCode", REMITTANCE_NS),
        payment_reference=_req(root, "PaymentReference", REMITTANCE_NS),
        payment_date=_day(_req(root, "PaymentDate", REMITTANCE_NS), filename, "/Remittance/PaymentDate"),
        total_paid=total_paid,
        claims=tuple(claims),
    )


def parse_insurer_xml(xml: bytes, filename: str) -> AcknowledgementFile | RemittanceFile:
    """Read an inbound file of either kind, choosing by its root element."""
    tag = _parse(xml, filename).tag
    if tag == f"{{{ACK_NS}}}Acknowledgement":
        return parse_ack_xml(xml, filename)
    if tag == f"{{{REMITTANCE_NS}}}Remittance":
        return parse_remittance_xml(xml, filename)
    raise ParseError(filename, "line 1", f"not an acknowledgement or a remittance (root element {tag})")
