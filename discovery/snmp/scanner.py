"""The SNMP scanner: find the credential that answers, then read the subtrees the CMDB needs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

from discovery.config import DiscoveryConfig, SnmpCredential
from discovery.results import ProtocolResult, Status
from discovery.scanner import Probe
from discovery.snmp import oids
from discovery.snmp.client import SnmpClient, SnmpError
from discovery.snmp.values import Walk


async def _probe(client: SnmpClient) -> Walk:
    return await client.get(oids.SYS_OBJECT_ID, oids.SYS_NAME)


async def find_credential(
    engine: SnmpEngine, address: str, config: DiscoveryConfig
) -> tuple[SnmpClient | None, ProtocolResult]:
    """Ask with every credential at once, so that a silent address costs one timeout, not one each."""
    settings = config.snmp
    clients = [
        SnmpClient(engine, address, settings.port, c, settings.timeout_seconds, settings.retries)
        for c in settings.credentials
    ]
    outcomes = await asyncio.gather(*(_probe(c) for c in clients), return_exceptions=True)
    failures: list[tuple[SnmpCredential, BaseException]] = []
    for client, outcome in zip(clients, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            failures.append((client.credential, outcome))
        elif oids.SYS_OBJECT_ID in outcome:
            return client, ProtocolResult("snmp", Status.OK, credential=client.credential.name)
    if failures and all(isinstance(e, SnmpError) and e.no_answer for _, e in failures):
        # SNMPv2c has no "wrong community" answer: a wrong community is silence too.
        return None, ProtocolResult(
            "snmp",
            Status.NO_ANSWER,
            f"no answer within {settings.timeout_seconds:g}s "
            f"with {len(failures)} credential(s) (a wrong v2c community is silence too)",
        )
    for credential, error in failures:
        if isinstance(error, SnmpError) and error.auth:
            return None, ProtocolResult(
                "snmp", Status.AUTH_FAILED, f"{credential.name}: {error}", credential=credential.name
            )
    reasons = "; ".join(f"{c.name}: {e}" for c, e in failures) or "no sysObjectID in the answer"
    return None, ProtocolResult("snmp", Status.ERROR, reasons)


async def read_device(client: SnmpClient) -> Walk:
    walk: Walk = {}
    from discovery.snmp.parsers import enterprise_number
    from discovery.snmp.vendors import extra_scalars

    scalars = await client.get(*oids.SCALARS)
    walk.update(scalars)
    extra = extra_scalars(enterprise_number(str(scalars.get(oids.SYS_OBJECT_ID, ""))))
    if extra:
        walk.update(await client.get(*extra))
    for columns in oids.COLUMN_WALKS:
        walk.update(await client.walk_columns(columns))
    for subtree in oids.WALKS:
        walk.update(await client.walk(subtree))
    return walk


async def probe_snmp(
    address: str, config: DiscoveryConfig, engine: SnmpEngine
) -> tuple[SnmpClient | None, ProtocolResult]:
    """Whether the address answers SNMP, and with which credential (costs one timeout when silent)."""
    if not config.snmp.credentials:
        return None, ProtocolResult("snmp", Status.NO_ANSWER, "no SNMP credentials configured")
    return await find_credential(engine, address, config)


async def collect_snmp(client: SnmpClient, probe: ProtocolResult, config: DiscoveryConfig) -> ProtocolResult:
    """Read a device that answered the probe and build its report."""
    address = client.address
    try:
        walk = await read_device(client)
    except SnmpError as exc:
        return ProtocolResult(
            "snmp", Status.ERROR, f"answered, then failed while reading: {exc}", credential=probe.credential
        )
    # Imported here, after the probe: a silent address never needs them, and the first packet
    # of a scan does not wait for them (issue 17).
    from discovery.snmp.device import build_device_report, device_facts

    facts = device_facts(walk)
    report: dict[str, Any] = build_device_report(
        facts,
        address,
        source=("snmp", f"{config.name}@{address}"),
        network_domain=config.network_domain,
        collected_at=datetime.now(UTC).isoformat(),
        report_id=str(uuid.uuid4()),
    )
    device = facts["device"]
    summary = f"{device['class']} {device.get('vendor') or '?'} {device.get('model') or ''}".strip()
    return ProtocolResult(
        "snmp", Status.OK, f"{summary}, {len(facts['interfaces'])} interfaces", report, probe.credential
    )


async def scan_snmp(address: str, config: DiscoveryConfig, engine: SnmpEngine | None = None) -> ProtocolResult:
    """Probe and collect one device."""
    client, result = await probe_snmp(address, config, engine or SnmpEngine())
    if client is None:
        return result
    return await collect_snmp(client, result, config)


class SnmpScanner:
    """The SNMP side of the scanner contract (discovery/scanner.py): one engine for the sweep,
    a probe that tries every credential at once, a collection over the one that answered."""

    protocol = "snmp"

    def __init__(self, config: DiscoveryConfig) -> None:
        self.config = config
        self.engine = SnmpEngine()

    async def probe(self, address: str) -> Probe[SnmpClient]:
        client, result = await probe_snmp(address, self.config, self.engine)
        return Probe(result, client)

    async def collect(self, probe: Probe[SnmpClient]) -> ProtocolResult:
        assert probe.handle is not None, "collect is for an address that answered"
        return await collect_snmp(probe.handle, probe.result, self.config)

    def close(self) -> None:
        self.engine.close_dispatcher()
