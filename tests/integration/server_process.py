"""``cmdb-server`` run as a real process on a free loopback port, for the tests of clients."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from cmdb_server.config import Settings

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(CMDB_NEO4J_URI=settings.neo4j_uri)
    if settings.bootstrap_admin_token is not None:
        env["CMDB_BOOTSTRAP_ADMIN_TOKEN"] = settings.bootstrap_admin_token.get_secret_value()
    if settings.secret_key is not None:
        env["CMDB_SECRET_KEY"] = settings.secret_key.get_secret_value()
    if settings.neo4j_password is not None:
        env.update(
            CMDB_NEO4J_USER=settings.neo4j_user,
            CMDB_NEO4J_PASSWORD=settings.neo4j_password.get_secret_value(),
        )
    return env


class ServerProcess:
    """``tls``: (certificate file, key file, CA file that verifies it) to serve HTTPS.
    ``env``: more CMDB_* settings for this process. Its output goes to a file (a pipe
    nobody reads would block a server that logs every request once it is full)."""

    def __init__(
        self, settings: Settings, tls: tuple[Path, Path, Path] | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.settings = settings
        self.env = env or {}
        self.port = free_port()
        self.tls = tls
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[str] | None = None
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (lives as long as the process)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def start(self, timeout: float = 120) -> None:
        tls_args = ["--ssl-certfile", str(self.tls[0]), "--ssl-keyfile", str(self.tls[1])] if self.tls else []
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(self.tls[2])) if self.tls else True
        self.process = subprocess.Popen(
            [str(BIN / "cmdb-server"), "--host", "127.0.0.1", "--port", str(self.port), *tls_args],
            env=server_env(self.settings) | self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1, verify=verify).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                self.process.wait()
                raise RuntimeError(f"cmdb-server did not become ready:\n{self.output()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
