"""Who this host is: machine-id, names, and the hardware's own identity (DMI)."""

from __future__ import annotations

from dataclasses import dataclass

from agent.collectors.base import Collector, Facts, HostRecord
from agent.parsers import clean_dmi
from agent.system import System

DMI = "/sys/class/dmi/id/"


@dataclass(frozen=True)
class IdentityFacts:
    machine_id: str | None
    hostname: str | None  # the short name, without a domain
    fqdn: str | None  # only a name with a domain
    vendor: str | None
    model: str | None
    serial: str | None
    hardware_uuid: str | None


class IdentityCollector(Collector[IdentityFacts]):
    name = "identity"

    def collect(self, system: System, facts: Facts) -> IdentityFacts:
        machine_id = (system.read_text("/etc/machine-id") or system.read_text("/var/lib/dbus/machine-id") or "").strip()
        hostname = system.hostname().split(".", 1)[0]
        fqdn = system.fqdn()
        return IdentityFacts(
            machine_id=machine_id or None,
            hostname=hostname or None,
            fqdn=fqdn if fqdn and "." in fqdn else None,
            vendor=clean_dmi(system.read_text(DMI + "sys_vendor")),
            model=clean_dmi(system.read_text(DMI + "product_name")),
            serial=clean_dmi(system.read_text(DMI + "product_serial")),
            hardware_uuid=clean_dmi(system.read_text(DMI + "product_uuid")),
        )

    def describe_host(self, facts: IdentityFacts, host: HostRecord) -> None:
        # The host name identifies a host only beside its primary MAC (build_report's rule).
        host.identity.update(machine_id=facts.machine_id, fqdn=facts.fqdn, hostname=facts.hostname)
        host.attributes.update(
            name=facts.hostname,
            hostname=facts.hostname,
            vendor=facts.vendor,
            model=facts.model,
            serial=facts.serial,
            hardware_uuid=facts.hardware_uuid,
        )
