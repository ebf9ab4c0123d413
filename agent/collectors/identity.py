"""Who this host is: machine-id, names, and the hardware's own identity (DMI)."""

from __future__ import annotations

from typing import Any

from agent.collectors.base import Collector, Facts
from agent.parsers import clean_dmi
from agent.system import System

DMI = "/sys/class/dmi/id/"


class IdentityCollector(Collector):
    name = "identity"

    def collect(self, system: System, facts: Facts) -> dict[str, Any]:
        machine_id = (system.read_text("/etc/machine-id") or system.read_text("/var/lib/dbus/machine-id") or "").strip()
        hostname = system.hostname().split(".", 1)[0]
        fqdn = system.fqdn()
        return {
            "machine_id": machine_id or None,
            "hostname": hostname,
            "fqdn": fqdn if fqdn and "." in fqdn else None,
            "vendor": clean_dmi(system.read_text(DMI + "sys_vendor")),
            "model": clean_dmi(system.read_text(DMI + "product_name")),
            "serial": clean_dmi(system.read_text(DMI + "product_serial")),
            "hardware_uuid": clean_dmi(system.read_text(DMI + "product_uuid")),
        }
