"""A sweep: every target scanned over SNMP and SSH at once, within a concurrency bound.

The sweep knows scanners only through their contract (``discovery/scanner.py``): it probes
every protocol the config has credentials for, collects over those that answered, and
lists the results in the registry's order; it never asks which protocol a scanner reads.

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
import os
import queue
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from discovery.config import DiscoveryConfig
from discovery.results import ProtocolResult, Status, TargetResult
from discovery.scanner import Probe, Scanner, failed, wanted_scanners

if TYPE_CHECKING:
    import multiprocessing


async def _scan_target(
    address: str,
    scanners: list[Scanner[Any]],
    probes: asyncio.Semaphore,
    collections: asyncio.Semaphore,
) -> TargetResult:
    """Probe every protocol at once, then collect over those that answered.

    Probes wait for silence (a timeout) and cost almost nothing, so they run under a wider
    bound than collection, which is CPU and bandwidth: a range that is mostly silent does not
    hold the collection slots for a timeout per address.
    """
    started = time.monotonic()
    async with probes:
        answers = await asyncio.gather(*(s.probe(address) for s in scanners), return_exceptions=True)
    results: dict[int, ProtocolResult] = {}
    jobs: dict[int, tuple[Scanner[Any], Probe[Any]]] = {}
    for position, (scanner, answer) in enumerate(zip(scanners, answers, strict=True)):
        if isinstance(answer, BaseException):
            results[position] = failed(scanner.protocol, answer)
        elif answer.answered:
            jobs[position] = (scanner, answer)
        else:
            results[position] = answer.result
    if jobs:
        async with collections:
            outcomes = await asyncio.gather(*(s.collect(p) for s, p in jobs.values()), return_exceptions=True)
        for (position, (scanner, _)), outcome in zip(jobs.items(), outcomes, strict=True):
            results[position] = failed(scanner.protocol, outcome) if isinstance(outcome, BaseException) else outcome
    protocols = [results[position] for position in sorted(results)]  # the registry's order
    return TargetResult(address=address, protocols=protocols, seconds=time.monotonic() - started)


async def sweep(config: DiscoveryConfig, on_result: Callable[[TargetResult], None] | None = None) -> list[TargetResult]:
    """Scan every target of the config; ``on_result`` hears of each as it finishes."""
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=max(1, config.concurrency)))
    scanners = [entry.load(config) for entry in wanted_scanners(config)]
    collections = asyncio.Semaphore(max(1, config.concurrency))
    probes = asyncio.Semaphore(max(config.concurrency, config.probe_concurrency))

    async def one(address: str) -> TargetResult:
        result = await _scan_target(address, scanners, probes, collections)
        if on_result is not None:
            on_result(result)
        return result

    try:
        return list(await asyncio.gather(*(one(address) for address in config.targets)))
    finally:
        for scanner in scanners:
            scanner.close()


MIN_TARGETS_PER_PROCESS = 16  # below this a process's start costs more than it saves


def process_count(config: DiscoveryConfig) -> int:
    if config.processes:
        return max(1, min(config.processes, len(config.targets)))
    by_cpu = os.cpu_count() or 1
    return max(1, min(by_cpu, len(config.targets) // MIN_TARGETS_PER_PROCESS, config.concurrency))


def run_sweep(config: DiscoveryConfig, on_result: Callable[[TargetResult], None] | None = None) -> list[TargetResult]:
    """Scan every target of the config, in worker processes when there are enough targets.

    Results come back in the targets' order; a worker that dies leaves its unfinished
    targets as errors, never a hung sweep.
    """
    processes = process_count(config)
    if processes == 1:
        return asyncio.run(sweep(config, on_result))
    import multiprocessing  # here: a scan of a few targets never starts a process

    for entry in wanted_scanners(config):
        entry.import_module()  # once, before the fork, rather than in every worker
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
