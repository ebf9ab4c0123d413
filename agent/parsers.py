"""Parsers of what the agent reads from the system: pure functions over text.

Each is tested on recorded outputs of several distributions (tests/fixtures/agent/).
"""

from __future__ import annotations

import ipaddress
import shlex
from typing import Any

JUNK_DMI_VALUES = {
    "",
    "none",
    "not specified",
    "not applicable",
    "to be filled by o.e.m.",
    "default string",
    "system serial number",
    "system product name",
    "system manufacturer",
    "0",
    "00000000",
    "0123456789",
    "n/a",
}


def clean_dmi(value: str | None) -> str | None:
    """A DMI field, or None when it holds one of the placeholders vendors ship."""
    if value is None:
        return None
    value = value.strip()
    return None if value.lower() in JUNK_DMI_VALUES else value


def parse_os_release(text: str) -> dict[str, str]:
    """/etc/os-release (or /usr/lib/os-release) as a dict: shell-quoted KEY=value lines."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw)
        except ValueError:
            parts = [raw.strip("\"'")]
        result[key.strip()] = parts[0] if parts else ""
    return result


def parse_dpkg_query(text: str) -> list[dict[str, str]]:
    """Output of ``dpkg-query -W -f='${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Status}\\n'``.

    Only packages whose status is ``installed`` (not removed packages whose configuration
    files remain).
    """
    packages = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != 4 or fields[3].strip() != "installed":
            continue
        name, version, arch, _ = fields
        packages.append({"package_name": name, "version": version, "architecture": arch, "manager": "dpkg"})
    return packages


def parse_rpm_query(text: str) -> list[dict[str, str]]:
    """Output of ``rpm -qa --qf '%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\n'``.

    The version keeps the epoch when it is not 0, as ``rpm -q`` compares them (``1:2.3-4``).
    ``gpg-pubkey`` entries are keys, not software, and are left out.
    """
    packages = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != 4:
            continue
        package = rpm_package(*fields)
        if package is not None:
            packages.append(package)
    return packages


def rpm_package(name: str, epoch: str, version: str, arch: str) -> dict[str, str] | None:
    """One rpm package's identity as every source names it (``version`` is VERSION-RELEASE):
    the epoch in front when it is not 0, ``(none)`` arch as noarch; None for a ``gpg-pubkey``."""
    if name == "gpg-pubkey":
        return None
    if epoch not in ("", "0", "(none)"):
        version = f"{epoch}:{version}"
    arch = "noarch" if arch == "(none)" else arch
    return {"package_name": name, "version": version, "architecture": arch, "manager": "rpm"}


def parse_default_route_interface(proc_net_route: str) -> str | None:
    """The interface of the IPv4 default route, from /proc/net/route (lowest metric wins)."""
    best: tuple[int, str] | None = None
    for line in proc_net_route.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8 or fields[1] != "00000000" or fields[7] != "00000000":
            continue
        metric = int(fields[6])
        if best is None or metric < best[0]:
            best = (metric, fields[0])
    return best[1] if best else None


def parse_cpuinfo(text: str) -> dict[str, Any]:
    """The CPU model and whether a hypervisor flag is set, from /proc/cpuinfo (x86 and ARM)."""
    model = None
    virtual = False
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if (
            model is None
            and key in ("model name", "hardware", "cpu model", "processor")
            and value
            and not value.isdigit()
        ):
            model = value
        if key == "flags" and "hypervisor" in value.split():
            virtual = True
    return {"cpu_model": model, "virtual": virtual}


def canonical_address(address: str) -> str:
    """An IP address in canonical text: scope suffix dropped, IPv4-mapped IPv6 as IPv4."""
    address = address.split("%", 1)[0]
    parsed = ipaddress.ip_address(address)
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(parsed)


def prefix_length(netmask: str | None, version: int) -> int:
    """Prefix length of a netmask given as an address (255.255.255.0, ffff:ffff::)."""
    if not netmask:
        return 32 if version == 4 else 128
    return bin(int(ipaddress.ip_address(netmask.split("%", 1)[0]))).count("1")


def is_host_scoped(address: str) -> bool:
    """Loopback and link-local addresses mean something only on one host (or one link)."""
    parsed = ipaddress.ip_address(address)
    return parsed.is_loopback or parsed.is_link_local or parsed.is_unspecified


def parse_cgroup_unit(text: str) -> str | None:
    """/proc/<pid>/cgroup: the systemd service unit the process runs in, if any.

    cgroup v2 has one line ``0::/system.slice/nginx.service``; v1 has a ``name=systemd``
    hierarchy line. Only ``.service`` units count (a login session's ``.scope`` does not).
    """
    for line in text.splitlines():
        _, _, rest = line.partition(":")
        hierarchy, _, path = rest.partition(":")
        if hierarchy not in ("", "name=systemd"):
            continue
        for part in reversed(path.split("/")):
            if part.endswith(".service"):
                return part
    return None


IFF_SLAVE = 0x800
"""``/sys/class/net/<if>/flags``: the interface is a port of a bond or team (a bridge's ports are not)."""


def aggregate_of(flags: str | None, master_uevent: str | None) -> str | None:
    """The bond or team an interface is a port of, from its sysfs ``flags`` (hex) and its
    ``master/uevent`` (``INTERFACE=bond0``); None for any other interface."""
    try:
        is_port = flags is not None and bool(int(flags.strip(), 16) & IFF_SLAVE)
    except ValueError:
        return None
    if not is_port or not master_uevent:
        return None
    for line in master_uevent.splitlines():
        key, _, value = line.partition("=")
        if key == "INTERFACE" and value.strip():
            return value.strip()
    return None
