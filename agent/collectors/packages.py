"""Installed packages, from the package managers that are present (dpkg, rpm)."""

from __future__ import annotations

from agent.collectors.base import Collector, Facts
from agent.parsers import parse_dpkg_query, parse_rpm_query
from agent.system import System

DPKG_QUERY = ["dpkg-query", "-W", "-f=${Package}\t${Version}\t${Architecture}\t${db:Status-Status}\n"]
RPM_QUERY = ["rpm", "-qa", "--qf", "%{NAME}\t%{EPOCHNUM}\t%{VERSION}-%{RELEASE}\t%{ARCH}\n"]


class DpkgCollector(Collector):
    name = "dpkg"

    def is_enabled(self, system: System) -> bool:
        return system.has_command("dpkg-query")

    def collect(self, system: System, facts: Facts) -> list[dict[str, str]]:
        output = system.run(DPKG_QUERY)
        if output is None:
            raise RuntimeError("dpkg-query failed")
        return parse_dpkg_query(output)


class RpmCollector(Collector):
    name = "rpm"

    def is_enabled(self, system: System) -> bool:
        # Debian can carry an rpm binary with an empty database: ask only where rpm owns the system.
        return system.has_command("rpm") and not system.has_command("dpkg-query")

    def collect(self, system: System, facts: Facts) -> list[dict[str, str]]:
        output = system.run(RPM_QUERY)
        if output is None:
            raise RuntimeError("rpm -qa failed")
        return parse_rpm_query(output)
