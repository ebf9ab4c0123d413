"""Where webhooks may be sent: refusing requests a subscription could aim at the server's
own network (server-side request forgery).

A delivery is a POST from inside the CMDB's network with a body the receiver does not
choose, but an admin token is enough to point it at cloud metadata (169.254.169.254),
Neo4j's HTTP port on loopback or any private service. So only public addresses are
targets, unless ``CMDB_WEBHOOK_ALLOWED_NETWORKS`` lists private ranges an operator trusts
(receivers on the same LAN). The rule is applied to the URL's literal address in every
spelling (``0x7f000001``, ``2130706433``, ``127.1``, ``::ffff:127.0.0.1``), to every address
its name resolves to when subscribing, and again at each delivery, which then connects to
the address it checked (a name that later resolves elsewhere, DNS rebinding, gains nothing).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)
"""Names of cloud metadata services (they resolve to link-local addresses inside the cloud)."""


class TargetRefused(ValueError):
    """A webhook URL the server will not send to; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower case, no trailing dot, IPv6 without brackets
    port: int
    literal: IPAddress | None  # the address, when the URL names one instead of a name

    @property
    def host_header(self) -> str:
        """The Host header a receiver expects (the URL's host, port only when not the default)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _literal_address(host: str) -> IPAddress | None:
    """The address a host part means when it is an address, in any spelling a resolver accepts."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        packed = socket.inet_aton(host)  # 0x7f000001, 2130706433, 127.1, 0177.0.0.1
    except OSError:
        return None
    return ipaddress.IPv4Address(packed)


def parse_target(url: str) -> Target:
    """The target of a webhook URL; TargetRefused for anything but a plain http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("an absolute http:// or https:// URL")
    if "@" in parts.netloc:
        raise TargetRefused("a URL with credentials (user:password@) is refused; sign with the secret instead")
    host = parts.hostname.rstrip(".").lower()
    if host in METADATA_HOSTS:
        raise TargetRefused(f"{host} is a cloud metadata service")
    return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), _literal_address(host))


NEVER_ALLOWED = (
    ipaddress.ip_network("169.254.169.254/32"),  # cloud metadata, whatever the allow-list says
    ipaddress.ip_network("fd00:ec2::254/128"),
    ipaddress.ip_network("0.0.0.0/8"),
    ipaddress.ip_network("::/128"),
)


def check_address(address: IPAddress, allowed: Sequence[IPNetwork]) -> None:
    """TargetRefused unless the address is public or inside an allowed network. Metadata
    and unspecified addresses are refused even when a listed network contains them."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in NEVER_ALLOWED if network.version == address.version):
        raise TargetRefused(f"{address} is a metadata or unspecified address")
    if any(address in network for network in allowed if network.version == address.version):
        return
    if not address.is_global or address.is_multicast:
        kind = (
            "loopback"
            if address.is_loopback
            else "link-local"
            if address.is_link_local
            else "multicast"
            if address.is_multicast
            else "private or reserved"
        )
        raise TargetRefused(
            f"{address} is a {kind} address; an admin may allow its network with CMDB_WEBHOOK_ALLOWED_NETWORKS"
        )


async def resolve(target: Target, allowed: Sequence[IPNetwork]) -> list[IPAddress]:
    """Every address the target stands for, each checked; TargetRefused if one is refused
    (a name with one private address among public ones is refused whole) or none is found."""
    if target.literal is not None:
        check_address(target.literal, allowed)
        return [target.literal]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"{target.host} does not resolve: {exc}") from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TargetRefused(f"{target.host} does not resolve")
    for address in addresses:
        try:
            check_address(address, allowed)
        except TargetRefused as exc:
            raise TargetRefused(f"{target.host} resolves to {exc}") from None
    return addresses
