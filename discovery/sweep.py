"""A sweep: every target scanned over SNMP and SSH at once, within a concurrency bound.

An address that answers nothing costs about one timeout: the SNMP credentials are tried
together and SSH gives up when nothing takes the TCP connection. A target's failure
is its result, never the sweep's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

from discovery.config import DiscoveryConfig
from discovery.results import ProtocolResult, Status, TargetResult
from discovery.snmp.scanner import scan_snmp
from discovery.ssh.scanner import scan_ssh


async def _scan_target(address: str, config: DiscoveryConfig, engine: SnmpEngine) -> TargetResult:
    started = time.monotonic()
    jobs = []
    if config.snmp.credentials:
        jobs.append(scan_snmp(address, config, engine))
    if config.ssh.credentials:
        jobs.append(asyncio.to_thread(scan_ssh, address, config))
    outcomes = await asyncio.gather(*jobs, return_exceptions=True)
    protocols = []
    for job_protocol, outcome in zip(
        [p for p, on in (("snmp", config.snmp.credentials), ("ssh", config.ssh.credentials)) if on],
        outcomes,
        strict=True,
    ):
        if isinstance(outcome, BaseException):
            protocols.append(ProtocolResult(job_protocol, Status.ERROR, f"{type(outcome).__name__}: {outcome}"))
        else:
            protocols.append(outcome)
    return TargetResult(address=address, protocols=protocols, seconds=time.monotonic() - started)


async def sweep(config: DiscoveryConfig, on_result: Callable[[TargetResult], None] | None = None) -> list[TargetResult]:
    """Scan every target of the config; ``on_result`` hears of each as it finishes."""
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=max(1, config.concurrency)))
    engine = SnmpEngine()
    bound = asyncio.Semaphore(max(1, config.concurrency))

    async def one(address: str) -> TargetResult:
        async with bound:
            result = await _scan_target(address, config, engine)
        if on_result is not None:
            on_result(result)
        return result

    try:
        return list(await asyncio.gather(*(one(address) for address in config.targets)))
    finally:
        engine.close_dispatcher()
