"""The scanner contract: what every protocol's scanner answers, so the sweep never branches on one.

A scanner reads one protocol (SNMP, SSH...) from one address in two steps:

- ``probe(address)`` asks whether anything answers, as cheaply as the protocol allows (one
  timeout for a silent address, every credential at once where it can). It returns a
  ``Probe``: a ``handle`` to collect with when something answered (an SNMP client bound to
  the credential that worked, say), else none and the ``result`` that says why not.
- ``collect(probe)`` reads what answered and returns its ``ProtocolResult``: the status,
  a reason a person reads, the report, and the credential that worked.

Probes wait for silence and cost little; collection is CPU and bandwidth. The sweep runs
them under separate bounds, and a scanner's failure (an exception) becomes that protocol's
error result, never the sweep's.

Scanners are registered in ``REGISTRY`` by module path, so that a sweep imports only the
scanners its credentials call for: pysnmp or paramiko cost a third and a fifth of a second
to import, more than the first packet may take (issue 17: under 0.3 s). A new protocol is a
module with a class that answers ``Scanner`` and one line here (CONTRIBUTING.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from discovery.config import DiscoveryConfig
from discovery.results import ProtocolResult, Status

HandleT = TypeVar("HandleT")


@dataclass(frozen=True)
class Probe(Generic[HandleT]):
    """What a probe learnt of one address over one protocol.

    ``handle`` is what ``collect`` goes on with when the address answered (None when it did
    not); ``result`` is the outcome so far: OK with the credential that worked, or why not.
    """

    result: ProtocolResult
    handle: HandleT | None = None

    @property
    def answered(self) -> bool:
        return self.handle is not None


class Scanner(Protocol[HandleT]):
    """One protocol's scanner, made once per sweep (per worker process) from the config."""

    protocol: str

    async def probe(self, address: str) -> Probe[HandleT]:
        """Whether ``address`` answers and how to collect it; costs about one timeout when silent."""
        ...

    async def collect(self, probe: Probe[HandleT]) -> ProtocolResult:
        """Read an address that answered the probe and build its report."""
        ...

    def close(self) -> None:
        """Let go of what the scanner holds for the sweep (an SNMP engine's sockets)."""
        ...


@dataclass(frozen=True)
class ScannerEntry:
    """A registered scanner: its protocol, where it lives, and whether a config calls for it.

    ``wanted`` reads only the config, so that a scanner nobody asked for is never imported.
    """

    protocol: str
    factory: str  # "module:attribute", a callable taking the config and returning a Scanner
    wanted: Callable[[DiscoveryConfig], bool]

    def load(self, config: DiscoveryConfig) -> Scanner[Any]:
        module, _, name = self.factory.partition(":")
        factory: Callable[[DiscoveryConfig], Scanner[Any]] = getattr(importlib.import_module(module), name)
        return factory(config)

    def import_module(self) -> None:
        """Import the scanner's module (before worker processes fork, so that each need not)."""
        importlib.import_module(self.factory.partition(":")[0])


REGISTRY: tuple[ScannerEntry, ...] = (
    ScannerEntry("snmp", "discovery.snmp.scanner:SnmpScanner", lambda config: bool(config.snmp.credentials)),
    ScannerEntry("ssh", "discovery.ssh.scanner:SshScanner", lambda config: bool(config.ssh.credentials)),
)
"""Every scanner, in the order a target's results list them."""


def wanted_scanners(config: DiscoveryConfig, registry: tuple[ScannerEntry, ...] = REGISTRY) -> list[ScannerEntry]:
    """The registered scanners that the config has credentials for."""
    return [entry for entry in registry if entry.wanted(config)]


def failed(protocol: str, error: BaseException) -> ProtocolResult:
    """A scanner's exception as that protocol's result: the target goes on, and so does the sweep."""
    return ProtocolResult(protocol, Status.ERROR, f"{type(error).__name__}: {error}")
