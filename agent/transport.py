"""Delivery of spooled reports to the server: bearer token, gzip, timeouts, retries.

Outcomes per report: delivered (2xx, or a replay the server recognised), retry later
(no answer, 429 or 503, or the token refused: it may be fixed), failed (the server
answered another 5xx: it may pass, or the report may be one the server cannot take), or
rejected for good (another 4xx: kept aside in the spool's ``rejected/`` folder with the
server's reason). A ``Retry-After`` the server sends (with 503 while its database is
away, or 429) is honoured: nothing is sent to it again before that time.
A report the server failed ``set_aside_after_failures`` times does not hold back the
ones behind it: see ``Transport.flush``.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

from agent.spool import Spool
from schema.report import SPOOL_DEPTH_HEADER

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"  # the server answered 5xx (not 503): retried, like RETRY, and counted
    REJECTED = "rejected"


@dataclass
class FlushResult:
    delivered: list[str] = field(default_factory=list)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # delivered report -> server's answer
    rejected: list[str] = field(default_factory=list)
    pending: int = 0
    last_error: str | None = None


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:300]


@dataclass(frozen=True)
class TransportSettings:
    server_url: str
    token: str
    timeout_seconds: float = 30.0
    retries: int = 3
    backoff_seconds: float = 1.0
    set_aside_after_failures: int = 3  # 0: a report the server keeps failing waits for good
    user_agent: str = "cmdb-agent"
    retry_after_max_seconds: float = 900.0  # a longer Retry-After is cut to this
    ca_file: str | None = None  # PEM CA bundle to verify an https server with (default: the system's)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds, or an HTTP date); None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class TransportConfigError(ValueError):
    pass


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Certificate verification always on: the system's CAs, or only those of ``ca_file``
    (a private CA, or the server's self-signed certificate)."""
    if ca_file is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise TransportConfigError(f"cannot use ca_file {ca_file}: {exc}") from None


def _untrusted_certificate(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class Transport:
    """Sends reports for the agent and for the discovery collectors alike."""

    def __init__(
        self,
        settings: TransportSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = settings
        self.sleep = sleep
        self.clock = clock
        self.not_before = 0.0  # clock() before which the server asked not to be sent anything
        self.client = httpx.Client(
            base_url=settings.server_url,
            timeout=httpx.Timeout(settings.timeout_seconds, connect=min(5.0, settings.timeout_seconds)),
            headers={"Authorization": f"Bearer {settings.token}", "User-Agent": settings.user_agent},
            verify=tls_context(settings.ca_file),
        )

    def close(self) -> None:
        self.client.close()

    def send(self, body: bytes) -> tuple[Outcome, str]:
        """POST one gzip-compressed report, retrying transient failures with backoff."""
        outcome, reason, _ = self.deliver(body)
        return outcome, reason

    def deliver(self, body: bytes, spool_depth: int | None = None) -> tuple[Outcome, str, dict[str, Any]]:
        """Like ``send``; also the server's answer (the ingest summary, or the error).
        ``spool_depth``: the reports waiting in the spool, this one included, told to the
        server beside the report (its metrics), not in it."""
        depth = {SPOOL_DEPTH_HEADER: str(spool_depth)} if spool_depth is not None else {}
        reason = ""
        answer: dict[str, Any] = {}
        outcome = Outcome.RETRY
        for attempt in range(self.config.retries):
            pause = self.config.backoff_seconds * 2 ** (attempt - 1) if attempt else 0.0
            pause = max(pause, self.not_before - self.clock())
            if pause > 0:
                self.sleep(pause)
            try:
                response = self.client.post(
                    "/api/v1/reports",
                    content=body,
                    headers={"Content-Encoding": "gzip", "Content-Type": "application/json", **depth},
                )
            except httpx.TransportError as exc:
                outcome = Outcome.RETRY
                if _untrusted_certificate(exc):
                    # No retry helps until the configuration changes; the report waits in the spool.
                    reason = (
                        f"TLS: the server's certificate is not trusted ({exc}); "
                        "set ca_file (CMDB_AGENT_CA_FILE, cmdb-discover --ca-file) to the CA that signed it"
                    )
                    break
                reason = f"server unreachable: {exc}"
                continue
            try:
                answer = response.json()
            except ValueError:
                answer = {}
            if response.is_success:
                return Outcome.DELIVERED, "ok", answer
            reason = f"HTTP {response.status_code}: {_message(response)}"
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is not None:
                self.not_before = self.clock() + min(wait, self.config.retry_after_max_seconds)
            if response.status_code >= 500 or response.status_code == 429:
                # 503: the server (its database) is away for now, not this report's fault.
                transient = response.status_code in (429, 503)
                outcome = Outcome.RETRY if transient else Outcome.FAILED
                continue
            if response.status_code in (401, 403):
                return Outcome.RETRY, reason, answer  # a token problem: keep the report until it is fixed
            return Outcome.REJECTED, reason, answer
        return outcome, reason, answer

    def flush(self, spool: Spool) -> FlushResult:
        """Deliver spooled reports oldest first; stop at the first that must wait.

        A report whose delivery the server failed (5xx) ``set_aside_after_failures`` times
        does not hold back the ones behind it: they are sent, and once one of them goes
        through, the failing report is set aside in ``rejected/`` with its reason (the
        server would now refuse it as older than the last report applied). While the
        server fails them all (an outage), nothing is set aside and every report waits.
        """
        result = FlushResult()
        stuck: list[tuple[Path, str]] = []  # failed too often: set aside once a report behind goes through
        waiting = spool.pending()
        for index, path in enumerate(waiting):
            outcome, reason, answer = self.deliver(spool.read(path), spool_depth=len(waiting) - index)
            if outcome is Outcome.DELIVERED:
                spool.remove(path)
                result.delivered.append(path.name)
                result.answers[path.name] = answer
                for failed, why in stuck:
                    kept = spool.reject(failed, why)
                    log.error("set aside %s, which the server kept failing (%s); kept in %s", failed.name, why, kept)
                    result.rejected.append(failed.name)
                stuck = []
            elif outcome is Outcome.REJECTED:
                kept = spool.reject(path, reason)
                log.error("server rejected report %s for good (%s); kept in %s", path.name, reason, kept)
                result.rejected.append(path.name)
            else:
                result.last_error = reason
                limit = self.config.set_aside_after_failures
                failures = spool.count_failure(path) if outcome is Outcome.FAILED else 0
                if not limit or failures < limit:
                    break
                log.warning(
                    "the server failed %d deliveries of report %s (%s); sending the reports behind it",
                    failures,
                    path.name,
                    reason,
                )
                stuck.append((path, f"{reason} (the server failed {failures} deliveries of it, and took the next)"))
        result.pending = len(spool.pending())
        if result.pending:
            log.warning("%s; %d report(s) stay in the spool %s", result.last_error, result.pending, spool.directory)
        return result
