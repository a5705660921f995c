"""The one place that turns an exception into a message a clinic manager understands."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox, QWidget

from app.errors import (
    AuthenticationFailed,
    ClinicBillingError,
    ConflictError,
    PermissionDenied,
    TransientError,
    ValidationFailed,
)

log = logging.getLogger(__name__)


def user_message(exc: BaseException) -> tuple[str, str]:
    """(title, text) for an error; never a traceback."""
    if isinstance(exc, ValidationFailed):
        return "Please check the input", str(exc).split(" (")[0] + (
            "\n\n• " + "\n• ".join(exc.problems[:20]) if exc.problems else ""
        )
    if isinstance(exc, PermissionDenied):
        return "Not allowed", str(exc)
    if isinstance(exc, AuthenticationFailed):
        return "Sign-in failed", str(exc)
    if isinstance(exc, ConflictError):
        return "Changed by someone else", str(exc)
    if isinstance(exc, TransientError):
        return (
            "Provider unreachable",
            f"{exc}\n\nNothing was lost: the app will try again when the network is back.",
        )
    if isinstance(exc, ClinicBillingError):
        return "Could not complete", str(exc)
    log.error("unexpected error", exc_info=exc)
    return "Unexpected problem", (
        f"Something went wrong ({type(exc).__name__}). Nothing was half-saved. "
        "The details are in the log file (Help → Open log folder)."
    )


def show_error(parent: QWidget | None, exc: BaseException) -> None:
    title, text = user_message(exc)
    if not isinstance(exc, ClinicBillingError):
        log.error("error shown to user", exc_info=exc)
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorBox")
    box.open()
