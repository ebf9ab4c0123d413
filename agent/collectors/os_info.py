"""Operating system, CPU and memory."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agent.collectors.base import Collector, Facts
from agent.parsers import parse_cpuinfo, parse_os_release
from agent.system import System


class OsCollector(Collector):
    name = "os"

    def collect(self, system: System, facts: Facts) -> dict[str, Any]:
        release = parse_os_release(system.read_text("/etc/os-release") or system.read_text("/usr/lib/os-release") or "")
        cpu = parse_cpuinfo(system.read_text("/proc/cpuinfo") or "")
        uname = system.platform()
        return {
            "system": uname["system"],
            "os_name": release.get("NAME") or uname["system"],
            "os_version": release.get("VERSION_ID"),
            "distribution": release.get("ID"),
            "kernel": uname["kernel"] or None,
            "architecture": uname["architecture"] or None,
            "boot_time": datetime.fromtimestamp(system.boot_time(), UTC).replace(microsecond=0).isoformat(),
            "cpu_model": cpu["cpu_model"],
            "cpu_cores": system.cpu_count(logical=False),
            "cpu_threads": system.cpu_count(logical=True),
            "memory_bytes": system.memory_total(),
            "virtual": cpu["virtual"],
        }
