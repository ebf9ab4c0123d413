"""Mounted filesystems with their size and use (real filesystems only, as psutil lists them)."""

from __future__ import annotations

from dataclasses import dataclass

from agent.collectors.base import Collector, Facts, HostReport
from agent.system import System
from schema.report_builder import drop_none


@dataclass(frozen=True)
class Filesystem:
    mount_point: str
    device: str
    fs_type: str
    size_bytes: int | None
    used_bytes: int | None


class FilesystemsCollector(Collector[list[Filesystem]]):
    name = "filesystems"

    def collect(self, system: System, facts: Facts) -> list[Filesystem]:
        result = []
        seen: set[str] = set()
        for part in system.partitions():
            if part.mount_point in seen:
                continue
            seen.add(part.mount_point)
            usage = system.disk_usage(part.mount_point)
            result.append(
                Filesystem(
                    mount_point=part.mount_point,
                    device=part.device,
                    fs_type=part.fs_type,
                    size_bytes=usage[0] if usage else None,
                    used_bytes=usage[1] if usage else None,
                )
            )
        return result

    def records(self, facts: list[Filesystem], report: HostReport) -> None:
        for fs in facts:
            report.builder.add(
                {
                    "ref": f"fs:{fs.mount_point}",
                    "class": "Filesystem",
                    "parent": report.host_ref,
                    "identity": {"mount_point": fs.mount_point},
                    "attributes": drop_none(
                        {
                            "name": fs.mount_point,
                            "device": fs.device,
                            "fs_type": fs.fs_type,
                            "size_bytes": fs.size_bytes,
                            "used_bytes": fs.used_bytes,
                        }
                    ),
                }
            )
