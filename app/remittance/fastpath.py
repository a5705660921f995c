"""The integer fast path of cash application: the engine's postings without Money objects per line.

A line takes the fast path when exactly one loaded claim could be its own (its claim number is
ours and no other claim shares its payer reference or patient) and that claim is in the
remittance's currency. Then :mod:`app.ledger.matching` would match it on claim id with a single
candidate (always confident), and this module classifies it and builds its postings the way
:mod:`app.ledger.cash_application` does, in integer minor units. Every other line (no claim,
several candidates, another currency) goes through :class:`~app.remittance.matcher.Matcher`,
the full engine, with the same running balances. tests/remittance_flow/test_fast_path_equivalence.py
applies random remittances both ways and compares every stored row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from app.db.models import RemittanceLine
from app.ledger.cash_application import GROUP_KIND
from app.ledger.matching import CONFIDENT_SCORE, MatchRule
from app.ledger.postings import (
    WRITE_OFF_KINDS,
    LineApplication,
    Outcome,
    PostingKind,
    UnmatchedLine,
)
from app.ledger.remittance import DENIED_STATUS, REVERSAL_STATUS, Adjustment, AdjustmentGroup, ToleranceRule
from app.ledger.remittance import RemittanceLine as LedgerLine
from app.money import Money, exponent, to_minor
from app.remittance.entries import (
    WRITTEN_OFF_KINDS,
    Entry,
    PostingSums,
    entry,
    routine_split,
)
from app.remittance.matcher import Matcher

GROUPS = {g.value: g.value for g in AdjustmentGroup}  # unknown groups are read as OA
# no adjustment kind moves cash, so an adjustment posting is held exactly when it needs approval or review
_CONTRACTUAL, _CORRECTION = AdjustmentGroup.CONTRACTUAL.value, AdjustmentGroup.CORRECTION.value


class _AdjustmentRule(NamedTuple):
    """What a CAS group and reason become: posting kind, code, memo, and which checks apply."""

    kind: PostingKind
    code: str
    memo: str
    write_off: bool  # checked against the write-off limit
    other: bool  # always reviewed
    text: str  # the kind as text (as journal sums key it)
    patient: bool  # a patient's share (its party is the patient)
    written_off: bool  # reduces what the claim still expects


_SYMBOL = {"GBP": "£", "EUR": "€", "USD": "$"}
_APPLIED_TEXT = str(PostingKind.APPLIED_PAYMENT)
_REVERSAL, _APPLIED, _OVERPAID = PostingKind.REVERSAL, PostingKind.APPLIED_PAYMENT, PostingKind.OVERPAYMENT


def money_str(minor: int, currency: str) -> str:
    """``str(Money(minor, currency))`` ("£1,234.50", "-12.500 KWD") without building a Money."""
    places = exponent(currency)
    whole, frac = divmod(abs(minor), 10**places)
    text = f"{whole:,}.{frac:0{places}d}" if places else f"{whole:,}"
    sign = "-" if minor < 0 else ""
    symbol = _SYMBOL.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def decimal_text(minor: int, places: int) -> str:
    """``money_text(Money(minor, currency))`` ("12.50", "-3.00") for a currency with ``places`` decimals."""
    if not places:
        return str(minor)
    whole, frac = divmod(abs(minor), 10**places)
    return f"{'-' if minor < 0 else ''}{whole}.{frac:0{places}d}"


def minor_units(text: str, currency: str, places: int) -> int:
    """``to_minor(text, currency)`` (``places``: the currency's decimals); plain decimal text ("15.00",
    "-3.5") is converted without Decimal."""
    body = text[1:] if text[:1] == "-" else text
    whole, dot, frac = body.partition(".")
    plain = whole.isascii() and whole.isdigit() and (not dot or (frac.isascii() and frac.isdigit()))
    if not plain or len(frac) > places:
        return to_minor(text, currency)
    scale: int = 10**places
    value = int(whole) * scale + (int(frac.ljust(places, "0")) if frac else 0)
    return -value if body is not text else value


class LineIn(NamedTuple):
    """A stored remittance line in minor units (``position``: its index among all the lines)."""

    position: int
    row_id: int | None  # None: not inserted yet
    claim_id: str | None
    payer_claim_id: str | None
    patient_ref: str | None
    service_date: date | None
    status_code: str
    charged: int
    paid: int
    patient_resp: int
    # (group code, reason code, amount), one per group and reason; unknown groups are OA
    adjustments: tuple[tuple[str, str, int], ...]


class Amounts:
    """:func:`minor_units` for one currency, remembering each text it has read: a remittance
    repeats the same few amounts ("15.00", "80.00") thousands of times."""

    __slots__ = ("currency", "places", "seen")

    LIMIT = 100_000  # distinct texts remembered before starting afresh (memory stays bounded)

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.places = exponent(currency)
        self.seen: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        found = self.seen.get(text)
        if found is None:
            if len(self.seen) >= self.LIMIT:
                self.seen.clear()
            found = self.seen[text] = minor_units(text, self.currency, self.places)
        return found


class MergedAdjustments:
    """The JSON a stored line keeps of a LineIn's adjustments (already one per group and reason):
    ``[{"group", "reason", "amount"}]`` with decimal text, which :func:`line_in` reads back to the
    same adjustments. Remembers each distinct set it has written (remittances repeat a few)."""

    __slots__ = ("places", "seen")

    LIMIT = 10_000

    def __init__(self, currency: str) -> None:
        self.places = exponent(currency)
        self.seen: dict[tuple[tuple[str, str, int], ...], str] = {}

    def __call__(self, adjustments: tuple[tuple[str, str, int], ...]) -> str:
        found = self.seen.get(adjustments)
        if found is None:
            if len(self.seen) >= self.LIMIT:
                self.seen.clear()
            items = [{"group": g, "reason": r, "amount": decimal_text(a, self.places)} for g, r, a in adjustments]
            found = self.seen[adjustments] = json.dumps(items) if items else "[]"
        return found


def _adjustments(raw: list[dict[str, str]], amounts: Amounts) -> list[tuple[str, str, int]]:
    return [(GROUPS.get(a["group"], "OA"), a["reason"], amounts(a["amount"])) for a in raw]


# the columns of a stored line that line_in reads, in its order
LINE_IN_COLUMNS = (
    RemittanceLine.id,
    RemittanceLine.claim_ref,
    RemittanceLine.payer_claim_ref,
    RemittanceLine.patient_ref,
    RemittanceLine.service_date,
    RemittanceLine.status_code,
    RemittanceLine.charged_minor,
    RemittanceLine.paid_minor,
    RemittanceLine.patient_resp_minor,
    RemittanceLine.adjustments_json,
    RemittanceLine.services_json,
    RemittanceLine.applied,
)


def line_in(index: int, row: Any, currency: str) -> LineIn:
    """A remittance_line row (id, claim_ref, payer_claim_ref, patient_ref, service_date, status_code,
    charged, paid, patient_resp, adjustments_json, services_json, applied) as a LineIn."""
    *fields, adj_json, svc_json, _ = row
    adjustments = json.loads(adj_json) if adj_json != "[]" else []
    services = json.loads(svc_json) if svc_json else []  # "": kept in remittance.json only
    return stored_line(index, fields, adjustments, services, Amounts(currency))


def stored_line(
    index: int,
    fields: Sequence[Any],
    adjustments: list[dict[str, str]],
    services: list[dict[str, Any]],
    amounts: Amounts,
) -> LineIn:
    """A line as stored: ``fields`` are the row's (id, claim_ref, payer_claim_ref, patient_ref,
    service_date, status_code, charged, paid, patient_resp); ``adjustments`` and ``services`` are
    what its adjustments_json and services_json hold, decoded (or not yet encoded). ``id`` is None
    for a line not inserted yet (see ingest.store_payment)."""
    rid, claim_ref, payer_ref, patient_ref, day, status, charged, paid, resp = fields
    found = _adjustments(adjustments, amounts) if adjustments else []
    for service in services:
        found += _adjustments(service.get("adjustments", []), amounts)
    if len(found) > 1:  # one adjustment per group and reason, as ledger RemittanceLine.merged()
        merged: dict[tuple[str, str], int] = {}
        for group, reason, amount in found:
            merged[group, reason] = merged.get((group, reason), 0) + amount
        if len(merged) < len(found):
            found = [(group, reason, amount) for (group, reason), amount in merged.items()]
    return LineIn(
        index,
        rid,
        claim_ref or None,
        payer_ref or None,
        patient_ref or None,
        day,
        status,
        charged,
        paid,
        resp,
        tuple(found),
    )


def ledger_line(line: LineIn, currency: str) -> LedgerLine:
    """The engine's record of a line (for the lines the fast path hands over)."""
    return LedgerLine(
        line.claim_id,
        line.payer_claim_id,
        line.patient_ref,
        line.service_date,
        line.status_code,
        Money(line.charged, currency),
        Money(line.paid, currency),
        Money(line.patient_resp, currency),
        tuple(Adjustment(AdjustmentGroup(g), r, Money(a, currency)) for g, r, a in line.adjustments),
    )


class Applied(NamedTuple):
    """A line applied to one claim (claim_id: the claim number). ``postings``: those to store as
    rows (see :mod:`app.remittance.entries`); the routine ones are counted in ``routine``, added to
    the matcher's sums, and rebuilt by ``derived_entries(line.adjustments, ..., cash, ...)``."""

    line: LineIn
    claim_id: str
    rule: MatchRule
    score: int
    outcome: Outcome
    explanation: tuple[str, ...]
    postings: tuple[Entry, ...]
    cash: int  # applied to the claim's balance by the plain cash posting <prefix>:1
    written_off: int  # routine write-offs (contractual, corrections)
    routine: int  # how many routine postings
    patient_ref: str | None  # the claim's patient (party of a patient's share)


class Unapplied(NamedTuple):
    """A line no claim matched confidently (``detail`` keeps the ranked candidates)."""

    line: LineIn
    detail: UnmatchedLine
    postings: tuple[Entry, ...]


def _tolerance(rules: Mapping[str, ToleranceRule], payer: str, currency: str) -> ToleranceRule:
    rule = rules.get(payer) or rules.get("*")
    return rule if rule is not None else ToleranceRule(payer, Money.zero(currency))


@dataclass
class FastMatcher:
    """Applies lines in file order: the fast path when it is sure, the full engine otherwise."""

    engine: Matcher

    def __post_init__(self) -> None:
        m = self.engine
        self.currency = m.currency
        self.rule = _tolerance(m.rules, m.payer_code, m.currency)
        self.limit = m.limit.minor
        self.over_limit = f" above the {m.limit} limit: needs a manager's approval"
        self.adjustment_rules: dict[tuple[str, str], _AdjustmentRule] = {}
        self.fast_lines = 0
        self.texts: dict[int, str] = {}  # money_str of amounts seen (a remittance repeats a few)
        # every posting merged as a summarised journal merges them (routine ones are not built)
        self.applied_sums, self.unmatched_sums, self.order = PostingSums(), PostingSums(), 0

    def _money(self, minor: int) -> str:
        """``money_str(minor, currency)``, remembered."""
        found = self.texts.get(minor)
        if found is None:
            if len(self.texts) >= Amounts.LIMIT:
                self.texts.clear()
            found = self.texts[minor] = money_str(minor, self.currency)
        return found

    def apply(self, line: LineIn) -> Applied | Unapplied:
        number = self._only_claim(line)
        if number is None:
            return self._engine(line)
        applied = self._fast(line, number)
        if applied is None:
            return self._engine(line)
        self.fast_lines += 1
        return applied

    def _engine(self, line: LineIn) -> Applied | Unapplied:
        out = self.engine.apply(line.position, ledger_line(line, self.currency))
        postings = tuple(entry(p) for p in out.postings)
        if isinstance(out, LineApplication):
            for e in postings:
                self.applied_sums.add_entry(e, self._next())
            prefix = f"{self.engine.remittance_id}:{line.position}"
            rows, written_off, cash = routine_split(postings, prefix)
            patient = self.engine.claims[out.claim_id].patient_ref
            routine = len(postings) - len(rows)
            return Applied(
                line,
                out.claim_id,
                out.rule,
                out.score,
                out.outcome,
                out.explanation,
                tuple(rows),
                cash,
                written_off,
                routine,
                patient,
            )
        for e in postings:
            self.unmatched_sums.add_entry(e, self._next())
        return Unapplied(line, out, postings)

    def _next(self) -> int:
        self.order += 1
        return self.order

    def _only_claim(self, line: LineIn) -> str | None:
        """The claim number when exactly one loaded claim could be the line's (the engine's
        candidate_numbers(line) == {line's claim id}) and it is in the remittance's currency."""
        claim_id = line.claim_id
        if not claim_id:
            return None
        by_key = self.engine.by_key
        numbers = by_key.get(("n", claim_id))
        if numbers is None or len(numbers) != 1:
            return None
        for key in (("r", line.payer_claim_id), ("p", line.patient_ref)):
            if key[1]:
                others = by_key.get(key)  # type: ignore[arg-type]
                if others is not None and others != numbers:
                    return None
        (number,) = numbers
        if number != claim_id.strip() or self.engine.claims[number].currency != self.currency:
            return None
        return number

    def _fast(self, line: LineIn, number: str) -> Applied | None:
        m = self.engine
        c = m.claims[number]
        why = ["matched on claim id"]
        score = 100
        if c.payer_code == m.payer_code:
            score += 5
        else:
            score -= 15
            why.append(f"claim is billed to {c.payer_code}, remittance is from {m.payer_code}")
        if line.charged != c.total:
            score -= 5
            ours = self._money(c.total)
            why.append(f"charged {self._money(line.charged)} on the remittance, {ours} on our claim")
        if line.service_date is not None and line.service_date != c.service_date:
            score -= 5
            why.append(f"service date {line.service_date} on the remittance, {c.service_date} on our claim")
        if line.patient_ref and line.patient_ref != c.patient_ref:
            score -= 5
            why.append(f"patient {line.patient_ref} on the remittance, {c.patient_ref} on our claim")
        if score < CONFIDENT_SCORE:
            return None
        already, outstanding = m.balance(number)
        outcome, reason = self._classify(line, c.total, already)
        prefix = f"{m.remittance_id}:{line.position}"
        paid = line.paid
        sums, patient = self.applied_sums, c.patient_ref
        postings: list[Entry] = []  # to store: all but the routine ones, which go to the sums only
        if paid < 0:
            beyond = -paid > max(already, 0)
            memo = "takeback larger than what was paid on this claim" if beyond else "takeback of earlier payment"
            e = Entry(f"{prefix}:1", _REVERSAL, paid, number, patient, "", memo, False, beyond, False)
            postings.append(e)
            sums.add_entry(e, self._next())
            cash, applied_cash = paid, 0
        else:
            cash = applied_cash = min(paid, max(outstanding, 0))
            if cash:
                sums.add(_APPLIED_TEXT, False, "", "", cash, self._next())
            if paid - cash:
                memo = f"paid {self._money(paid - cash)} more than the {self._money(outstanding)} outstanding"
                e = Entry(f"{prefix}:2", _OVERPAID, paid - cash, number, None, "", memo, False, True, False)
                postings.append(e)
                sums.add_entry(e, self._next())
        routine = 1 if applied_cash else 0
        moved = written_off = 0
        denial = line.status_code == DENIED_STATUS or (line.status_code != REVERSAL_STATUS and paid == 0)
        rules = self.adjustment_rules
        for n, (group, reason_code, amount) in enumerate(line.adjustments, start=1):
            if not amount:
                continue
            rule = rules.get((group, reason_code)) or self._adjustment_rule(group, reason_code)
            above = rule.write_off and abs(amount) > self.limit
            review = rule.other or (denial and rule.write_off)
            moved += amount
            if not (above or review):  # routine: rebuilt by derived_entries, never stored
                routine += 1
                party = (patient or "") if rule.patient else ""
                sums.add(rule.text, False, "", party, amount, self._next())
                if rule.written_off:
                    written_off += amount
                continue
            memo = rule.memo + self.over_limit if above else rule.memo
            e = Entry(f"{prefix}:a{n}", rule.kind, amount, number, patient, rule.code, memo, above, review, True)
            postings.append(e)
            sums.add_entry(e, self._next())
        m.balances[number] = (already + paid, outstanding - cash - moved)
        why.append(reason)
        return Applied(
            line,
            number,
            MatchRule.CLAIM_ID,
            score,
            outcome,
            tuple(why),
            tuple(postings),
            applied_cash,
            written_off,
            routine,
            patient,
        )

    def _adjustment_rule(self, group: str, reason_code: str) -> _AdjustmentRule:
        kind = GROUP_KIND[group]
        code = f"{group}-{reason_code}"
        rule = _AdjustmentRule(
            kind,
            code,
            f"{code}: {kind.value}",
            kind in WRITE_OFF_KINDS,
            kind is PostingKind.OTHER_ADJUSTMENT,
            str(kind),
            kind is PostingKind.PATIENT_RESPONSIBILITY,
            kind in WRITTEN_OFF_KINDS,
        )
        self.adjustment_rules[group, reason_code] = rule
        return rule

    def _classify(self, line: LineIn, total: int, already: int) -> tuple[Outcome, str]:
        paid = line.paid
        if line.status_code == REVERSAL_STATUS:
            return Outcome.REVERSAL, (
                f"payer reversed {self._money(abs(paid))} previously paid (takeback); "
                f"claim had {self._money(already)} paid"
            )
        if line.status_code == DENIED_STATUS or paid == 0:
            codes = ", ".join(f"{g}-{r}" for g, r, _ in line.adjustments) or "none given"
            return Outcome.DENIAL, f"payer denied the claim (paid {self._money(paid)}); reasons: {codes}"
        contractual = 0
        for group, _, amount in line.adjustments:
            if group == _CORRECTION:
                return Outcome.CORRECTION, f"corrected payment of {self._money(paid)} (CR adjustments present)"
            if group == _CONTRACTUAL:
                contractual += amount
        expected = total - contractual - already - line.patient_resp
        diff = paid - expected
        if diff == 0:
            return Outcome.FULL_PAYMENT, f"paid {self._money(paid)}, exactly as expected"
        allowance = self.rule.allowance(Money(expected, self.currency)).minor
        within = self._money(allowance)
        if abs(diff) <= allowance:
            if diff > 0:
                return (
                    Outcome.FULL_PAYMENT,
                    f"paid {self._money(diff)} more than expected, within tolerance {within}",
                )
            short = self._money(-diff)
            return Outcome.PARTIAL_PAYMENT, f"paid {short} less than expected, within tolerance {within}"
        if diff > 0:
            return Outcome.OVERPAYMENT, f"paid {self._money(diff)} more than expected {self._money(expected)}"
        return Outcome.UNDERPAYMENT, (
            f"paid {self._money(-diff)} less than expected {self._money(expected)}, beyond tolerance {within}"
        )
