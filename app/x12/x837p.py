"""837P (professional claim) writer.

One interchange, one group, one transaction set per batch. Claims of the same billing provider
share one billing HL (20); each claim gets its own subscriber HL (22) and, when the patient is
not the subscriber, a patient HL (23) below it.

GS08/ST03 default to ``005010X222A1``, the version HIPAA adopted and clearinghouses expect
(and the one pyx12 can validate); pass ``version="005010X222A2"`` where a receiver asks for the
A2 errata id. The segments written are the same.
"""

from __future__ import annotations

from datetime import datetime

from app.clock import ensure_utc
from app.errors import ValidationFailed
from app.money import Money
from app.x12.professional import (
    Address,
    BillingProvider,
    Person,
    ProfessionalClaim,
    Receiver,
    Submitter,
    claim_problems,
    icd10,
)

__all__ = ["write_837p"]

DEFAULT_VERSION = "005010X222A1"
_SEGMENT = "~"


def _amount(money: Money) -> str:
    return str(money.amount)


def _join(*elements: str) -> str:
    """One segment without its terminator; trailing empty elements are dropped."""
    items = list(elements)
    while items and items[-1] == "":
        items.pop()
    return "*".join(items)


def _address(address: Address) -> list[str]:
    return [
        _join("N3", address.line1, address.line2),
        _join("N4", address.city, address.state, address.postal_code.replace("-", "")),
    ]


def _person(code: str, person: Person, with_id: bool) -> list[str]:
    ident = ("MI", person.member_id) if with_id else ("", "")
    return [
        _join("NM1", code, "1", person.last_name, person.first_name, "", "", "", *ident),
        *_address(person.address),
        _join("DMG", "D8", person.birth_date.strftime("%Y%m%d"), person.gender),
    ]


def _billing(provider: BillingProvider) -> list[str]:
    return [
        _join("NM1", "85", "2", provider.name, "", "", "", "", "XX", provider.npi),
        *_address(provider.address),
        _join("REF", "EI", provider.tax_id.replace("-", "")),
    ]


def _claim(claim: ProfessionalClaim) -> list[str]:
    segs = [
        _join("CLM", claim.claim_id, _amount(claim.total_charge), "", "", f"{claim.place_of_service}:B:1") + "*Y*A*Y*Y",
    ]
    if claim.prior_authorization:
        segs.append(_join("REF", "G1", claim.prior_authorization))
    codes = [icd10(c) for c in claim.diagnosis_codes]
    segs.append("HI*" + "*".join([f"ABK:{codes[0]}"] + [f"ABF:{c}" for c in codes[1:]]))
    if claim.rendering_provider:
        r = claim.rendering_provider
        segs.append(_join("NM1", "82", "1", r.last_name, r.first_name, "", "", "", "XX", r.npi))
    for number, line in enumerate(claim.lines, start=1):
        procedure = ":".join(("HC", line.procedure_code, *line.modifiers))
        pointers = ":".join(str(p) for p in line.diagnosis_pointers)
        segs += [
            f"LX*{number}",
            _join("SV1", procedure, _amount(line.charge), "UN", str(line.units), "", "", pointers),
            _join("DTP", "472", "D8", line.service_date.strftime("%Y%m%d")),
        ]
    return segs


def _transaction(
    batch: list[ProfessionalClaim],
    sender: Submitter,
    receiver: Receiver,
    control: int,
    when: datetime,
    version: str,
) -> list[str]:
    segs = [
        _join("ST", "837", "0001", version),
        _join("BHT", "0019", "00", str(control), when.strftime("%Y%m%d"), when.strftime("%H%M"), "CH"),
        _join("NM1", "41", "2", sender.name, "", "", "", "", "46", sender.sender_id),
        _join("PER", "IC", sender.contact_name, "TE", sender.contact_phone),
        _join("NM1", "40", "2", receiver.name, "", "", "", "", "46", receiver.receiver_id),
    ]
    hl = 0
    by_provider: dict[BillingProvider, list[ProfessionalClaim]] = {}
    for claim in batch:
        by_provider.setdefault(claim.billing_provider, []).append(claim)
    for provider, claims in by_provider.items():
        hl += 1
        billing_hl = hl
        segs += [f"HL*{billing_hl}**20*1", *_billing(provider)]
        for claim in claims:
            hl += 1
            subscriber_hl = hl
            is_self = claim.patient is None
            segs += [
                f"HL*{subscriber_hl}*{billing_hl}*22*{0 if is_self else 1}",
                _join("SBR", "P", "18" if is_self else "", "", "", "", "", "", "", "CI"),
                *_person("IL", claim.subscriber, with_id=True),
                _join("NM1", "PR", "2", claim.payer.name, "", "", "", "", "PI", claim.payer.payer_id),
            ]
            if claim.patient is not None:
                hl += 1
                segs += [f"HL*{hl}*{subscriber_hl}*23*0", f"PAT*{claim.patient_relationship}"]
                segs += _person("QC", claim.patient, with_id=False)
            segs += _claim(claim)
    segs.append(f"SE*{len(segs) + 1}*0001")
    return segs


def write_837p(
    batch: list[ProfessionalClaim],
    sender: Submitter,
    receiver: Receiver,
    control_number: int,
    created_at: datetime,
    *,
    production: bool = True,
    version: str = DEFAULT_VERSION,
) -> str:
    """The 837P text for ``batch`` (segments end with ``~`` and a newline).

    Raises :class:`ValidationFailed` listing every problem of every claim when any claim cannot
    be sent. ``control_number`` (1..999999999) is used for ISA13, GS06 and BHT03.
    """
    problems = [p for claim in batch for p in claim_problems(claim)]
    if not batch:
        problems.append("The batch holds no claims.")
    if not 1 <= control_number <= 999_999_999:
        problems.append("The control number must be between 1 and 999999999.")
    if problems:
        raise ValidationFailed("These claims cannot be sent yet", problems)
    when = ensure_utc(created_at)
    isa = (
        f"ISA*00*{'':10}*00*{'':10}*ZZ*{sender.sender_id:<15.15}*ZZ*{receiver.receiver_id:<15.15}*"
        f"{when:%y%m%d}*{when:%H%M}*^*00501*{control_number:09d}*0*{'P' if production else 'T'}*:"
    )
    segs = [
        isa,
        _join(
            "GS",
            "HC",
            sender.sender_id,
            receiver.receiver_id,
            f"{when:%Y%m%d}",
            f"{when:%H%M}",
            str(control_number),
            "X",
            version,
        ),
        *_transaction(batch, sender, receiver, control_number, when, version),
        f"GE*1*{control_number}",
        f"IEA*1*{control_number:09d}",
    ]
    return f"{_SEGMENT}\n".join(segs) + f"{_SEGMENT}\n"
