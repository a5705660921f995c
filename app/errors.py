"""One error root for the core.

Every error the core raises on purpose derives from :class:`ClinicBillingError` and carries a
message a clinic manager can read. The UI and the CLI show ``str(error)``; tracebacks go to the
log only.
"""

from __future__ import annotations


class ClinicBillingError(Exception):
    """Root of every error the app raises on purpose."""


class DomainError(ClinicBillingError):
    """A business rule was broken (e.g. refund above what is refundable)."""


class IllegalTransition(DomainError):
    """A status change that the entity's transitions table does not allow."""

    def __init__(self, entity: str, current: str, target: str) -> None:
        super().__init__(f"{entity} cannot move from {current!r} to {target!r}.")
        self.entity = entity
        self.current = current
        self.target = target


class NotFound(ClinicBillingError):
    """The record asked for does not exist."""


class PermissionDenied(ClinicBillingError):
    """The acting user's role may not do this."""


class AuthenticationFailed(ClinicBillingError):
    """Unknown user or wrong PIN/password."""


class ConflictError(ClinicBillingError):
    """Someone else changed the record first (e.g. two desks closing one shift)."""


class ValidationFailed(ClinicBillingError):
    """Input was checked and found wrong; ``problems`` lists every problem, not just the first."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        detail = f" ({len(self.problems)} problem(s): {'; '.join(self.problems[:5])})" if self.problems else ""
        super().__init__(message + detail)


class ParseError(ClinicBillingError):
    """A file could not be read. Names the file, the position and the reason."""

    def __init__(self, filename: str, position: str, reason: str) -> None:
        super().__init__(f"{filename}: {position}: {reason}")
        self.filename = filename
        self.position = position
        self.reason = reason


class DuplicateImport(ClinicBillingError):
    """The same file was imported before; nothing changed."""


class ConfigurationError(ClinicBillingError):
    """A setting is missing or wrong (e.g. no keyring backend, bad database URL)."""


class SecretStoreUnavailable(ConfigurationError):
    """No OS keyring backend is available and no encrypted fallback was chosen."""


class ConnectorError(ClinicBillingError):
    """Talking to an external provider failed. Subclasses say whether a retry may help."""

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider


class TransientError(ConnectorError):
    """Network down, timeout, 5xx, 429: retry later with backoff."""


class PermanentError(ConnectorError):
    """The provider refused the request (4xx, validation): retrying will not help; a person must act."""
