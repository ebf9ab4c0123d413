"""Expanding targets (addresses, CIDR ranges, first-last ranges) minus exclusions (pure)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

MAX_ADDRESSES = 1 << 16

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetError(ValueError):
    pass


def _addresses(spec: str) -> list[IPAddress]:
    spec = spec.strip()
    try:
        if "-" in spec:
            first_text, last_text = (part.strip() for part in spec.split("-", 1))
            first, last = ipaddress.ip_address(first_text), ipaddress.ip_address(last_text)
            if first.version != last.version or int(last) < int(first):
                raise TargetError(f"{spec!r}: a range goes from a lower to a higher address of one family")
            if int(last) - int(first) >= MAX_ADDRESSES:
                raise TargetError(f"{spec!r}: more than {MAX_ADDRESSES} addresses")
            return [ipaddress.ip_address(int(first) + i) for i in range(int(last) - int(first) + 1)]
        if "/" in spec:
            network = ipaddress.ip_network(spec, strict=False)
            if network.num_addresses > MAX_ADDRESSES:
                raise TargetError(f"{spec!r}: more than {MAX_ADDRESSES} addresses; split it")
            return list(network.hosts()) if network.num_addresses > 2 else list(network)
        return [ipaddress.ip_address(spec)]
    except ValueError as exc:
        if isinstance(exc, TargetError):
            raise
        raise TargetError(f"{spec!r} is not an address, a CIDR range or a first-last range: {exc}") from None


def expand_targets(include: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
    """Every address to scan, in order, each once, without the excluded ones."""
    excluded = {a for spec in exclude for a in _addresses(spec)}
    seen: set[IPAddress] = set()
    result = []
    for spec in include:
        for address in _addresses(spec):
            if address not in excluded and address not in seen:
                seen.add(address)
                result.append(str(address))
    return result
