"""Delivery of spooled reports to the server: bearer token, gzip, timeouts, retries.

Outcomes per report: delivered (2xx, or a replay the server recognised), retry later
(no answer, 5xx, 429, or the token refused: it may be fixed), or rejected for good
(another 4xx: kept aside in the spool's ``rejected/`` folder with the server's reason).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

from agent.spool import Spool

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
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
    user_agent: str = "cmdb-agent"


class Transport:
    """Sends reports for the agent and for the discovery collectors alike."""

    def __init__(self, settings: TransportSettings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = settings
        self.sleep = sleep
        self.client = httpx.Client(
            base_url=settings.server_url,
            timeout=httpx.Timeout(settings.timeout_seconds, connect=min(5.0, settings.timeout_seconds)),
            headers={"Authorization": f"Bearer {settings.token}", "User-Agent": settings.user_agent},
        )

    def close(self) -> None:
        self.client.close()

    def send(self, body: bytes) -> tuple[Outcome, str]:
        """POST one gzip-compressed report, retrying transient failures with backoff."""
        outcome, reason, _ = self.deliver(body)
        return outcome, reason

    def deliver(self, body: bytes) -> tuple[Outcome, str, dict[str, Any]]:
        """Like ``send``; also the server's answer (the ingest summary, or the error)."""
        reason = ""
        answer: dict[str, Any] = {}
        for attempt in range(self.config.retries):
            if attempt:
                self.sleep(self.config.backoff_seconds * 2 ** (attempt - 1))
            try:
                response = self.client.post(
                    "/api/v1/reports",
                    content=body,
                    headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
                )
            except httpx.TransportError as exc:
                reason = f"server unreachable: {exc}"
                continue
            try:
                answer = response.json()
            except ValueError:
                answer = {}
            if response.is_success:
                return Outcome.DELIVERED, "ok", answer
            reason = f"HTTP {response.status_code}: {_message(response)}"
            if response.status_code >= 500 or response.status_code == 429:
                continue
            if response.status_code in (401, 403):
                return Outcome.RETRY, reason, answer  # a token problem: keep the report until it is fixed
            return Outcome.REJECTED, reason, answer
        return Outcome.RETRY, reason, answer

    def flush(self, spool: Spool) -> FlushResult:
        """Deliver spooled reports oldest first; stop at the first that must wait."""
        result = FlushResult()
        pending: list[Path] = spool.pending()
        for index, path in enumerate(pending):
            outcome, reason, answer = self.deliver(spool.read(path))
            if outcome is Outcome.DELIVERED:
                spool.remove(path)
                result.delivered.append(path.name)
                result.answers[path.name] = answer
            elif outcome is Outcome.REJECTED:
                kept = spool.reject(path, reason)
                log.error("server rejected report %s for good (%s); kept in %s", path.name, reason, kept)
                result.rejected.append(path.name)
            else:
                result.pending = len(pending) - index
                result.last_error = reason
                log.warning("%s; %d report(s) stay in the spool %s", reason, result.pending, spool.directory)
                break
        return result
