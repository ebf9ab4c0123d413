"""The contract every collector implements: one topic, read, typed, and turned into records.

A collector reads its topic through the ``System`` seam (``collect``), returns its facts
as a dataclass of its own, says what those facts tell of the host itself
(``describe_host``: identity keys and attributes of the Host record) and adds the records
of its topic (``records``). ``agent.report.build_report`` only assembles: it asks every
registered collector in turn, so a new topic is one module (CONTRIBUTING.md). The agent
and SSH discovery (discovery/ssh/system.py) run the same collectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from agent.system import System
from schema.report_builder import ReportBuilder

Facts = dict[str, Any]
"""Every topic's facts by collector name (each a collector's dataclass), and ``errors``."""

F = TypeVar("F")

HOST_REF = "host"


@dataclass
class HostRecord:
    """What the topics say of the host itself; ``build_report`` makes the Host record of it."""

    identity: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    linux: bool = False


@dataclass
class HostReport:
    """The report of one host while the topics add to it, and what they share."""

    network_domain: str
    builder: ReportBuilder = field(default_factory=ReportBuilder)
    own_addresses: set[str] = field(default_factory=set)
    """Every address configured on the host (interfaces), so that a connection to one is local."""

    host_ref: str = HOST_REF


class Collector(Generic[F]):
    name: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ()

    def is_enabled(self, system: System) -> bool:
        """Cheap check that this topic can be read here (a command exists, say)."""
        return True

    def collect(self, system: System, facts: Facts) -> F:
        raise NotImplementedError

    def describe_host(self, facts: F, host: HostRecord) -> None:
        """What this topic tells of the host itself (identity keys, attributes); most tell nothing."""

    def records(self, facts: F, report: HostReport) -> None:
        """Add this topic's records and relations (run in the registry's order, after the host's)."""
