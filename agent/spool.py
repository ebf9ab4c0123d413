"""The on-disk spool: reports waiting for the server, delivered oldest first.

Every report goes through the spool, so a crash or an unreachable server loses
nothing: a report is removed only once the server has answered for it. The spool is
bounded; when full, the oldest report is dropped with a warning (newer ones describe the
host better). File names sort by the time they were written.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SUFFIX = ".json.gz"


class Spool:
    def __init__(self, directory: str | Path, max_reports: int) -> None:
        self.directory = Path(directory)
        self.max_reports = max_reports

    def put(self, report: dict[str, Any]) -> Path:
        """Store a report durably (write, fsync, rename); drop the oldest beyond the bound."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"{time.time_ns():020d}-{report['report_id']}{SUFFIX}"
        path = self.directory / name
        temporary = path.with_suffix(".tmp")
        with open(temporary, "wb") as handle:
            handle.write(gzip.compress(json.dumps(report).encode("utf-8")))
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
        pending = self.pending()
        for old in pending[: max(0, len(pending) - self.max_reports)]:
            log.warning("spool full (%d reports): dropping the oldest, %s", self.max_reports, old.name)
            old.unlink(missing_ok=True)
        return path

    def pending(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if p.name.endswith(SUFFIX))

    @staticmethod
    def read(path: Path) -> bytes:
        """The report as gzip-compressed JSON, as the transport sends it."""
        return path.read_bytes()

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def reject(self, path: Path, reason: str) -> Path:
        """Keep a report the server refused for good, with the reason, out of the queue."""
        rejected = self.directory / "rejected"
        rejected.mkdir(exist_ok=True)
        target = rejected / path.name
        path.replace(target)
        target.with_suffix(".reason.txt").write_text(reason + "\n", encoding="utf-8")
        return target
