"""The SFTP channel against a real asyncssh server on loopback."""

from __future__ import annotations

import json
import socket
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from app.claims.xml_payload import SCHEMA_DIR, InsurerClaim, build_claim_xml, parse_ack_xml
from app.connectors.base import ClaimSubmission
from app.connectors.insurer_sftp import SftpInsurerChannel
from app.errors import ConfigurationError, ParseError, PermanentError, TransientError
from sandboxes.sftp_server import SftpSandbox
from tests.insurers.samples import REFERRAL_PDF

ACK_EXAMPLE = SCHEMA_DIR / "examples" / "ACK-20261120-0001.xml"


def _submission(claim: InsurerClaim) -> ClaimSubmission:
    return ClaimSubmission(claim.claim_id, claim.file_name, build_claim_xml(claim), {"referral.pdf": REFERRAL_PDF})


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_claim_lands_in_the_inbox_exactly_once(
    sftp_channel: SftpInsurerChannel, sftp_root: Path, good_claim: InsurerClaim
) -> None:
    submission = _submission(good_claim)
    first = sftp_channel.submit(submission, "key-1")
    second = sftp_channel.submit(submission, "key-1")
    inbox = sftp_root / "inbox"
    assert sorted(p.name for p in inbox.iterdir()) == ["CLM-000123-referral.pdf", "CLM-000123.xml"]
    assert (inbox / "CLM-000123.xml").read_bytes() == submission.payload
    assert (inbox / "CLM-000123-referral.pdf").read_bytes() == REFERRAL_PDF
    assert first.accepted_at == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert "uploaded" in first.detail
    assert "nothing sent again" in second.detail


def test_a_different_claim_under_the_same_name_is_not_overwritten(
    sftp_channel: SftpInsurerChannel, sftp_root: Path, good_claim: InsurerClaim
) -> None:
    (sftp_root / "inbox" / "CLM-000123.xml").write_bytes(b"<Claim>an older version</Claim>")
    with pytest.raises(PermanentError, match="different content"):
        sftp_channel.submit(_submission(good_claim), "key-1")
    assert (sftp_root / "inbox" / "CLM-000123.xml").read_bytes() == b"<Claim>an older version</Claim>"


def test_wrong_host_key_is_refused_before_the_password_is_sent(
    sftp_server: SftpSandbox,
    sftp_root: Path,
    good_claim: InsurerClaim,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    impostor = SftpSandbox(tmp_path_factory.mktemp("impostor"))  # never started: only its key is used
    channel = SftpInsurerChannel("127.0.0.1", sftp_server.port, "clinic", "s3cret-pw", impostor.host_key_fingerprint)
    with pytest.raises(PermanentError, match="host key"):
        channel.submit(_submission(good_claim), "key-1")
    assert sftp_server.auth_attempts == 0
    assert _visible(sftp_root / "inbox") == []


def test_fingerprint_must_be_in_openssh_form() -> None:
    with pytest.raises(ConfigurationError, match="SHA256"):
        SftpInsurerChannel("127.0.0.1", 22, "clinic", "pw", "aa:bb:cc")


def test_wrong_password_is_permanent(sftp_server: SftpSandbox) -> None:
    channel = SftpInsurerChannel("127.0.0.1", sftp_server.port, "clinic", "wrong", sftp_server.host_key_fingerprint)
    with pytest.raises(PermanentError, match="refused our username") as caught:
        channel.fetch_inbound()
    assert "wrong" not in str(caught.value)


def test_unreachable_server_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    channel = SftpInsurerChannel("127.0.0.1", port, "clinic", "pw", "SHA256:" + "A" * 43, timeout=2.0)
    with pytest.raises(TransientError):
        channel.fetch_inbound()


def test_upload_cut_midway_then_retried_gives_one_complete_claim(
    sftp_channel: SftpInsurerChannel, sftp_server: SftpSandbox, sftp_root: Path, good_claim: InsurerClaim
) -> None:
    submission = ClaimSubmission(good_claim.claim_id, good_claim.file_name, build_claim_xml(good_claim))
    sftp_server.cut_connection_after(300)
    with pytest.raises(TransientError):
        sftp_channel.submit(submission, "key-1")
    inbox = sftp_root / "inbox"
    assert sftp_server.cuts == 1
    assert _visible(inbox) == []  # only the hidden, partial .part file is there
    assert (inbox / ".CLM-000123.xml.part").stat().st_size == 300

    sftp_channel.submit(submission, "key-1")
    sftp_channel.submit(submission, "key-1")
    assert sorted(p.name for p in inbox.iterdir()) == ["CLM-000123.xml"]
    assert (inbox / "CLM-000123.xml").read_bytes() == submission.payload


def test_inbound_files_stay_until_acknowledged(sftp_channel: SftpInsurerChannel, sftp_root: Path) -> None:
    outbound = sftp_root / "outbound"
    (outbound / "ACK-20261120-0001.xml").write_bytes(ACK_EXAMPLE.read_bytes())
    (outbound / "REM-20261127-0042.xml").write_bytes(b"<Remittance/>")
    (outbound / ".REM-2.xml.part").write_bytes(b"<Remi")  # the insurer is still writing it
    (outbound / "archive").mkdir()

    files = sftp_channel.fetch_inbound()
    assert [f.name for f in files] == ["ACK-20261120-0001.xml", "REM-20261127-0042.xml"]
    assert parse_ack_xml(files[0].content, files[0].name).claims[0].claim_id == "CLM-000123"
    assert [f.name for f in sftp_channel.fetch_inbound()] == [f.name for f in files]  # nothing lost

    sftp_channel.acknowledge("ACK-20261120-0001.xml")
    sftp_channel.acknowledge("ACK-20261120-0001.xml")  # a repeat after a crash is harmless
    assert [f.name for f in sftp_channel.fetch_inbound()] == ["REM-20261127-0042.xml"]
    assert (outbound / "processed" / "ACK-20261120-0001.xml").read_bytes() == ACK_EXAMPLE.read_bytes()
    with pytest.raises(PermanentError, match="no longer on the server"):
        sftp_channel.acknowledge("NEVER-THERE.xml")


def test_eligibility_comes_from_the_insurers_json_file(sftp_channel: SftpInsurerChannel, sftp_root: Path) -> None:
    record = {
        "memberNumber": "BUP12345678",
        "covered": True,
        "coverageStart": "2026-01-01",
        "coverageEnd": "2026-12-31",
        "authorisationNumber": "PA-998877",
        "visitsLeft": 4,
        "procedureCodes": ["PHY01", "PHY02"],
    }
    (sftp_root / "eligibility" / "BUP12345678.json").write_text(json.dumps(record))
    result = sftp_channel.check_eligibility("BUP12345678", date(2026, 11, 2), ["PHY01"])
    assert result.covered and result.visits_left == 4 and result.authorisation_number == "PA-998877"
    assert (result.coverage_start, result.coverage_end) == (date(2026, 1, 1), date(2026, 12, 31))

    outside = sftp_channel.check_eligibility("BUP12345678", date(2027, 1, 5), ["PHY01", "ACU01"])
    assert not outside.covered
    assert any("outside cover" in m for m in outside.messages)
    assert any("ACU01" in m for m in outside.messages)

    unknown = sftp_channel.check_eligibility("BUP00000000", date(2026, 11, 2), [])
    assert not unknown.covered and "no cover record" in unknown.messages[0]

    (sftp_root / "eligibility" / "BUP99999999.json").write_text('{"covered": true,\n "coverageStart": ')
    with pytest.raises(ParseError, match=r"eligibility/BUP99999999\.json: line 2"):
        sftp_channel.check_eligibility("BUP99999999", date(2026, 11, 2), [])
