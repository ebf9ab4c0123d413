"""Mounted filesystems with their size and use (real filesystems only, as psutil lists them)."""

from __future__ import annotations

from typing import Any

from agent.collectors.base import Collector, Facts
from agent.system import System


class FilesystemsCollector(Collector):
    name = "filesystems"

    def collect(self, system: System, facts: Facts) -> list[dict[str, Any]]:
        result = []
        seen: set[str] = set()
        for part in system.partitions():
            if part.mount_point in seen:
                continue
            seen.add(part.mount_point)
            usage = system.disk_usage(part.mount_point)
            result.append(
                {
                    "mount_point": part.mount_point,
                    "device": part.device,
                    "fs_type": part.fs_type,
                    "size_bytes": usage[0] if usage else None,
                    "used_bytes": usage[1] if usage else None,
                }
            )
        return result
