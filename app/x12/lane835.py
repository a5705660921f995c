"""Fast lane for 835 remittances: one pass from the file's bytes to what remittance import stores.

:func:`read_835_lane` yields, per payment (ST..SE), exactly what the reference chain gives today
(:func:`app.x12.x835.parse_835` → :func:`app.x12.remittance.payment_dict` → the line fields,
adjustments/services JSON, :func:`app.remittance.fastpath.stored_line` and
:func:`app.x12.remittance.claim_json` of ``ingest.store_payment``), but without a ``Decimal``
or a dataclass per claim: amounts and JSON fragments are remembered by their raw segment text,
and claims are put together from those fragments.

The lane only reads files it is sure about. On anything else (an unexpected segment, an amount
or date it cannot read, an envelope count or control number that is off, odd delimiters...) it
never raises an error of its own: the reference parser reads the whole file again, the payments
already yielded are skipped and the rest are converted through the reference chain
(:func:`from_reference`), so the reference's ParseError surfaces exactly as it does today.
The file is read in windows of about 1 MB, so memory stays flat whatever its size.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _esc
from typing import Any, Final

from app.remittance.fastpath import GROUPS, Amounts, LineIn, stored_line
from app.x12.remittance import ClaimPayment, RemittancePayment, claim_json, payment_dict, payment_json
from app.x12.segments import ISA_LENGTH, read_delimiters
from app.x12.x835 import parse_835

__all__ = ["LanePayment", "from_reference", "read_835_lane"]

ClaimFields = tuple[str, str, str, date | None, str, int, int, int]
Adjusted = tuple[str, str, int]

_WINDOW: Final = 1 << 20  # bytes decoded and split at a time
_MEMO_LIMIT: Final = 50_000  # distinct segment/amount texts remembered before starting afresh
_ISA_WIDTHS: Final = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
_CONTROL: Final = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA", "TA1"})

# What a segment is to the lane (first item of its classification tuple).
_IGNORE, _CAS, _SVC, _DTM, _CLP, _CLOSE, _OTHER = range(7)
_IGNORED: Final = (_IGNORE,)


@dataclass(slots=True)
class LanePayment:
    """One 835 payment as remittance import stores it (claims aligned across the lists)."""

    trace_number: str
    payer: str
    payee: str
    method: str
    date: date | None
    total_paid: str  # payment_dict(p)["total_paid"]
    provider_adjustments: list[dict[str, str]]  # payment_dict(p)["provider_adjustments"]
    fields: list[ClaimFields]  # (claim id[:40], payer claim id[:60], "", service date, status[:4], minor x3)
    adjustments_json: list[str]  # per claim: json.dumps(claim["adjustments"])
    services_json: list[str]  # per claim: json.dumps(claim["services"])
    lines: list[LineIn]  # per claim: stored_line(i, (None, *fields[i]), ...)
    claims_json: list[str]  # per claim: claim_json(claim, adjustments_json[i], services_json[i])
    by_reference: bool = False  # True when the reference parser read this payment (lane fell back)

    def text(self) -> str:
        """remittance.json of the payment: ``payment_json(payment_dict(p), claims_json)``."""
        head = {
            "trace_number": self.trace_number,
            "payer": self.payer,
            "payee": self.payee,
            "method": self.method,
            "date": self.date.isoformat() if self.date else None,
            "total_paid": self.total_paid,
            "claims": [],
            "provider_adjustments": self.provider_adjustments,
        }
        return payment_json(head, self.claims_json)


def read_835_lane(data: bytes, filename: str, currency: str) -> Iterator[LanePayment]:
    """Payments of an 835 in file order, each yielded once its SE has been read and checked.

    Raises exactly what the reference chain raises (ParseError naming file, segment and reason),
    at the same payment or later: whatever the lane is unsure about is read by the reference.
    """
    done = 0
    lane = _lane(data, filename, currency)
    while True:
        try:
            payment = next(lane)
        except StopIteration:
            return
        except Exception:  # any doubt at all: the reference parser decides
            break
        done += 1
        yield payment
    for index, reference in enumerate(parse_835(data, filename)):
        if index >= done:
            yield from_reference(reference, currency)


def first_service_date(claim: ClaimPayment) -> date | None:
    """The service date a remittance line stores: its first service line's."""
    return next((s.service_date for s in claim.services if s.service_date), None)


def json_list(items: list[Any]) -> str:
    """``json.dumps(items)`` (as ``ingest._json_list``)."""
    return json.dumps(items) if items else "[]"


def from_reference(
    payment: RemittancePayment,
    currency: str,
    patient_refs: Sequence[str] = (),
    service_dates: Sequence[date | None] | None = None,
) -> LanePayment:
    """One parsed payment of any source as remittance import stores it (also the lane's test
    oracle). ``patient_refs`` and ``service_dates``: per claim, what an insurer XML or CSV file
    gives (an 835's service date is its claim's first service line date: ``service_dates`` None)."""
    doc = payment_dict(payment)
    amounts = Amounts(currency)
    out = LanePayment(
        payment.trace_number,
        payment.payer,
        payment.payee,
        payment.method,
        payment.date,
        doc["total_paid"],
        doc["provider_adjustments"],
        [],
        [],
        [],
        [],
        [],
        by_reference=True,
    )
    for i, (c, claim) in enumerate(zip(doc["claims"], payment.claims, strict=True)):
        fields: ClaimFields = (
            c["claim_id"][:40],
            c["payer_claim_id"][:60],
            (patient_refs[i] if patient_refs else "")[:40],
            first_service_date(claim) if service_dates is None else (service_dates[i] if service_dates else None),
            c["status_code"][:4],
            amounts(c["charged"]),
            amounts(c["paid"]),
            amounts(c["patient_responsibility"]),
        )
        adjustments, services = c["adjustments"], c["services"]
        adjustments_json, services_json = json_list(adjustments), json_list(services)
        out.fields.append(fields)
        out.adjustments_json.append(adjustments_json)
        out.services_json.append(services_json)
        out.lines.append(stored_line(i, (None, *fields), adjustments, services, amounts))
        out.claims_json.append(claim_json(c, adjustments_json, services_json))
    return out


class _Unsure(Exception):
    """The lane is not sure about the file: the reference parser reads it."""


def _day(text: str) -> date:
    """As the reference's x835._date (CCYYMMDD)."""
    if len(text) != 8 or not text.isdigit():
        raise ValueError(text)
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


def _valid_id(tag: str) -> bool:
    return 2 <= len(tag) <= 3 and tag[0].isalpha() and tag.isalnum() and tag.isupper() and tag.isascii()


def _merged(found: tuple[Adjusted, ...]) -> tuple[Adjusted, ...]:
    """One adjustment per group and reason, as stored_line merges them."""
    merged: dict[tuple[str, str], int] = {}
    for group, reason, amount in found:
        merged[group, reason] = merged.get((group, reason), 0) + amount
    if len(merged) < len(found):
        return tuple((group, reason, amount) for (group, reason), amount in merged.items())
    return found


class _Segments:
    """What the lane knows about segment texts: classifications and amounts, remembered."""

    def __init__(self, element: str, sub: str, currency: str) -> None:
        self.element = element
        self.sub = sub
        self.amounts = Amounts(currency)
        self.memo: dict[str, tuple[Any, ...]] = {}
        self.money_memo: dict[str, tuple[str, int]] = {}
        self.text_memo: dict[str, str] = {}
        self.merges: dict[tuple[Adjusted, ...], tuple[Adjusted, ...]] = {}
        self.ignored: set[str] = set()

    def text(self, raw: str) -> str:
        """``str(Decimal(raw))``: the amount text of payment_dict."""
        found = self.text_memo.get(raw)
        if found is None:
            if len(self.text_memo) >= _MEMO_LIMIT:
                self.text_memo.clear()
            found = self.text_memo[raw] = str(Decimal(raw))
        return found

    def money(self, raw: str) -> tuple[str, int]:
        """(amount text, minor units) of an amount stored in minor units."""
        found = self.money_memo.get(raw)
        if found is None:
            if len(self.money_memo) >= _MEMO_LIMIT:
                self.money_memo.clear()
            text = self.text(raw)
            found = self.money_memo[raw] = (text, self.amounts(text))
        return found

    def merged(self, found: list[Adjusted]) -> tuple[Adjusted, ...]:
        key = tuple(found)
        done = self.merges.get(key)
        if done is None:
            if len(self.merges) >= _MEMO_LIMIT:
                self.merges.clear()
            done = self.merges[key] = _merged(key)
        return done

    def classify(self, seg: str) -> tuple[Any, ...]:
        """A segment the memo does not know: what it is, with what the lane needs of it."""
        cut = seg.find(self.element)
        tag = seg if cut < 0 else seg[:cut]
        if tag in self.ignored:
            return _IGNORED
        f = seg.split(self.element)
        if tag == "CLP":
            return (_CLP, f)
        if tag in ("SE", "PLB", "LX"):
            return (_CLOSE, f)
        if tag in ("CAS", "SVC", "DTM"):
            found = self._cas(f) if tag == "CAS" else self._svc(f) if tag == "SVC" else self._dtm(f)
            if len(self.memo) >= _MEMO_LIMIT:
                self.memo.clear()
            self.memo[seg] = found
            return found
        if tag in ("BPR", "TRN", "N1") or (tag in _CONTROL and tag != "TA1"):
            return (_OTHER, f)
        if not _valid_id(tag) or tag in _CONTROL:
            raise _Unsure(f"segment {tag!r}")
        self.ignored.add(tag)
        return _IGNORED

    def _cas(self, f: list[str]) -> tuple[Any, ...]:
        group = f[1]
        if len(f) <= 5:
            pairs = [(f[2], f[3])]
        else:
            pairs = [(f[i], f[i + 1]) for i in range(2, min(len(f), 20), 3) if f[i]]
        head = f'{{"group": {_esc(group)}, "reason": '
        mapped = GROUPS.get(group, "OA")
        frags, items = [], []
        for reason, raw in pairs:
            text, minor = self.money(raw)
            frags.append(f'{head}{_esc(reason)}, "amount": {_esc(text)}}}')
            items.append((mapped, reason, minor))
        return (_CAS, ", ".join(frags), items)

    def _svc(self, f: list[str]) -> tuple[Any, ...]:
        parts = f[1].split(self.sub)
        code = parts[1] if len(parts) > 1 else ""
        charged, paid = self.text(f[2]), self.text(f[3])
        units = f[5] if len(f) > 5 else ""
        units = self.text(units) if units else "1"
        return (
            _SVC,
            f'{{"code": {_esc(code)}, "charged": {_esc(charged)}, "paid": {_esc(paid)}, '
            f'"units": {_esc(units)}, "adjustments": [',
        )

    def _dtm(self, f: list[str]) -> tuple[Any, ...]:
        qualifier = f[1]
        if qualifier in ("472", "150"):
            try:
                return (_DTM, qualifier == "472", _day(f[2]))
            except (IndexError, ValueError):
                return (_DTM, True, None)  # an error only inside a service line
        if qualifier == "405":
            return (_OTHER, f, _day(f[2]))
        return _IGNORED


def _start(data: bytes, filename: str) -> tuple[int, str, str, str]:
    """Where the ISA starts and its (element, sub-element, segment) separators."""
    pos, n = 0, len(data)
    while pos < n:
        if data.startswith(b"\xef\xbb\xbf", pos):
            pos += 3
        elif data[pos] in b" \t\r\n":
            pos += 1
        else:
            break
    head = data[pos : pos + 2 * ISA_LENGTH].decode("utf-8", "replace")
    if not head.startswith("ISA") or not head[:ISA_LENGTH].isascii():
        raise _Unsure("ISA header")
    d = read_delimiters(head, filename)
    seps = (d.element, d.sub_element, d.segment)
    if not "".join(seps).isascii() or d.sub_element == d.element or any(c in "\r\n" for c in seps):
        raise _Unsure("delimiters")
    return pos, d.element, d.sub_element, d.segment


def _count_ok(text: str, actual: int) -> bool:
    return text.isascii() and text.isdigit() and int(text) == actual


def _get(f: list[str], index: int) -> str:
    return f[index] if len(f) > index else ""


def _windows(data: bytes, pos: int, term: str) -> Iterator[list[str]]:
    """Segment texts, about 1 MB at a time; newlines removed as the reference reader does."""
    view, term_b, n = memoryview(data), term.encode("ascii"), len(data)
    while pos < n:
        end = data.rfind(term_b, pos, pos + _WINDOW)
        if end < 0:
            end = data.find(term_b, pos + _WINDOW)
            if end < 0:
                break
        text = str(view[pos : end + 1], "utf-8", "replace")
        pos = end + 1
        if "\n" in text or "\r" in text:
            text = text.replace("\r", "").replace("\n", "")
        segs = text.split(term)
        segs.pop()  # after the last terminator
        if "" in segs:
            segs = [s for s in segs if s]
        yield segs
    tail = str(view[pos:], "utf-8", "replace").replace("\r", "").replace("\n", "")
    if tail.strip(" \t\x00\x1a"):
        raise _Unsure("unterminated last segment")


def _lane(data: bytes, filename: str, currency: str) -> Iterator[LanePayment]:
    pos, element, sub, term = _start(data, filename)
    known = _Segments(element, sub, currency)
    memo_get, classify, money, merged = known.memo.get, known.classify, known.money, known.merged
    number = state = groups = sets = st_at = 0
    isa_ctrl = gs_ctrl = st_ctrl = ""
    set_ids: set[str] = set()
    in_st = claim_open = svc_open = sflag = False
    # the payment being read
    trace: str | None = None
    total: str | None = None
    method = payer = payee = ""
    bpr_date: date | None = None
    production: date | None = None
    plb: list[dict[str, str]] = []
    fields_l: list[ClaimFields] = []
    adj_l: list[str] = []
    svc_l: list[str] = []
    lines_l: list[LineIn] = []
    claims_l: list[str] = []
    # the claim being read
    head = cid = pcid = status = ""
    charged = paid = resp = 0
    when: date | None = None
    day: date | None = None
    parts: list[str] = []
    cadj: list[str] = []
    found: list[Adjusted] = []
    for segs in _windows(data, pos, term):
        for number, seg in enumerate(segs, number + 1):  # noqa: B020 - the count carries on
            hit = memo_get(seg)
            if hit is None:
                hit = classify(seg)
            kind = hit[0]
            if kind == _CAS:
                if not claim_open:
                    raise _Unsure("CAS outside a claim")
                if hit[1]:
                    if svc_open:
                        if sflag:
                            parts.append(", ")
                        parts.append(hit[1])
                        sflag = True
                    else:
                        cadj.append(hit[1])
                    found += hit[2]
            elif kind == _IGNORE:
                if not in_st:
                    raise _Unsure("segment outside a transaction")
            elif kind == _SVC:
                if not claim_open:
                    raise _Unsure("SVC outside a claim")
                if svc_open:
                    parts.append("]}, ")
                    if day is None:
                        day = when
                parts.append(hit[1])
                svc_open, sflag, when = True, False, None
            elif kind == _DTM:
                if svc_open:
                    if hit[2] is None:
                        raise _Unsure("service date")
                    if hit[1] or when is None:
                        when = hit[2]
                elif not in_st:
                    raise _Unsure("segment outside a transaction")
            elif kind == _CLP or kind == _CLOSE:
                if not in_st:
                    raise _Unsure("segment outside a transaction")
                if claim_open:
                    if svc_open:
                        parts.append("]}")
                        if day is None:
                            day = when
                        svc_open = False
                    aj = "[" + ", ".join(cadj) + "]" if cadj else "[]"
                    sj = "[" + "".join(parts) + "]" if parts else "[]"
                    c40, p60, s4 = cid[:40], pcid[:60], status[:4]
                    fields_l.append((c40, p60, "", day, s4, charged, paid, resp))
                    adj_l.append(aj)
                    svc_l.append(sj)
                    adjusted = merged(found) if len(found) > 1 else tuple(found)
                    lines_l.append(
                        LineIn(
                            len(lines_l), None, c40 or None, p60 or None, None, day, s4, charged, paid, resp, adjusted
                        )
                    )
                    claims_l.append(f'{head}{aj}, "services": {sj}}}')
                    claim_open = False
                f = hit[1]
                tag = f[0]
                if kind == _CLP:
                    ct, charged = money(f[3])
                    pt, paid = money(f[4])
                    rt, resp = money(f[5]) if len(f) > 5 and f[5] else ("0", 0)
                    cid, status, pcid = f[1], f[2], _get(f, 7)
                    head = (
                        f'{{"claim_id": {_esc(cid)}, "payer_claim_id": {_esc(pcid)}, "status_code": {_esc(status)}, '
                        f'"charged": {_esc(ct)}, "paid": {_esc(pt)}, "patient_responsibility": {_esc(rt)}, '
                        '"adjustments": '
                    )
                    parts, cadj, found = [], [], []
                    day = when = None
                    claim_open = True
                elif tag == "SE":
                    if not _count_ok(_get(f, 1), number - st_at + 1) or _get(f, 2) != st_ctrl:
                        raise _Unsure("SE count or control number")
                    if total is None or trace is None:
                        raise _Unsure("no BPR or TRN")
                    state, in_st = 2, False
                    yield LanePayment(
                        trace,
                        payer,
                        payee,
                        method,
                        bpr_date or production,
                        total,
                        plb,
                        fields_l,
                        adj_l,
                        svc_l,
                        lines_l,
                        claims_l,
                    )
                elif tag == "PLB":
                    for i in range(3, min(len(f), 15), 2):
                        if f[i]:
                            reason, _, reference = f[i].partition(sub)
                            plb.append({"reason": reason, "reference": reference, "amount": known.text(f[i + 1])})
            else:  # BPR, TRN, N1, DTM*405 and the envelope
                f = hit[1]
                tag = f[0]
                if tag in ("BPR", "TRN", "N1", "DTM"):
                    if not in_st:
                        raise _Unsure("segment outside a transaction")
                    if tag == "BPR":
                        total, method = known.text(f[2]), _get(f, 4)
                        try:
                            bpr_date = _day(_get(f, 16))
                        except ValueError:
                            bpr_date = None
                    elif tag == "TRN":
                        trace = _get(f, 2)
                    elif tag == "DTM":
                        production = hit[2]
                    elif f[1] == "PR":
                        payer = _get(f, 2)
                    elif f[1] == "PE":
                        payee = _get(f, 2)
                elif tag == "ST":
                    st_ctrl = _get(f, 2)
                    if state != 2 or st_ctrl in set_ids or _get(f, 1) != "835":
                        raise _Unsure("ST")
                    set_ids.add(st_ctrl)
                    state, in_st, st_at, sets = 3, True, number, sets + 1
                    trace = total = bpr_date = production = None
                    method = payer = payee = ""
                    plb, fields_l, adj_l, svc_l, lines_l, claims_l = [], [], [], [], [], []
                elif tag == "GS" and state == 1:
                    state, gs_ctrl, sets, set_ids = 2, _get(f, 6), 0, set()
                elif tag == "GE" and state == 2 and _count_ok(_get(f, 1), sets) and _get(f, 2) == gs_ctrl:
                    state, groups = 1, groups + 1
                elif tag == "ISA" and state == 0 and len(f) == 17:
                    if any(len(f[i]) != _ISA_WIDTHS[i - 1] for i in range(1, 17)):
                        raise _Unsure("ISA")
                    state, isa_ctrl, groups = 1, f[13], 0
                elif tag == "IEA" and state == 1 and _count_ok(_get(f, 1), groups) and _get(f, 2) == isa_ctrl:
                    state = 0
                else:
                    raise _Unsure(f"envelope segment {tag}")
    if state or not number:
        raise _Unsure("the file ends inside an envelope")
