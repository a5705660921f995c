"""Streaming 835 (005010X221A1) remittance parser.

No object tree of the whole file: segments are read one by one and each payment (one ST/SE
with its BPR/TRN) is yielded as soon as its SE is read. Amounts are ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import BinaryIO, Final

from app.errors import ParseError
from app.x12.remittance import (
    Adjustment,
    ClaimPayment,
    ProviderAdjustment,
    RemittancePayment,
    ServicePayment,
    check_balance,
    to_json_dict,
)
from app.x12.segments import SegmentReader

__all__ = ["check_balance", "parse_835", "to_json_dict"]

_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
# Which elements hold amounts, to name the culprit when one is not a number.
_AMOUNTS: Final[dict[str, tuple[int, ...]]] = {
    "BPR": (2,),
    "CLP": (3, 4, 5),
    "SVC": (2, 3, 5),
    "CAS": (3, 4, 6, 7, 9, 10, 12, 13, 15, 16, 18, 19),
    "PLB": (4, 6, 8, 10, 12, 14),
}


def _date(text: str) -> date:
    if len(text) != 8 or not text.isdigit():
        raise ValueError(text)
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


def _get(fields: list[str], index: int) -> str:
    return fields[index] if len(fields) > index else ""


class _Payment:
    """Mutable state of the payment being read (ST..SE); frozen records come out at SE."""

    __slots__ = (
        "bpr_date",
        "claims",
        "method",
        "payee",
        "payer",
        "production_date",
        "provider",
        "total",
        "trace",
    )

    def __init__(self) -> None:
        self.trace: str | None = None
        self.total: Decimal | None = None
        self.method = ""
        self.payer = ""
        self.payee = ""
        self.bpr_date: date | None = None
        self.production_date: date | None = None
        self.claims: list[ClaimPayment] = []
        self.provider: list[ProviderAdjustment] = []

    def header(self, f: list[str], sub: str, dates: dict[str, date]) -> None:
        """Segments outside the claim loop: BPR, TRN, N1, DTM*405, PLB."""
        tag = f[0]
        if tag == "BPR":
            self.total = Decimal(f[2])
            self.method = _get(f, 4)
            try:
                self.bpr_date = _date(_get(f, 16))
            except ValueError:
                self.bpr_date = None  # missing or impossible BPR16: the DTM*405 date is used
        elif tag == "TRN":
            self.trace = _get(f, 2)
        elif tag == "N1":
            if f[1] == "PR":
                self.payer = _get(f, 2)
            elif f[1] == "PE":
                self.payee = _get(f, 2)
        elif tag == "DTM" and f[1] == "405":
            self.production_date = _cached_date(f[2], dates)
        elif tag == "PLB":
            for i in range(3, min(len(f), 15), 2):
                if f[i]:
                    reason, _, reference = f[i].partition(sub)
                    self.provider.append(ProviderAdjustment(reason, reference, Decimal(f[i + 1])))

    def finish(self) -> RemittancePayment:
        if self.total is None or self.trace is None:
            missing = "BPR (payment amount)" if self.total is None else "TRN (trace number)"
            raise ValueError(f"the transaction has no {missing} segment")
        return RemittancePayment(
            self.trace,
            self.payer,
            self.payee,
            self.method,
            self.bpr_date or self.production_date,
            self.total,
            tuple(self.claims),
            tuple(self.provider),
        )


def _cached_date(text: str, dates: dict[str, date]) -> date:
    found = dates.get(text)
    if found is None:
        found = dates[text] = _date(text)
    return found


class _OpenClaim:
    """The CLP being read, with amounts converted as soon as the segment is seen."""

    __slots__ = ("adjustments", "fields", "money", "services")

    def __init__(self, fields: list[str]) -> None:
        responsibility = _get(fields, 5)
        self.money = (Decimal(fields[3]), Decimal(fields[4]), Decimal(responsibility) if responsibility else _ZERO)
        self.fields = fields
        self.adjustments: list[Adjustment] = []
        self.services: list[ServicePayment] = []

    def frozen(self) -> ClaimPayment:
        f = self.fields
        charged, paid, responsibility = self.money
        return ClaimPayment(
            f[1], _get(f, 7), f[2], charged, paid, responsibility, tuple(self.adjustments), tuple(self.services)
        )


class _OpenService:
    """The SVC being read, with amounts converted as soon as the segment is seen."""

    __slots__ = ("adjustments", "charged", "composite", "paid", "units", "when")

    def __init__(self, fields: list[str]) -> None:
        units = _get(fields, 5)
        self.composite = fields[1]
        self.charged = Decimal(fields[2])
        self.paid = Decimal(fields[3])
        self.units = Decimal(units) if units else _ONE
        self.adjustments: list[Adjustment] = []
        self.when: date | None = None

    def frozen(self, sub: str) -> ServicePayment:
        parts = self.composite.split(sub)
        code = parts[1] if len(parts) > 1 else ""
        adjustments = tuple(self.adjustments)
        return ServicePayment(
            code, self.charged, self.paid, self.units, adjustments, parts[0], tuple(parts[2:]), self.when
        )


def _amount_problem(filename: str, number: int, fields: list[str]) -> ParseError:
    tag = fields[0]
    for index in _AMOUNTS.get(tag, ()):
        value = _get(fields, index)
        try:
            if value:
                Decimal(value)
        except InvalidOperation:
            return ParseError(filename, f"segment {number}", f"{tag}{index:02d} {value!r} is not an amount")
    return ParseError(filename, f"segment {number}", f"the {tag} segment holds a value that is not a number")


def parse_835(data: bytes | str | BinaryIO, filename: str, *, strict: bool = True) -> Iterator[RemittancePayment]:
    """Yield one :class:`RemittancePayment` per 835 transaction, in file order.

    ``data`` may be the file's bytes/text or an open binary file (read in chunks). A damaged
    file raises :class:`ParseError` naming the file, the segment number and the reason; payments
    before the damage have already been yielded, so apply them only after the whole file is read.
    """
    reader = SegmentReader(data, filename, strict=strict)
    payment: _Payment | None = None
    sub = ""
    dates: dict[str, date] = {}  # service dates repeat a lot; parse each text once
    claim: _OpenClaim | None = None
    service: _OpenService | None = None
    number = 0
    fields: list[str] = []
    try:
        for first, batch in reader.batches():
            for number, fields in enumerate(batch, first):
                tag = fields[0]
                if tag == "CAS":
                    if claim is None:
                        raise ValueError("a CAS adjustment appears before any CLP claim")
                    target = service.adjustments if service is not None else claim.adjustments
                    group = fields[1]
                    if len(fields) <= 5:  # the usual single reason/amount(/quantity)
                        target.append(Adjustment(group, fields[2], Decimal(fields[3])))
                    else:
                        for i in range(2, min(len(fields), 20), 3):
                            if fields[i]:
                                target.append(Adjustment(group, fields[i], Decimal(fields[i + 1])))
                elif tag == "SVC":
                    if claim is None:
                        raise ValueError("an SVC service line appears before any CLP claim")
                    if service is not None:
                        claim.services.append(service.frozen(sub))
                    service = _OpenService(fields)
                elif tag == "DTM" and service is not None and fields[1] in ("472", "150"):
                    if fields[1] == "472" or service.when is None:
                        service.when = dates.get(fields[2]) or _cached_date(fields[2], dates)
                elif tag in ("CLP", "SE", "PLB", "LX"):
                    if service is not None and claim is not None:
                        claim.services.append(service.frozen(sub))
                        service = None
                    if claim is not None and payment is not None:
                        payment.claims.append(claim.frozen())
                        claim = None
                    if tag == "CLP":
                        claim = _OpenClaim(fields)
                    elif tag == "SE" and payment is not None:
                        yield payment.finish()
                        payment = None
                    elif payment is not None and tag == "PLB":
                        payment.header(fields, sub, dates)
                elif payment is not None:
                    payment.header(fields, sub, dates)
                elif tag == "ST":
                    if _get(fields, 1) != "835":
                        raise ParseError(
                            filename,
                            f"segment {number}",
                            f"this is not a remittance (835): the transaction is a {_get(fields, 1)!r}",
                        )
                    assert reader.delimiters is not None
                    sub = reader.delimiters.sub_element
                    payment = _Payment()
    except InvalidOperation:
        raise _amount_problem(filename, number, fields) from None
    except IndexError:
        raise ParseError(filename, f"segment {number}", f"the {fields[0]} segment is missing elements") from None
    except ValueError as exc:
        reason = str(exc)
        if fields and fields[0] == "DTM":
            reason = f"DTM date {_get(fields, 2)!r} is not a valid date (CCYYMMDD)"
        raise ParseError(filename, f"segment {number}", reason) from None
