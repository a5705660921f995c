"""Settings: database, provider endpoints, credentials (keyring), schedules, users and roles."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.status import Role
from app.errors import ClinicBillingError
from app.local_config import save_database_url
from app.secrets import EncryptedFileBackend, SecretStore
from app.settings import DEFAULT_SCHEDULES, set_setting
from app.settings_catalogue import CATALOGUE, save_runbook_setting, settings_snapshot
from app.users import ROLE_LABELS, Permission, UserRow, create_user, require
from ui.env import ViewEnv

PROVIDERS = [
    "insurer_sftp",
    "insurer_portal",
    "clearinghouse",
    "stripe",
    "square",
    "paypal",
    "classpass",
    "treatwell",
    "smtp",
    "sms",
    "staff_webhook",
]
CREDENTIALS = [
    "stripe.api_key",
    "paypal.client_id",
    "square.access_token",
    "paypal.client_secret",
    "insurer_portal.password",
    "insurer_sftp.password",
    "classpass.api_key",
    "treatwell.password",
    "smtp.password",
    "sms.auth_token",
]


class SettingsView(QWidget):
    def __init__(self, env: ViewEnv) -> None:
        super().__init__()
        self.setObjectName("settingsView")
        self.ctx, self.run_db, self.actor = env.ctx, env.run_db, env.actor
        self.on_error, self.notify = env.show_error, env.notify
        tabs = QTabWidget()
        tabs.addTab(self._database_tab(), "Database")
        tabs.addTab(self._providers_tab(), "Providers")
        tabs.addTab(self._credentials_tab(), "Credentials")
        tabs.addTab(self._schedules_tab(), "Schedules")
        tabs.addTab(self._runbooks_tab(), "Runbooks")
        tabs.addTab(self._users_tab(), "Users and roles")
        lay = QVBoxLayout(self)
        lay.addWidget(
            QLabel(
                "<h2 style='margin:0'>Settings</h2><span style='color:#555'>"
                "Changes are audit-logged; credentials go to the keyring only</span>"
            )
        )
        lay.addWidget(tabs)
        for label in self.findChildren(QLabel):  # long explanations wrap instead of widening the window
            if len(label.text()) > 80:
                label.setWordWrap(True)

    def _run(self, fn: Callable[[], Any], done: str) -> None:
        def after(result: Any) -> None:
            if isinstance(result, BaseException):
                self.on_error(result)
            else:
                self.notify(done)
                self.refresh()

        self.run_db(fn, after)

    # ---------------------------------------------------------------- database
    def _database_tab(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        form.addRow("Database in use:", QLabel(self.ctx.db.display_name))
        self.db_url = QLineEdit(placeholderText="postgresql://user@server:5432/clinic   or   /path/to/file.sqlite3")
        self.db_url.setObjectName("dbUrl")
        save = QPushButton("Use this database from next start")
        save.clicked.connect(self._save_db)
        form.addRow("Shared database:", self.db_url)
        form.addRow("", save)
        form.addRow(
            "",
            QLabel(
                "Several desks share one clinic by pointing at the same PostgreSQL database.\n"
                "A password in the address is stored in the keyring, not in a file."
            ),
        )
        return w

    def _save_db(self) -> None:
        url = self.db_url.text().strip()
        self._run(
            lambda: save_database_url(self.ctx.paths.data, url, self.ctx.secrets),
            "Saved: the app opens that database at its next start.",
        )

    # ---------------------------------------------------------------- providers
    def _providers_tab(self) -> QWidget:
        w = QWidget()
        self.endpoints = QTableWidget(len(PROVIDERS), 2)
        self.endpoints.setObjectName("endpoints")
        self.endpoints.setHorizontalHeaderLabels(["Provider", "Base URL / host"])
        self.endpoints.horizontalHeader().setStretchLastSection(True)
        for r, name in enumerate(PROVIDERS):
            self.endpoints.setItem(r, 0, QTableWidgetItem(name))
            self.endpoints.setItem(r, 1, QTableWidgetItem(""))
        save = QPushButton("Save endpoints")
        save.clicked.connect(self._save_endpoints)
        lay = QVBoxLayout(w)
        lay.addWidget(self.endpoints)
        lay.addWidget(save)
        return w

    def _save_endpoints(self) -> None:
        values = {}
        for r in range(self.endpoints.rowCount()):
            name_item, url_item = self.endpoints.item(r, 0), self.endpoints.item(r, 1)
            if name_item is not None and url_item is not None and url_item.text().strip():
                values[name_item.text()] = url_item.text().strip()

        def save() -> None:
            require(self.actor, Permission.MANAGE_SETTINGS)
            self.ctx.change(set_setting, self.ctx.clock, self.actor, "endpoints", values)

        self._run(save, "Provider endpoints saved.")

    # ---------------------------------------------------------------- credentials
    def _credentials_tab(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        store = self.ctx.secrets
        form.addRow("Stored in:", QLabel(store.description if store else "none available"))
        self.cred_name = QComboBox()
        self.cred_name.addItems(CREDENTIALS)
        self.cred_value = QLineEdit()
        self.cred_value.setEchoMode(QLineEdit.EchoMode.Password)
        self.cred_value.setObjectName("credentialValue")
        save = QPushButton("Store in keyring")
        save.clicked.connect(self._save_credential)
        form.addRow("Credential:", self.cred_name)
        form.addRow("Secret:", self.cred_value)
        form.addRow("", save)
        if store is None or not store.available:
            form.addRow(
                "",
                QLabel(
                    "<span style='color:#b00020'>No keyring is available on this computer, so credentials "
                    "cannot be stored safely there. You can keep them in a file encrypted with a passphrase "
                    "instead (you will need the passphrase at every start).</span>"
                ),
            )
            self.passphrase = QLineEdit(placeholderText="passphrase (8+ characters)")
            self.passphrase.setObjectName("secretsPassphrase")
            self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
            use_file = QPushButton("Use an encrypted file")
            use_file.setObjectName("useEncryptedFile")
            use_file.clicked.connect(self._use_encrypted_file)
            form.addRow("Passphrase:", self.passphrase)
            form.addRow("", use_file)
        return w

    def _use_encrypted_file(self) -> None:
        passphrase = self.passphrase.text()
        self.passphrase.clear()
        try:
            self.ctx.secrets = SecretStore(
                fallback=EncryptedFileBackend(self.ctx.paths.data / "secrets.enc", passphrase)
            )
        except ClinicBillingError as exc:
            self.on_error(exc)
            return
        self.notify("Credentials will be kept in an encrypted file for this session.")

    def _save_credential(self) -> None:
        name, value = self.cred_name.currentText(), self.cred_value.text()
        self.cred_value.clear()

        def save() -> None:
            require(self.actor, Permission.MANAGE_SETTINGS)
            if self.ctx.secrets is None:
                from app.errors import SecretStoreUnavailable

                raise SecretStoreUnavailable("No secret store is available.")
            self.ctx.secrets.set(name, value)

        self._run(save, f"{name} stored.")

    # ---------------------------------------------------------------- schedules
    def _schedules_tab(self) -> QWidget:
        w = QWidget()
        self.schedules = QTableWidget(len(DEFAULT_SCHEDULES), 3)
        self.schedules.setObjectName("schedules")
        self.schedules.setHorizontalHeaderLabels(["Job", "What it does", "Cadence (JSON)"])
        self.schedules.horizontalHeader().setStretchLastSection(True)
        self.schedules.setColumnWidth(1, 380)
        save = QPushButton("Save schedules")
        save.clicked.connect(self._save_schedules)
        lay = QVBoxLayout(w)
        lay.addWidget(self.schedules)
        lay.addWidget(save)
        return w

    def _save_schedules(self) -> None:
        values: dict[str, Any] = {}
        for r in range(self.schedules.rowCount()):
            job, spec = self.schedules.item(r, 0), self.schedules.item(r, 2)
            if job is None or spec is None:
                continue
            try:
                values[job.text()] = json.loads(spec.text())
            except json.JSONDecodeError:
                from app.errors import ValidationFailed

                self.on_error(ValidationFailed(f"The cadence of {job.text()} is not valid JSON."))
                return

        def save() -> None:
            from app.scheduler import make_trigger

            require(self.actor, Permission.MANAGE_SETTINGS)
            for spec in values.values():
                make_trigger(spec)
            self.ctx.change(set_setting, self.ctx.clock, self.actor, "schedules", values)

        self._run(save, "Schedules saved; they apply at the next start.")

    # ---------------------------------------------------------------- runbook settings
    def _runbooks_tab(self) -> QWidget:
        w = QWidget()
        self.runbook_key = QComboBox()
        self.runbook_key.setObjectName("runbookKey")
        for s in CATALOGUE:
            self.runbook_key.addItem(s.description, s.key)
        self.runbook_value = QPlainTextEdit()
        self.runbook_value.setObjectName("runbookValue")
        self.runbook_values: dict[str, str] = {}
        self.runbook_key.currentIndexChanged.connect(self._show_runbook_value)
        save = QPushButton("Save this setting")
        save.setObjectName("saveRunbookSetting")
        save.clicked.connect(self._save_runbook_setting)
        lay = QVBoxLayout(w)
        lay.addWidget(QLabel("Rules the runbooks follow. Values are JSON; every problem is listed before saving."))
        lay.addWidget(self.runbook_key)
        lay.addWidget(self.runbook_value, 1)
        lay.addWidget(save)
        return w

    def _show_runbook_value(self) -> None:
        self.runbook_value.setPlainText(self.runbook_values.get(self.runbook_key.currentData(), ""))

    def _save_runbook_setting(self) -> None:
        key, text = self.runbook_key.currentData(), self.runbook_value.toPlainText()

        def save() -> None:
            self.ctx.change(save_runbook_setting, self.ctx.clock, self.actor, key, text)

        self._run(save, f"Saved: {key}.")

    # ---------------------------------------------------------------- users
    def _users_tab(self) -> QWidget:
        w = QWidget()
        self.users = QTableWidget(0, 3)
        self.users.setObjectName("users")
        self.users.setHorizontalHeaderLabels(["User", "Name", "Role"])
        self.users.horizontalHeader().setStretchLastSection(True)
        self.new_user, self.new_name = (
            QLineEdit(placeholderText="user name"),
            QLineEdit(placeholderText="full name"),
        )
        self.new_role = QComboBox()
        for role in Role:
            self.new_role.addItem(ROLE_LABELS[role], role.value)
        self.new_pin = QLineEdit(placeholderText="PIN (4+ digits)")
        self.new_pin.setEchoMode(QLineEdit.EchoMode.Password)
        add = QPushButton("Add user")
        add.clicked.connect(self._add_user)
        row = QHBoxLayout()
        for x in (self.new_user, self.new_name, self.new_role, self.new_pin, add):
            row.addWidget(x)
        lay = QVBoxLayout(w)
        lay.addWidget(self.users)
        lay.addLayout(row)
        return w

    def _add_user(self) -> None:
        username, name, pin = self.new_user.text(), self.new_name.text(), self.new_pin.text()
        role = Role(self.new_role.currentData())
        self.new_pin.clear()

        def add() -> None:
            require(self.actor, Permission.MANAGE_USERS)
            self.ctx.change(create_user, self.ctx.clock, self.actor, username, name, role, pin)

        self._run(add, f"User {username} added.")

    # ---------------------------------------------------------------- refresh
    def refresh(self) -> None:
        def load() -> tuple[dict[str, Any], list[UserRow], dict[str, str]]:
            return self.ctx.query(settings_snapshot)

        self.run_db(load, self._show)

    def _show(self, result: tuple[dict[str, Any], list[UserRow], dict[str, str]] | BaseException) -> None:
        if isinstance(result, BaseException):
            return
        settings, users, self.runbook_values = result
        self._show_runbook_value()
        endpoints = settings.get("endpoints") or {}
        for r, name in enumerate(PROVIDERS):
            self.endpoints.setItem(r, 1, QTableWidgetItem(str(endpoints.get(name, ""))))
        schedules = settings.get("schedules") or {}
        for r, sched in enumerate(DEFAULT_SCHEDULES):
            self.schedules.setItem(r, 0, QTableWidgetItem(sched.job))
            self.schedules.setItem(r, 1, QTableWidgetItem(sched.description))
            self.schedules.setItem(r, 2, QTableWidgetItem(json.dumps(schedules.get(sched.job, {}))))
        self.users.setRowCount(len(users))
        for r, u in enumerate(users):
            for c, v in enumerate((u.username, u.display_name, ROLE_LABELS[u.role])):
                self.users.setItem(r, c, QTableWidgetItem(v))
