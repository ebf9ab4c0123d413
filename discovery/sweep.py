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
from typing import TYPE_CHECKING, Any

from discovery.config import DiscoveryConfig
from discovery.results import ProtocolResult, Status, TargetResult

if TYPE_CHECKING:
    from pysnmp.hlapi.v3arch.asyncio import SnmpEngine


async def _scan_target(address: str, config: DiscoveryConfig, engine: SnmpEngine | None) -> TargetResult:
    from discovery.ssh.scanner import scan_ssh

    started = time.monotonic()
    jobs: list[Any] = []
    if engine is not None:
        from discovery.snmp.scanner import scan_snmp

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
    engine = None
    if config.snmp.credentials:  # pysnmp takes a third of a second to import: only when needed
        from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

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
        if engine is not None:
            engine.close_dispatcher()
