"""Inventory collectors: small, named, gated, registered in one place.

Each collector reads one topic through the ``System`` seam, puts its facts (a dataclass
of its module) under its own name, and turns them into records (``agent.report`` asks
each, in this order); ``requires`` names collectors whose facts it uses (run first). A
collector that fails is reported in the facts' ``errors`` and the others go on.
"""

from __future__ import annotations

import logging
from typing import Any

from agent.collectors.base import Collector, Facts
from agent.collectors.filesystems import FilesystemsCollector
from agent.collectors.identity import IdentityCollector
from agent.collectors.interfaces import InterfacesCollector
from agent.collectors.os_info import OsCollector
from agent.collectors.packages import DpkgCollector, RpmCollector
from agent.collectors.sockets import SocketsCollector
from agent.system import System

log = logging.getLogger(__name__)

REGISTRY: tuple[Collector[Any], ...] = (
    IdentityCollector(),
    OsCollector(),
    FilesystemsCollector(),
    InterfacesCollector(),
    DpkgCollector(),
    RpmCollector(),
    SocketsCollector(),
)


def collect_facts(system: System, collectors: tuple[Collector[Any], ...] = REGISTRY) -> Facts:
    """Run every enabled collector, dependencies first; a failure is kept, not raised."""
    facts: Facts = {"errors": {}}
    known = {c.name for c in collectors}
    done: set[str] = set()
    pending = list(collectors)
    while pending:
        ready = [c for c in pending if all(r in done or r not in known for r in c.requires)]
        if not ready:
            raise RuntimeError(f"collector dependencies cannot be met: {[c.name for c in pending]}")
        for collector in ready:
            pending.remove(collector)
            done.add(collector.name)
            try:
                if collector.is_enabled(system):
                    facts[collector.name] = collector.collect(system, facts)
            except Exception as exc:  # one failing topic must not lose the others
                log.warning("collector %s failed: %s", collector.name, exc)
                errors: dict[str, Any] = facts["errors"]
                errors[collector.name] = f"{type(exc).__name__}: {exc}"
    return facts


__all__ = ["REGISTRY", "Collector", "Facts", "collect_facts"]
