"""Sign in with a local user and PIN."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout

from app.audit import Actor
from app.context import AppContext
from app.errors import ClinicBillingError
from app.users import sign_in


class SignInDialog(QDialog):
    def __init__(self, ctx: AppContext, hint: str = "") -> None:
        super().__init__()
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
        # argon2 verification takes ~50 ms: acceptable on the GUI thread for a modal sign-in
        try:
            self.actor = sign_in(self.ctx.db, self.ctx.clock, self.username.text(), self.pin.text())
        except ClinicBillingError as exc:
            self.message.setText(f"<span style='color:#b00020'>{exc}</span>")
            self.pin.clear()
            return
        self.accept()
