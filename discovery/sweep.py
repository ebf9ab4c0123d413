"""A sweep: every target scanned over SNMP and SSH at once, within a concurrency bound.

An address that answers nothing costs about one timeout: the SNMP credentials are tried
together and SSH gives up when nothing takes the TCP connection. A target's failure
is its result, never the sweep's.

Decoding SNMP (pyasn1) and SSH's packets are Python CPU work that one process runs on one
core, so a large sweep shares its targets among worker processes (``run_sweep``), each
with its part of the concurrency.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import multiprocessing
import os
import queue
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from discovery.config import DiscoveryConfig
from discovery.results import ProtocolResult, Status, TargetResult

if TYPE_CHECKING:
    from pysnmp.hlapi.v3arch.asyncio import SnmpEngine


def _outcome(protocol: str, outcome: ProtocolResult | BaseException) -> ProtocolResult:
    if isinstance(outcome, BaseException):
        return ProtocolResult(protocol, Status.ERROR, f"{type(outcome).__name__}: {outcome}")
    return outcome


async def _scan_target(
    address: str,
    config: DiscoveryConfig,
    engine: SnmpEngine | None,
    probes: asyncio.Semaphore,
    collections: asyncio.Semaphore,
) -> TargetResult:
    """Probe every protocol at once, then collect over those that answered.

    Probes wait for silence (a timeout) and cost almost nothing, so they run under a wider
    bound than collection, which is CPU and bandwidth: a range that is mostly silent does not
    hold the collection slots for a timeout per address.
    """
    from discovery.snmp.scanner import collect_snmp, probe_snmp
    from discovery.ssh.scanner import probe_ssh, scan_ssh

    started = time.monotonic()
    asked: dict[str, Any] = {}
    if engine is not None:
        asked["snmp"] = probe_snmp(address, config, engine)
    if config.ssh.credentials:
        asked["ssh"] = probe_ssh(address, config)
    async with probes:
        answers = await asyncio.gather(*asked.values(), return_exceptions=True)
    protocols: list[ProtocolResult] = []
    jobs: dict[str, Any] = {}
    for name, answer in zip(asked, answers, strict=True):
        if isinstance(answer, BaseException):
            protocols.append(_outcome(name, answer))
        elif name == "snmp":
            client, result = answer  # a client when a credential answered
            if client is None:
                protocols.append(result)
            else:
                jobs["snmp"] = collect_snmp(client, result, config)
        elif answer is not None:  # ssh: why nothing took the connection
            protocols.append(answer)
        else:
            jobs["ssh"] = asyncio.to_thread(scan_ssh, address, config)
    if jobs:
        async with collections:
            outcomes = await asyncio.gather(*jobs.values(), return_exceptions=True)
        protocols += [_outcome(name, outcome) for name, outcome in zip(jobs, outcomes, strict=True)]
    protocols.sort(key=lambda p: p.protocol != "snmp")  # snmp first, as they were always listed
    return TargetResult(address=address, protocols=protocols, seconds=time.monotonic() - started)


async def sweep(config: DiscoveryConfig, on_result: Callable[[TargetResult], None] | None = None) -> list[TargetResult]:
    """Scan every target of the config; ``on_result`` hears of each as it finishes."""
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=max(1, config.concurrency)))
    engine = None
    if config.snmp.credentials:  # pysnmp takes a third of a second to import: only when needed
        from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

        engine = SnmpEngine()
    collections = asyncio.Semaphore(max(1, config.concurrency))
    probes = asyncio.Semaphore(max(config.concurrency, config.probe_concurrency))

    async def one(address: str) -> TargetResult:
        result = await _scan_target(address, config, engine, probes, collections)
        if on_result is not None:
            on_result(result)
        return result

    try:
        return list(await asyncio.gather(*(one(address) for address in config.targets)))
    finally:
        if engine is not None:
            engine.close_dispatcher()


MIN_TARGETS_PER_PROCESS = 16  # below this a process's start costs more than it saves


def process_count(config: DiscoveryConfig) -> int:
    if config.processes:
        return max(1, min(config.processes, len(config.targets)))
    by_cpu = os.cpu_count() or 1
    return max(1, min(by_cpu, len(config.targets) // MIN_TARGETS_PER_PROCESS, config.concurrency))


def _import_scanners(config: DiscoveryConfig) -> None:
    if config.snmp.credentials:
        import discovery.snmp.scanner
    if config.ssh.credentials:
        import discovery.ssh.scanner  # noqa: F401


def run_sweep(config: DiscoveryConfig, on_result: Callable[[TargetResult], None] | None = None) -> list[TargetResult]:
    """Scan every target of the config, in worker processes when there are enough targets.

    Results come back in the targets' order; a worker that dies leaves its unfinished
    targets as errors, never a hung sweep.
    """
    processes = process_count(config)
    if processes == 1:
        return asyncio.run(sweep(config, on_result))
    _import_scanners(config)  # once, before the fork, rather than in every worker
    # Interleaved shares, so that a silent stretch of a range does not all land on one worker.
    shares = [config.targets[i::processes] for i in range(processes)]
    per_process = max(1, math.ceil(config.concurrency / processes))
    context = multiprocessing.get_context("fork")  # the parent is single-threaded here; fork is cheap
    results: multiprocessing.Queue[tuple[int, TargetResult]] = context.Queue()
    order = {address: i for i, address in enumerate(config.targets)}
    workers = []
    for share in shares:
        share_config = dataclasses.replace(
            config,
            targets=share,
            concurrency=per_process,
            probe_concurrency=max(1, math.ceil(config.probe_concurrency / processes)),
            processes=1,
        )
        offset_index = {a: order[a] for a in share}
        worker = context.Process(target=_share_worker, args=(share_config, results, offset_index), daemon=True)
        worker.start()
        workers.append(worker)
    found: dict[int, TargetResult] = {}
    try:
        while len(found) < len(config.targets):
            try:
                position, result = results.get(timeout=1.0)
            except queue.Empty:
                if all(not w.is_alive() for w in workers) and results.empty():
                    break
                continue
            found[position] = result
            if on_result is not None:
                on_result(result)
    finally:
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()
    missing = [i for i in range(len(config.targets)) if i not in found]
    for i in missing:
        lost = TargetResult(config.targets[i], [ProtocolResult("sweep", Status.ERROR, "the worker process died")])
        found[i] = lost
        if on_result is not None:
            on_result(lost)
    return [found[i] for i in range(len(config.targets))]


def _share_worker(
    config: DiscoveryConfig, results: multiprocessing.Queue[tuple[int, TargetResult]], positions: dict[str, int]
) -> None:
    def put(result: TargetResult) -> None:
        results.put((positions[result.address], result))

    asyncio.run(sweep(config, put))
