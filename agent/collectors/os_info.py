"""Operating system, CPU and memory."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime

from agent.collectors.base import Collector, Facts, HostRecord
from agent.parsers import parse_cpuinfo, parse_os_release
from agent.system import System


@dataclass(frozen=True)
class OsFacts:
    system: str | None  # the kernel's name: Linux, Darwin...
    os_name: str | None
    os_version: str | None
    distribution: str | None  # os-release's ID
    kernel: str | None
    architecture: str | None
    boot_time: str | None
    cpu_model: str | None
    cpu_cores: int | None
    cpu_threads: int | None
    memory_bytes: int | None
    virtual: bool


class OsCollector(Collector[OsFacts]):
    name = "os"

    def collect(self, system: System, facts: Facts) -> OsFacts:
        release = parse_os_release(system.read_text("/etc/os-release") or system.read_text("/usr/lib/os-release") or "")
        cpu = parse_cpuinfo(system.read_text("/proc/cpuinfo") or "")
        uname = system.platform()
        return OsFacts(
            system=uname["system"] or None,
            os_name=release.get("NAME") or uname["system"] or None,
            os_version=release.get("VERSION_ID"),
            distribution=release.get("ID"),
            kernel=uname["kernel"] or None,
            architecture=uname["architecture"] or None,
            boot_time=datetime.fromtimestamp(system.boot_time(), UTC).replace(microsecond=0).isoformat(),
            cpu_model=cpu["cpu_model"],
            cpu_cores=system.cpu_count(logical=False),
            cpu_threads=system.cpu_count(logical=True),
            memory_bytes=system.memory_total(),
            virtual=cpu["virtual"],
        )

    def describe_host(self, facts: OsFacts, host: HostRecord) -> None:
        host.linux = facts.system == "Linux"
        attributes = dataclasses.asdict(facts)
        del attributes["system"], attributes["distribution"]
        host.attributes.update(attributes)
        if host.linux:
            host.attributes["distribution"] = facts.distribution
