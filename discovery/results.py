"""One result per target: a sweep never stops for one address (the nornir lesson)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    OK = "ok"
    NO_ANSWER = "no answer"
    AUTH_FAILED = "auth failed"
    HOST_KEY_REFUSED = "host key refused"
    UNSUPPORTED = "unsupported"
    ERROR = "error"


# When every protocol failed, the result shows the most telling failure.
_TELLING = [Status.HOST_KEY_REFUSED, Status.AUTH_FAILED, Status.UNSUPPORTED, Status.ERROR, Status.NO_ANSWER]


@dataclass
class ProtocolResult:
    protocol: str  # ssh or snmp
    status: Status
    reason: str = ""
    report: dict[str, Any] | None = None
    credential: str | None = None  # the name of the credential set that worked


@dataclass
class TargetResult:
    address: str
    protocols: list[ProtocolResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def status(self) -> Status:
        if any(p.status is Status.OK for p in self.protocols):
            return Status.OK
        statuses = {p.status for p in self.protocols}
        return next((s for s in _TELLING if s in statuses), Status.NO_ANSWER)

    @property
    def reports(self) -> list[dict[str, Any]]:
        return [p.report for p in self.protocols if p.report is not None]

    @property
    def reason(self) -> str:
        wanted = self.status
        return "; ".join(f"{p.protocol}: {p.reason}" for p in self.protocols if p.status is wanted and p.reason)
