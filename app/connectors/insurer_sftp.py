"""Insurers that take claim files over SFTP (Bupa-style pathway).

Folder layout on the insurer's server (relative to the login folder):

* ``inbox/``: we put one ``CLM-{id}.xml`` per claim, plus its attachments as ``CLM-{id}-{file}``;
* ``outbound/``: the insurer leaves acknowledgements and remittances; once we have recorded a file
  we move it to ``outbound/processed/`` with :meth:`SftpInsurerChannel.acknowledge`;
* ``eligibility/``: optional ``{member}.json`` cover records (shape in resources/insurer-xml/README.md).

Sending is exactly-once: a file is written as ``inbox/.{name}.part`` and renamed only when complete,
so the insurer never sees half a claim; a resend after a crash finds the final file with the same
SHA-256 and does nothing. The server's host key must match the stored OpenSSH fingerprint, checked
before the password is sent; no key is ever trusted on first use.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Final

import paramiko

from app.clock import Clock, SystemClock
from app.connectors.base import ClaimSubmission, EligibilityResult, InboundFile, SubmissionReceipt
from app.errors import ConfigurationError, ParseError, PermanentError, TransientError, ValidationFailed

_FINGERPRINT: Final = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")
_SAFE_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,150}")
_MEMBER: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]{0,39}")


def openssh_fingerprint(key: paramiko.PKey) -> str:
    """``SHA256:<base64 without padding>``, as ``ssh-keygen -lf`` and OpenSSH print it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


class _HostKeyRefused(paramiko.SSHException):
    pass


class _FingerprintPolicy(paramiko.MissingHostKeyPolicy):
    """Accept only the host key whose fingerprint was stored; refuse every other key."""

    def __init__(self, fingerprint: str) -> None:
        self._fingerprint = fingerprint

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if openssh_fingerprint(key) != self._fingerprint:
            raise _HostKeyRefused(f"host key {openssh_fingerprint(key)} for {hostname} is not the stored one")


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class SftpInsurerChannel:
    """An :class:`app.connectors.base.InsurerChannel` over SFTP, one connection per call."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password_or_key: str | paramiko.PKey,
        known_host_fingerprint: str,
        *,
        name: str = "Insurer SFTP",
        remote_inbox: str = "inbox",
        remote_outbound: str = "outbound",
        remote_eligibility: str = "eligibility",
        timeout: float = 20.0,
        clock: Clock | None = None,
    ) -> None:
        fingerprint = known_host_fingerprint.strip()
        if not _FINGERPRINT.fullmatch(fingerprint):
            raise ConfigurationError(
                f"{name}: the server fingerprint must look like 'SHA256:' followed by 43 characters, "
                "as the insurer's ssh-keygen -lf output shows it"
            )
        self.name = name
        self._host = host
        self._port = port
        self._username = username
        self._secret = password_or_key
        self._fingerprint = fingerprint
        self._inbox = remote_inbox.rstrip("/")
        self._outbound = remote_outbound.rstrip("/")
        self._eligibility = remote_eligibility.rstrip("/")
        self._timeout = timeout
        self._clock = clock or SystemClock()

    # ------------------------------------------------------------------ connection

    @contextmanager
    def _session(self) -> Iterator[paramiko.SFTPClient]:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(_FingerprintPolicy(self._fingerprint))
        key = self._secret if isinstance(self._secret, paramiko.PKey) else None
        password = self._secret if isinstance(self._secret, str) else None
        try:
            client.connect(
                self._host,
                port=self._port,
                username=self._username,
                password=password,
                pkey=key,
                timeout=self._timeout,
                banner_timeout=self._timeout,
                auth_timeout=self._timeout,
                channel_timeout=self._timeout,
                allow_agent=False,
                look_for_keys=False,
            )
            sftp = client.open_sftp()
            channel = sftp.get_channel()
            if channel is not None:
                channel.settimeout(self._timeout)
            yield sftp
        except _HostKeyRefused as exc:
            raise PermanentError(
                self.name,
                "the server's identity (host key) does not match the fingerprint on record, so nothing "
                "was sent. Ask the insurer to confirm their key fingerprint before changing it.",
            ) from exc
        except paramiko.AuthenticationException as exc:
            raise PermanentError(self.name, "the server refused our username or password/key") from exc
        except PermissionError as exc:
            raise PermanentError(self.name, f"the server refused access to a folder or file ({exc})") from exc
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise TransientError(self.name, f"the connection failed ({type(exc).__name__}); will retry") from exc
        finally:
            client.close()

    @staticmethod
    def _read(sftp: paramiko.SFTPClient, path: str) -> bytes | None:
        """The file's content, or None when it does not exist."""
        buffer = io.BytesIO()
        try:
            sftp.getfo(path, buffer)
        except FileNotFoundError:
            return None
        return buffer.getvalue()

    # ------------------------------------------------------------------ claims

    def _deliver(self, sftp: paramiko.SFTPClient, name: str, content: bytes) -> bool:
        """Put one file into the inbox exactly once; False when it was already there."""
        final = f"{self._inbox}/{name}"
        existing = self._read(sftp, final)
        if existing is not None:
            if _sha256(existing) == _sha256(content):
                return False
            raise PermanentError(
                self.name,
                f"{name} is already on the insurer's server with different content and was not replaced; "
                "contact the insurer before sending a correction",
            )
        part = f"{self._inbox}/.{name}.part"
        try:
            sftp.remove(part)  # left over from an interrupted send
        except FileNotFoundError:
            pass
        sftp.putfo(io.BytesIO(content), part, file_size=len(content), confirm=True)
        sftp.rename(part, final)  # plain SFTP rename never overwrites an existing claim
        return True

    def submit(self, submission: ClaimSubmission, idempotency_key: str) -> SubmissionReceipt:
        """Upload attachments, then the claim file last (its arrival tells the insurer all is there).

        The claim's file name is the idempotency key on SFTP; ``idempotency_key`` is not sent.
        """
        files = [(f"{submission.claim_ref}-{n}", data) for n, data in sorted(submission.attachments.items())]
        files.append((submission.payload_name, submission.payload))
        bad = [n for n, _ in files if not _SAFE_NAME.fullmatch(n)]
        if bad:
            raise ValidationFailed("These file names cannot be sent to the insurer", bad)
        with self._session() as sftp:
            sent = [self._deliver(sftp, name, content) for name, content in files]
        detail = (
            f"uploaded {submission.payload_name} to {self._inbox}/"
            if any(sent)
            else f"{submission.payload_name} was already on the insurer's server; nothing sent again"
        )
        return SubmissionReceipt(submission.claim_ref, None, self._clock.now(), detail)

    # ------------------------------------------------------------------ inbound files

    def fetch_inbound(self) -> list[InboundFile]:
        """Every file waiting in the outbound folder, oldest name first; nothing is moved."""
        files = []
        with self._session() as sftp:
            try:
                entries = sftp.listdir_attr(self._outbound)
            except FileNotFoundError as exc:
                raise PermanentError(self.name, f"the folder {self._outbound}/ is missing on the server") from exc
            for entry in sorted(entries, key=lambda e: e.filename):
                if entry.filename.startswith(".") or not stat.S_ISREG(entry.st_mode or 0):
                    continue
                content = self._read(sftp, f"{self._outbound}/{entry.filename}")
                if content is not None:
                    files.append(InboundFile(entry.filename, content))
        return files

    def acknowledge(self, name: str) -> None:
        """Move a recorded file to ``outbound/processed/``; doing it twice is harmless."""
        if not _SAFE_NAME.fullmatch(name):
            raise ValidationFailed("This file name cannot be acknowledged", [name])
        processed = f"{self._outbound}/processed"
        with self._session() as sftp:
            try:
                sftp.stat(processed)
            except FileNotFoundError:
                sftp.mkdir(processed)
            try:
                sftp.posix_rename(f"{self._outbound}/{name}", f"{processed}/{name}")
            except FileNotFoundError as exc:
                try:
                    sftp.stat(f"{processed}/{name}")
                except FileNotFoundError:
                    raise PermanentError(self.name, f"{name} is no longer on the server") from exc

    # ------------------------------------------------------------------ eligibility

    def check_eligibility(self, member_id: str, service_date: date, procedure_codes: list[str]) -> EligibilityResult:
        """Read ``eligibility/{member}.json`` if the insurer publishes one; otherwise say we cannot tell."""
        if not _MEMBER.fullmatch(member_id):
            raise ValidationFailed("This member number cannot be looked up", [member_id])
        filename = f"{self._eligibility}/{member_id}.json"
        with self._session() as sftp:
            content = self._read(sftp, filename)
        if content is None:
            return EligibilityResult(
                covered=False,
                coverage_start=None,
                coverage_end=None,
                authorisation_number=None,
                visits_left=None,
                messages=(f"The insurer publishes no cover record for member {member_id}; confirm by phone.",),
            )
        return _eligibility_from_json(content, filename, service_date, procedure_codes)


def _eligibility_from_json(
    content: bytes, filename: str, service_date: date, procedure_codes: list[str]
) -> EligibilityResult:
    try:
        record = json.loads(content)
        covered = record["covered"]
        start = date.fromisoformat(record["coverageStart"])
        end = date.fromisoformat(record["coverageEnd"])
        authorisation = record.get("authorisationNumber")
        visits_left = record.get("visitsLeft")
        allowed = record.get("procedureCodes")
    except json.JSONDecodeError as exc:
        raise ParseError(filename, f"line {exc.lineno}", "not valid JSON") from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ParseError(filename, "top level", f"missing or wrong field ({exc})") from exc
    if not isinstance(covered, bool) or not (visits_left is None or isinstance(visits_left, int)):
        raise ParseError(filename, "top level", "'covered' must be true/false and 'visitsLeft' a whole number")
    messages = []
    if not start <= service_date <= end:
        messages.append(f"The visit on {service_date:%d %b %Y} is outside cover ({start:%d %b %Y} to {end:%d %b %Y}).")
    not_covered = [c for c in procedure_codes if allowed is not None and c not in allowed]
    if not_covered:
        messages.append(f"Not covered by this policy: {', '.join(not_covered)}.")
    if visits_left == 0:
        messages.append("No visits left on this authorisation.")
    return EligibilityResult(
        covered=covered and not messages,
        coverage_start=start,
        coverage_end=end,
        authorisation_number=authorisation if isinstance(authorisation, str) else None,
        visits_left=visits_left,
        messages=tuple(messages),
        raw=record,
    )
