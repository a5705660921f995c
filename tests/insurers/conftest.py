"""Fixtures for the insurer channels: a sample claim, a loopback SFTP server, a loopback portal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from app.claims.xml_payload import ClaimAttachment, ClaimLine, ClaimPatient, ClaimProvider, InsurerClaim
from app.clock import FixedClock
from app.connectors.http import make_client
from app.connectors.insurer_portal import PortalInsurerChannel, PortalLogin
from app.connectors.insurer_sftp import SftpInsurerChannel
from app.money import Money
from sandboxes.insurer_portal import InsurerPortalSandbox
from sandboxes.sftp_server import SftpSandbox
from tests.insurers.samples import REFERRAL_PDF


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))


@pytest.fixture
def good_claim() -> InsurerClaim:
    return InsurerClaim(
        claim_id="CLM-000123",
        insurer_code="BUPA",
        member_number="BUP12345678",
        pre_authorisation_number="PA-998877",
        patient=ClaimPatient("Ann", "O'Neil", date(1980, 5, 17), "SW1A 1AA"),
        provider=ClaimProvider("Riverside Physio", "Jo Smith", "HCPC", "PH123456", "BUPA-PRV-42"),
        encounter_date=date(2026, 11, 2),
        diagnosis_codes=("M54.5",),
        lines=(
            ClaimLine("PHY01", "A5005", "Initial physiotherapy assessment", 1, Money.of("65.00")),
            ClaimLine("PHY02", "A5006", "Follow-up session", 2, Money.of("45.50")),
        ),
        consent_given=True,
        consent_date=date(2026, 11, 2),
        notes="Lower back pain after lifting",
        attachments=(ClaimAttachment.of("referral.pdf", REFERRAL_PDF),),
    )


@pytest.fixture
def sftp_root(tmp_path: Path) -> Path:
    for folder in ("inbox", "outbound", "eligibility"):
        (tmp_path / folder).mkdir()
    return tmp_path


@pytest.fixture
def sftp_server(sftp_root: Path) -> Iterator[SftpSandbox]:
    with SftpSandbox(sftp_root, username="clinic", password="s3cret-pw") as server:
        yield server


@pytest.fixture
def sftp_channel(sftp_server: SftpSandbox, clock: FixedClock) -> SftpInsurerChannel:
    return SftpInsurerChannel(
        "127.0.0.1",
        sftp_server.port,
        "clinic",
        "s3cret-pw",
        sftp_server.host_key_fingerprint,
        name="Bupa SFTP",
        timeout=5.0,
        clock=clock,
    )


@pytest.fixture
def portal() -> Iterator[InsurerPortalSandbox]:
    with InsurerPortalSandbox(username="clinic", password="portal-pw") as sandbox:
        yield sandbox


@pytest.fixture
def portal_client(portal: InsurerPortalSandbox) -> Iterator[httpx.Client]:
    timeout = httpx.Timeout(connect=2.0, read=5.0, write=5.0, pool=2.0)
    with make_client(portal.base_url, timeout=timeout) as client:
        yield client


@pytest.fixture
def portal_channel(portal_client: httpx.Client, clock: FixedClock) -> PortalInsurerChannel:
    login = PortalLogin(portal_client, "clinic", "portal-pw", name="AXA portal", clock=clock)
    return PortalInsurerChannel(portal_client, login, name="AXA portal", clock=clock)
