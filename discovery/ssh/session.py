"""One SSH connection per host (paramiko), with verified host keys and per-command timeouts.

Host keys are checked against a known-hosts file. With trust on first use, an unknown
key is recorded there (and its fingerprint put on the CI); a key that differs from the
recorded one is always refused.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from pathlib import Path
from types import TracebackType

import paramiko

from discovery.config import SshCredential, SshSettings
from discovery.results import Status
from discovery.ssh.batch import CommandResult


class SshFailure(Exception):
    def __init__(self, status: Status, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


_known_hosts_lock = threading.Lock()


class _TrustOnFirstUse(paramiko.MissingHostKeyPolicy):
    """Record an unknown host key in the known-hosts file (never called for a changed key)."""

    def __init__(self, path: str | None) -> None:
        self.path = path

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        client.get_host_keys().add(hostname, key.get_name(), key)
        if self.path:
            with _known_hosts_lock:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "a", encoding="utf-8") as handle:
                    handle.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")


class SshSession:
    def __init__(self, address: str, settings: SshSettings, credential: SshCredential) -> None:
        self.address = address
        self.settings = settings
        self.credential = credential
        self.client = paramiko.SSHClient()
        self.host_key_fingerprint: str | None = None

    def __enter__(self) -> SshSession:
        self.open()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.client.close()

    def open(self) -> None:
        settings = self.settings
        if settings.known_hosts and Path(settings.known_hosts).exists():
            self.client.load_host_keys(settings.known_hosts)
        policy: paramiko.MissingHostKeyPolicy = (
            _TrustOnFirstUse(settings.known_hosts if settings.record_host_keys else None)
            if settings.trust_on_first_use
            else paramiko.RejectPolicy()
        )
        self.client.set_missing_host_key_policy(policy)
        password = self.credential.password.reveal() if self.credential.password else None
        try:
            self.client.connect(
                self.address,
                port=settings.port,
                username=self.credential.user,
                key_filename=self.credential.key_file,
                password=password,
                timeout=settings.timeout_seconds,
                banner_timeout=settings.timeout_seconds,
                auth_timeout=settings.timeout_seconds,
                allow_agent=False,
                look_for_keys=False,
            )
        except paramiko.BadHostKeyException as exc:
            raise SshFailure(
                Status.HOST_KEY_REFUSED,
                f"host key changed: known {fingerprint(exc.expected_key)}, offered {fingerprint(exc.key)}; refused",
            ) from None
        except paramiko.AuthenticationException:
            raise SshFailure(Status.AUTH_FAILED, f"authentication failed for user {self.credential.user}") from None
        except paramiko.ssh_exception.IncompatiblePeer as exc:
            raise SshFailure(Status.UNSUPPORTED, f"no common algorithms (an old SSH server?): {exc}") from None
        except paramiko.ssh_exception.NoValidConnectionsError:
            raise SshFailure(Status.NO_ANSWER, f"nothing listens on port {settings.port}") from None
        except TimeoutError:
            raise SshFailure(Status.NO_ANSWER, f"no answer within {settings.timeout_seconds:g}s") from None
        except paramiko.SSHException as exc:
            if "not found in known_hosts" in str(exc):
                raise SshFailure(
                    Status.HOST_KEY_REFUSED,
                    "unknown host key (not in the known-hosts file; trust_on_first_use records it)",
                ) from None
            raise SshFailure(Status.ERROR, f"SSH error: {exc}") from None
        except OSError as exc:
            raise SshFailure(Status.NO_ANSWER, f"cannot connect: {exc.strerror or exc}") from None
        transport = self.client.get_transport()
        if transport is not None:
            self.host_key_fingerprint = fingerprint(transport.get_remote_server_key())

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        """Run one read-only command; a timeout or failure is an empty result, not an exception."""
        try:
            _, stdout, _ = self.client.exec_command(command, timeout=timeout or self.settings.command_timeout_seconds)
            output = stdout.read().decode("utf-8", errors="replace")
            return CommandResult(stdout.channel.recv_exit_status(), output)
        except (TimeoutError, paramiko.SSHException):
            return CommandResult(-1, "")
