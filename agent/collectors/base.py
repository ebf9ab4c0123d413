"""The contract every collector implements."""

from __future__ import annotations

from typing import Any, ClassVar

from agent.system import System

Facts = dict[str, Any]


class Collector:
    name: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ()

    def is_enabled(self, system: System) -> bool:
        """Cheap check that this topic can be read here (a command exists, say)."""
        return True

    def collect(self, system: System, facts: Facts) -> Any:
        raise NotImplementedError
