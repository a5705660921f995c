"""Sign in with a local user and PIN."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout

from app.audit import Actor
from app.context import AppContext
from app.errors import ClinicBillingError
from app.users import sign_in
from ui.taskman import TaskManager


class SignInDialog(QDialog):
    def __init__(self, ctx: AppContext, hint: str = "", tasks: TaskManager | None = None) -> None:
        super().__init__()
        self.tasks = tasks or TaskManager()
        self.setWindowTitle("Sign in — Clinic Billing Desk")
        self.setObjectName("signInDialog")
        self.ctx = ctx
        self.actor: Actor | None = None
        self.username = QLineEdit(objectName="username")
        self.pin = QLineEdit(objectName="pin")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.message = QLabel(hint)
        self.message.setObjectName("signInMessage")
        self.message.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.try_sign_in)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("User", self.username)
        form.addRow("PIN", self.pin)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("<h3>Clinic Billing Desk</h3>"))
        lay.addLayout(form)
        lay.addWidget(self.message)
        lay.addWidget(buttons)

    def try_sign_in(self) -> None:
        """Check the PIN on the database executor (argon2 and a DB write), then accept or say why not."""
        ctx, username, pin = self.ctx, self.username.text(), self.pin.text()
        self.setEnabled(False)
        self.tasks.run_db(lambda: sign_in(ctx.db, ctx.clock, username, pin), self._signed_in, self._signed_in)

    def _signed_in(self, result: Actor | BaseException) -> None:
        self.setEnabled(True)
        if isinstance(result, BaseException):
            text = str(result) if isinstance(result, ClinicBillingError) else "Sign-in failed: see the log file."
            self.message.setText(f"<span style='color:#b00020'>{text}</span>")
            self.pin.clear()
            return
        self.actor = result
        self.accept()
