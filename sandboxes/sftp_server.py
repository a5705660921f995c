"""A fake insurer SFTP server: asyncssh on 127.0.0.1 with a generated host key and password login.

The server runs on its own event loop in a background thread and serves one folder (chroot).
``cut_after_bytes`` makes it drop the connection in the middle of an upload, once, so tests can
prove that an interrupted send leaves no half claim behind::

    with SftpSandbox(tmp_path, username="clinic", password="pw") as server:
        server.port, server.host_key_fingerprint   # "SHA256:..." as OpenSSH prints it
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from types import TracebackType
from typing import cast

import asyncssh


class _Login(asyncssh.SSHServer):
    def __init__(self, sandbox: SftpSandbox) -> None:
        self._sandbox = sandbox

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._sandbox._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._sandbox._connections = {c for c in self._sandbox._connections if not c.is_closed()}

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        self._sandbox.auth_attempts += 1
        return username == self._sandbox.username and password == self._sandbox.password


class _CuttableSftp(asyncssh.SFTPServer):
    """Chrooted SFTP that can drop the connection after a number of bytes written."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], sandbox: SftpSandbox) -> None:
        super().__init__(chan, chroot=str(sandbox.root).encode())
        self._sandbox = sandbox

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        budget = self._sandbox.cut_after_bytes
        if budget is None:
            return cast(int, super().write(file_obj, offset, data))  # local files: never awaitable
        written = self._sandbox._bytes_written
        if written + len(data) <= budget:
            self._sandbox._bytes_written += len(data)
            return cast(int, super().write(file_obj, offset, data))  # local files: never awaitable
        super().write(file_obj, offset, data[: budget - written])
        self._sandbox.cut_after_bytes = None  # one cut only
        self._sandbox.cuts += 1
        self.connection.abort()
        raise asyncssh.SFTPConnectionLost("connection cut by the sandbox")


class SftpSandbox:
    """A loopback SFTP server serving ``root``; use as a context manager."""

    def __init__(self, root: Path, *, username: str = "clinic", password: str = "secret") -> None:
        self.root = root
        self.username = username
        self.password = password
        self.cut_after_bytes: int | None = None
        self.cuts = 0
        self.auth_attempts = 0
        self._bytes_written = 0
        self._host_key = asyncssh.generate_private_key("ssh-ed25519")
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sftp-sandbox", daemon=True)
        self._server: asyncssh.SSHAcceptor | None = None
        self.port = 0

    @property
    def host_key_fingerprint(self) -> str:
        """The host key fingerprint as ``ssh-keygen -lf`` shows it: ``SHA256:<base64>``."""
        return str(self._host_key.get_fingerprint("sha256"))

    def cut_connection_after(self, n_bytes: int) -> None:
        """Drop the connection once ``n_bytes`` more bytes have been written by clients."""
        self._bytes_written = 0
        self.cut_after_bytes = n_bytes

    async def _listen(self) -> None:
        self._server = await asyncssh.create_server(
            lambda: _Login(self),
            "127.0.0.1",
            0,
            server_host_keys=[self._host_key],
            sftp_factory=lambda chan: _CuttableSftp(chan, self),
            allow_scp=False,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for conn in list(self._connections):
            conn.close()
            await conn.wait_closed()
        current = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def start(self) -> SftpSandbox:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> SftpSandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
