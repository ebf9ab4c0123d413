"""The on-disk spool: reports waiting for the server, delivered oldest first.

Every report goes through the spool, so a crash or an unreachable server loses
nothing: a report is removed only once the server has answered for it. The spool is
bounded; when full, the oldest report is dropped with a warning (newer ones describe the
host better). File names sort by the time they were written. Beside a report whose
deliveries the server failed, ``<name>.failures`` counts them (see agent/transport.py).
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
FAILURES_SUFFIX = ".failures"


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
            self.remove(old)
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
        self._failures(path).unlink(missing_ok=True)

    def reject(self, path: Path, reason: str) -> Path:
        """Keep a report the server refused for good, with the reason, out of the queue."""
        rejected = self.directory / "rejected"
        rejected.mkdir(exist_ok=True)
        target = rejected / path.name
        path.replace(target)
        target.with_suffix(".reason.txt").write_text(reason + "\n", encoding="utf-8")
        self._failures(path).unlink(missing_ok=True)
        return target

    def count_failure(self, path: Path) -> int:
        """One more delivery of this report failed by the server: how many so far."""
        counter = self._failures(path)
        try:
            count = int(counter.read_text(encoding="utf-8")) + 1
        except (OSError, ValueError):
            count = 1
        counter.write_text(f"{count}\n", encoding="utf-8")
        return count

    @staticmethod
    def _failures(path: Path) -> Path:
        return path.with_name(path.name.removesuffix(SUFFIX) + FAILURES_SUFFIX)
