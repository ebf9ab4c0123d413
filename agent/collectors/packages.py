"""Installed packages, from the package managers that are present (dpkg, rpm)."""

from __future__ import annotations

from dataclasses import dataclass

from agent.collectors.base import Collector, Facts, HostReport
from agent.parsers import parse_dpkg_query, parse_rpm_query
from agent.system import System

DPKG_QUERY = ["dpkg-query", "-W", "-f=${Package}\t${Version}\t${Architecture}\t${db:Status-Status}\n"]
RPM_QUERY = ["rpm", "-qa", "--qf", "%{NAME}\t%{EPOCHNUM}\t%{VERSION}-%{RELEASE}\t%{ARCH}\n"]


@dataclass(frozen=True)
class Package:
    package_name: str
    version: str
    architecture: str
    manager: str  # dpkg or rpm

    def identity(self) -> dict[str, str]:
        """Its identity keys (not dataclasses.asdict: a deep copy, a third of a host's report time)."""
        return {
            "package_name": self.package_name,
            "version": self.version,
            "architecture": self.architecture,
            "manager": self.manager,
        }


class PackagesCollector(Collector[list[Package]]):
    """What every package manager's collector does with its packages: one record each, installed
    on the host."""

    def records(self, facts: list[Package], report: HostReport) -> None:
        for pkg in facts:
            ref = f"pkg:{pkg.manager}:{pkg.package_name}:{pkg.architecture}:{pkg.version}"
            report.builder.add(
                {
                    "ref": ref,
                    "class": "SoftwarePackage",
                    "identity": pkg.identity(),
                    "attributes": {"name": pkg.package_name},
                }
            )
            report.builder.relate("INSTALLED", report.host_ref, ref)


class DpkgCollector(PackagesCollector):
    name = "dpkg"

    def is_enabled(self, system: System) -> bool:
        return system.has_command("dpkg-query")

    def collect(self, system: System, facts: Facts) -> list[Package]:
        output = system.run(DPKG_QUERY)
        if output is None:
            raise RuntimeError("dpkg-query failed")
        return [Package(**p) for p in parse_dpkg_query(output)]


class RpmCollector(PackagesCollector):
    name = "rpm"

    def is_enabled(self, system: System) -> bool:
        # Debian can carry an rpm binary with an empty database: ask only where rpm owns the system.
        return system.has_command("rpm") and not system.has_command("dpkg-query")

    def collect(self, system: System, facts: Facts) -> list[Package]:
        output = system.run(RPM_QUERY)
        if output is None:
            raise RuntimeError("rpm -qa failed")
        return [Package(**p) for p in parse_rpm_query(output)]
