"""The bulk fast path writes exactly what the per-line engine wrote: every row of every table.

Random clinics and remittances (claim ids with spaces, unknown ids, shared payer refs and
patients, every CLP status, CAS groups CO/PR/OA/PI/CR and unknown ones, zero and negative
amounts, reversals after payments, PLBs, unbalanced payments, tolerances, write-off limits,
old and foreign-currency claims) are applied by app.remittance.apply and by the frozen copy
of the previous code (tests/remittance_flow/legacy) on two copies of one database; then a
claim is added for an unmatched line and matching is re-run on both. Every table is compared
row by row (claims, invoices, postings, journals, lines, tasks, artefacts, the audit chain).
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.archive import artefact_bytes
from app.audit import SYSTEM, Actor
from app.claims.artefacts import ArtefactStore
from app.clock import FixedClock
from app.context import AppContext
from app.db.models import (
    Base,
    Claim,
    Clinic,
    Encounter,
    Invoice,
    LedgerPosting,
    Patient,
    Payer,
    Practitioner,
    Remittance,
    RemittanceLine,
)
from app.domain.status import ClaimStatus, InsurerChannelKind, PayerKind, RemittanceStatus, Role
from app.errors import DomainError
from app.money import Money, to_minor
from app.paths import AppPaths
from app.remittance import apply as apply_module
from app.remittance import apply as fast_apply
from app.remittance.cash_csv import cash_application_csv
from app.remittance.fastpath import FastMatcher, decimal_text, minor_units, money_str
from app.remittance.postings import remittance_postings
from app.settings import set_setting
from app.users import create_user
from tests.remittance_flow.legacy import apply as legacy_apply

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
PAYERS = ("aetna", "bupa")
PATIENTS = ("P001", "P002", "P003")
GROUPS = ("CO", "CO", "CO", "PR", "PR", "OA", "PI", "CR", "XX")
STATUSES = ("1", "1", "1", "2", "3", "4", "19", "22")
Apply = Callable[..., Any]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with users, a clinic, payers and patients (copied for every case)."""
    folder = tmp_path_factory.mktemp("template")
    ctx = AppContext.open(folder / "t.sqlite3", clock=FixedClock(NOW), paths=AppPaths(folder, folder / "logs"))
    with ctx.db.unit_of_work() as s:
        create_user(s, ctx.clock, SYSTEM, "manager", "Maya Patel", Role.MANAGER, "2222")
        s.add(Clinic(id=1, name="Riverside Clinic"))
        s.flush()
        s.add(Practitioner(id=1, clinic_id=1, name="Dr Lee"))
        for n, code in enumerate(PAYERS, start=1):
            s.add(Payer(id=n, code=code, name=code.upper(), kind=PayerKind.INSURER, channel=InsurerChannelKind.X12))
        for n, ref in enumerate(PATIENTS, start=1):
            s.add(Patient(id=n, clinic_id=1, ref=ref, first_name="Jane", last_name=ref))
    ctx.db.engine.dispose()
    ctx.close()
    return folder / "t.sqlite3"


@dataclass
class Case:
    ctx: AppContext
    store: ArtefactStore
    actor: Actor


@pytest.fixture
def open_case(template: Path, tmp_path: Path) -> Iterator[Callable[[str], Case]]:
    opened: list[AppContext] = []

    def make(name: str) -> Case:
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(template, folder / "db.sqlite3")
        ctx = AppContext.open(folder / "db.sqlite3", clock=FixedClock(NOW), paths=AppPaths(folder, folder / "logs"))
        opened.append(ctx)
        return Case(ctx, ArtefactStore(ctx.paths.archive), Actor(1, "manager", Role.MANAGER))

    yield make
    for ctx in opened:
        ctx.close()


def _amount(rng: random.Random, top: int = 20000) -> str:
    minor = rng.choice((0, rng.randint(1, top), rng.randint(1, top), 1500, 500))
    text = f"{minor // 100}.{minor % 100:02d}"
    return rng.choice((text, text, text, str(minor // 100), f"{text}5", f"{minor // 100}.{(minor % 100) // 10}"))


def _world(rng: random.Random) -> dict[str, Any]:
    """Claims, prior write-offs, settings and one remittance, as plain data."""
    claims: list[dict[str, Any]] = []
    for i in range(rng.randint(1, 25)):
        total = rng.choice((10000, 20000, rng.randint(100, 50000)))
        status = rng.choice(
            [*(ClaimStatus.SUBMITTED,) * 4, ClaimStatus.PAID, ClaimStatus.PARTLY_PAID, ClaimStatus.DENIED]
        )
        status = rng.choice((status, status, status, ClaimStatus.ACKNOWLEDGED, ClaimStatus.DRAFT))
        claims.append(
            {
                "number": f"CLM{i:04d}",
                "insurer_ref": rng.choice(("", "", f"PCN{i}", f"PCN{rng.randint(0, 5)}")),
                "patient": rng.randint(1, len(PATIENTS)),
                "payer": rng.choice((1, 1, 1, 2)),
                "service_date": date(2026, 10, rng.randint(1, 3)),
                "status": status,
                "total": total,
                "paid": rng.choice((0, 0, 0, total // 2, total)),
                "resp": rng.choice((0, 0, 500)),
                "currency": "GBP" if rng.random() > 0.03 else "EUR",
                "adjudicated": rng.choice((None, None, NOW - timedelta(days=30), NOW - timedelta(days=900))),
                "written_off": rng.choice((0, 0, 0, 700)),
            }
        )
    lines: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 30)):
        claim = rng.choice(claims)
        clp = rng.choice(STATUSES)
        charged = rng.choice((claim["total"], claim["total"], rng.randint(100, 30000)))
        paid = rng.choice((charged * 8 // 10, charged, 0, rng.randint(0, charged), charged * 8 // 10 - 3))
        if clp == "22":
            paid = -rng.choice((paid, claim["paid"] or 100, 99999))
        adjustments = [
            {"group": rng.choice(GROUPS), "reason": rng.choice(("45", "2", "1", "23")), "amount": _amount(rng, 3000)}
            for _ in range(rng.choice((0, 1, 2, 2, 3)))
        ]
        services = [
            {
                "code": "99213",
                "charged": "1.00",
                "paid": "1.00",
                "units": "1",
                "adjustments": [
                    {"group": rng.choice(GROUPS), "reason": rng.choice(("45", "2")), "amount": _amount(rng, 2000)}
                    for _ in range(rng.choice((0, 1, 2)))
                ],
            }
            for _ in range(rng.choice((0, 1, 2)))
        ]
        ref = rng.choice((claim["number"],) * 5 + (f" {claim['number']} ", "CLM9999", ""))
        lines.append(
            {
                "claim_ref": ref,
                "payer_claim_ref": rng.choice(("", "", "", claim["insurer_ref"], f"PCN{rng.randint(0, 5)}")),
                "patient_ref": rng.choice(("",) * 6 + (PATIENTS[claim["patient"] - 1], rng.choice(PATIENTS))),
                "service_date": rng.choice((None, claim["service_date"], date(2026, 10, 9))),
                "status_code": clp,
                "charged": charged,
                "paid": paid,
                "resp": rng.choice((0, 0, 500, 1000)),
                "adjustments": adjustments,
                "services": services,
            }
        )
    plbs = [
        {"reason": rng.choice(("L6", "WO", "FB")), "reference": "REF1", "amount": rng.choice(("-12.50", "40.00"))}
        for _ in range(rng.choice((0, 0, 1, 2)))
    ]
    total = sum(ln["paid"] for ln in lines) - sum(to_minor(p["amount"]) for p in plbs)
    return {
        "claims": claims,
        "lines": lines,
        "plbs": plbs,
        "total": total + rng.choice((0, 0, 0, 0, 100)),
        "tolerance": rng.choice(
            (None, {"*": {"absolute_minor": 100, "percent": "0.5"}}, {"aetna": {"absolute_minor": 0, "percent": "2"}})
        ),
        "limit": rng.choice((None, 1000, 5000)),
    }


def _load(case: Case, world: dict[str, Any]) -> int:
    with case.ctx.db.unit_of_work() as s:
        if world["tolerance"] is not None:
            set_setting(s, case.ctx.clock, case.actor, "cash.tolerance", world["tolerance"])
        if world["limit"] is not None:
            set_setting(s, case.ctx.clock, case.actor, "cash.writeoff_limit_minor", world["limit"])
        for n, c in enumerate(world["claims"], start=1):
            s.add(
                Encounter(id=n, clinic_id=1, patient_id=c["patient"], practitioner_id=1, service_date=c["service_date"])
            )
            s.add(
                Invoice(
                    id=n,
                    number=f"INV{n}",
                    clinic_id=1,
                    patient_id=c["patient"],
                    encounter_id=n,
                    issued_at=NOW,
                    total_minor=c["total"],
                    paid_minor=0,
                    patient_due_minor=c["resp"],
                    currency=c["currency"],
                )
            )
            s.add(
                Claim(
                    id=n,
                    number=c["number"],
                    clinic_id=1,
                    patient_id=c["patient"],
                    practitioner_id=1,
                    payer_id=c["payer"],
                    encounter_id=n,
                    service_date=c["service_date"],
                    status=c["status"],
                    total_minor=c["total"],
                    paid_minor=c["paid"],
                    patient_resp_minor=c["resp"],
                    currency=c["currency"],
                    insurer_ref=c["insurer_ref"],
                    created_at=NOW,
                    updated_at=NOW,
                    adjudicated_at=c["adjudicated"],
                )
            )
            s.flush()
            if c["written_off"]:
                s.add(
                    LedgerPosting(
                        posting_key=f"old:{n}",
                        source_kind="remittance",
                        source_id=0,
                        kind="contractual write-off",
                        claim_id=n,
                        patient_id=c["patient"],
                        amount_minor=c["written_off"],
                        currency="GBP",
                        status="posted",
                        created_at=NOW,
                    )
                )
        rem = Remittance(
            payer_id=1,
            source_format="x12_835",
            filename="era.835",
            raw_sha256="0" * 64,
            trace_number="TRC1",
            payment_date=date(2026, 11, 18),
            total_paid_minor=world["total"],
            unapplied_minor=0,
            currency="GBP",
            provider_adjustments_json=json.dumps(world["plbs"]),
            received_at=NOW,
        )
        s.add(rem)
        s.flush()
        for ln in world["lines"]:
            s.add(
                RemittanceLine(
                    remittance_id=rem.id,
                    claim_ref=ln["claim_ref"],
                    payer_claim_ref=ln["payer_claim_ref"],
                    status_code=ln["status_code"],
                    charged_minor=ln["charged"],
                    paid_minor=ln["paid"],
                    patient_resp_minor=ln["resp"],
                    currency="GBP",
                    adjustments_json=json.dumps(ln["adjustments"]),
                    services_json=json.dumps(ln["services"]),
                    service_date=ln["service_date"],
                    patient_ref=ln["patient_ref"],
                )
            )
        return rem.id


def _run(case: Case, apply: Apply, rem_id: int, accept: bool) -> str:
    try:
        with case.ctx.db.unit_of_work() as s:
            if apply is legacy_apply.apply_stored:  # the frozen engine still kept files in the archive
                out = apply(s, case.ctx.clock, case.actor, case.store, rem_id, accept_unbalanced=accept)
            else:
                out = apply(s, case.ctx.clock, case.actor, rem_id, accept_unbalanced=accept)
            return f"{out.status} {out.applied_lines} {out.unmatched_lines} {out.held_postings} {out.message}"
    except DomainError as exc:
        return f"refused: {exc}"


def _add_claim_for_unmatched(case: Case) -> None:
    """The manager creates the missing claim CLM9999 (re-run matching then finds it)."""
    with case.ctx.db.unit_of_work() as s:
        s.add(
            Claim(
                id=999,
                number="CLM9999",
                clinic_id=1,
                patient_id=1,
                practitioner_id=1,
                payer_id=1,
                service_date=date(2026, 10, 1),
                status=ClaimStatus.SUBMITTED,
                total_minor=20000,
                paid_minor=0,
                patient_resp_minor=0,
                currency="GBP",
                created_at=NOW,
                updated_at=NOW,
            )
        )


# columns the frozen engine does not write: what applying a line gave (app.remittance.postings)
# and the review flags of a stored posting; the cash-application.csv compared below covers them
_NEW_COLUMNS = {
    "remittance_line": set(apply_module.RECORD_COLUMNS) - {"match_rule", "applied"},
    "ledger_posting": {"id", "needs_approval", "needs_review"},
    "artefact": {"id"},
}


def _dump(case: Case) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows; ledger_posting holds every posting of every remittance (rows and the
    routine ones derived from the lines, which the frozen engine stored as rows), by key; the
    artefacts leave out cash-application.csv (built on request now, compared by _csv)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with case.ctx.db.read() as s:
        for t in Base.metadata.sorted_tables:
            skip = _NEW_COLUMNS.get(t.name, set())
            columns = [c for c in t.columns if c.name not in skip]
            rows = [tuple(r) for r in s.execute(select(*columns).order_by(*t.primary_key.columns))]
            if t.name == "ledger_posting":
                keys = {r[0] for r in rows}
                for rid in s.scalars(select(Remittance.id)):
                    rows += [p[:-2] for p in remittance_postings(s, rid) if p.posting_key not in keys]
                rows.sort()
            if t.name == "artefact":
                rows = [r for r in rows if not str(r[2]).startswith("cash-application")]
            if t.name == "setting":  # the audit chain's head (its hash, see _event)
                rows = [r for r in rows if not str(r[0]).startswith("audit.chain")]
            if t.name == "audit_event":
                rows = [_event(dict(zip([c.name for c in columns], r, strict=True))) for r in rows]
            out[t.name] = rows
    return out


def _event(row: dict[str, Any]) -> tuple[Any, ...]:
    """An audit event with its content decoded; the changes of an application as the frozen engine
    listed them (a dict per claim and invoice, where the event now holds rows under their column
    names). The hashes are left out: the content differs in form, so the chain differs from there."""
    after = json.loads(row["after_json"])
    changes = after.get("changes") if isinstance(after, dict) else None
    if isinstance(changes, dict):
        listed: list[dict[str, Any]] = []
        for number, paid_b, paid_a, resp_b, resp_a, status_b, status_a, note in changes["claims"]["rows"]:
            claim = {"claim": number, "paid": [paid_b, paid_a], "patient_resp": [resp_b, resp_a]}
            listed.append({**claim, "status": [status_b, status_a], **({"note": note} if note else {})})
        listed += [{"invoice": n, "patient_due": [b, a]} for n, b, a in changes["invoices"]["rows"]]
        after["changes"] = listed
    kept = {k: v for k, v in row.items() if k not in ("after_json", "prev_hash", "hash")}
    return (*kept.values(), json.dumps(after, sort_keys=True))


def _compare(new: Case, old: Case) -> None:
    ours, theirs = _dump(new), _dump(old)
    for table in theirs:
        assert len(ours[table]) == len(theirs[table]), table
        for mine, reference in zip(ours[table], theirs[table], strict=True):
            assert mine == reference, table


def _csv(new: Case, old: Case, rem_id: int) -> None:
    """The cash-application.csv built on request equals the one the frozen engine kept at import
    (it kept none when nothing was applied: an export is then refused)."""
    with old.ctx.db.read() as s:
        kept = artefact_bytes(s, old.store, "remittance", rem_id, "cash-application.csv")
        status = s.scalar(select(Remittance.status).where(Remittance.id == rem_id))
    with new.ctx.db.read() as s:
        if kept is None:
            assert status in (RemittanceStatus.FLAGGED, RemittanceStatus.RECEIVED)  # nothing was applied
            with pytest.raises(DomainError, match="nothing of it has been applied"):
                cash_application_csv(s, new.store, rem_id)
        else:
            assert cash_application_csv(s, new.store, rem_id) == kept


@pytest.fixture
def fast_lines(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many lines took the fast path (so the test proves it was exercised)."""
    counted: list[int] = []
    original = FastMatcher._fast

    def counting(self: FastMatcher, *args: Any) -> Any:
        out = original(self, *args)
        counted.append(out is not None)
        return out

    monkeypatch.setattr(FastMatcher, "_fast", counting)
    return counted


SEEDS = range(40)


@pytest.mark.parametrize("seed", SEEDS)
def test_fast_path_writes_what_the_per_line_engine_wrote(
    seed: int, open_case: Callable[[str], Case], fast_lines: list[int]
) -> None:
    rng = random.Random(seed)
    world = _world(rng)
    accept = rng.random() < 0.5
    new, old = open_case("new"), open_case("old")
    new_id, old_id = _load(new, world), _load(old, world)
    assert _run(new, fast_apply.apply_stored, new_id, accept) == _run(old, legacy_apply.apply_stored, old_id, accept)
    _compare(new, old)
    _csv(new, old, new_id)
    _add_claim_for_unmatched(new)
    _add_claim_for_unmatched(old)
    for again in (accept, True):
        assert _run(new, fast_apply.apply_stored, new_id, again) == _run(old, legacy_apply.apply_stored, old_id, again)
        _compare(new, old)


def test_the_random_cases_exercise_both_paths(open_case: Callable[[str], Case], fast_lines: list[int]) -> None:
    handed_over = 0
    for seed in SEEDS:
        world = _world(random.Random(seed))
        case = open_case(f"c{seed}")
        before = len(fast_lines)
        _run(case, fast_apply.apply_stored, _load(case, world), True)
        handed_over += len(world["lines"]) - sum(fast_lines[before:])
    assert sum(fast_lines) > 120 and handed_over > 250


@pytest.mark.parametrize("seed", range(5))
def test_text_helpers_equal_money(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(2000):
        minor = rng.choice((0, rng.randint(-(10**9), 10**9), rng.randint(-999, 999)))
        currency = rng.choice(("GBP", "EUR", "USD", "JPY", "KWD", "CHF"))
        assert money_str(minor, currency) == str(Money(minor, currency))
        places = {"JPY": 0, "KWD": 3}.get(currency, 2)
        assert decimal_text(minor, places) == str(Money(minor, currency).amount)
        text = rng.choice((str(Money(minor, currency).amount), f"{minor}", f"{minor}.5", f"-{abs(minor)}.125", " 12 "))
        assert minor_units(text, currency, places) == to_minor(text, currency)
