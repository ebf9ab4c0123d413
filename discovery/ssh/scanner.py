"""The Linux-over-SSH scanner: the agent's own collectors, over one SSH session.

A host read over SSH is described by the same code as one the agent reads: the collectors
of agent/collectors/ read it through the ``System`` seam (discovery/ssh/system.py answers
it from one batch of read-only commands), and ``agent.report.build_report`` makes the
report. SSH adds only what the agent cannot know: the host key's fingerprint.

paramiko and the collectors are imported when a host answered, not before the first
packet: the probe is a TCP connection that asyncio makes (issue 17: the first packet of a
scan in under 0.3 s).
"""

from __future__ import annotations

import asyncio
from typing import Any

from discovery.config import DiscoveryConfig
from discovery.results import ProtocolResult, Status
from discovery.scanner import Probe


async def probe_ssh(address: str, config: DiscoveryConfig) -> ProtocolResult | None:
    """None when something takes the TCP connection on the SSH port; else why not (no answer)."""
    settings = config.ssh
    if not settings.credentials:
        return ProtocolResult("ssh", Status.NO_ANSWER, "no SSH credentials configured")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(address, settings.port), settings.timeout_seconds)
    except ConnectionRefusedError:
        return ProtocolResult("ssh", Status.NO_ANSWER, f"nothing listens on port {settings.port}")
    except TimeoutError:
        return ProtocolResult("ssh", Status.NO_ANSWER, f"no answer within {settings.timeout_seconds:g}s")
    except OSError as exc:
        return ProtocolResult("ssh", Status.NO_ANSWER, f"cannot connect: {exc.strerror or exc}")
    writer.close()
    return None


def scan_ssh(address: str, config: DiscoveryConfig) -> ProtocolResult:
    """Try each SSH credential in turn; the first that logs in reads the host."""
    from agent.collectors import collect_facts
    from agent.report import build_report
    from discovery.ssh.session import SshFailure, SshSession
    from discovery.ssh.system import SshSystem

    last = ProtocolResult("ssh", Status.NO_ANSWER, "no SSH credentials configured")
    for credential in config.ssh.credentials:
        try:
            with SshSession(address, config.ssh, credential) as session:
                system = SshSystem.read(session, config.ssh.command_timeout_seconds)
                facts = collect_facts(system)  # on the open session: a question the batch missed asks it
                fingerprint = session.host_key_fingerprint
        except SshFailure as exc:
            last = ProtocolResult("ssh", exc.status, exc.reason, credential=credential.name)
            if exc.status is not Status.AUTH_FAILED:
                return last  # no answer, refused key...: another credential will not change that
            continue
        identity = facts.get("identity")
        if identity is None or not (identity.machine_id or identity.hostname):
            return ProtocolResult("ssh", Status.ERROR, "logged in, but no command answered", credential=credential.name)
        report: dict[str, Any] = dict(
            build_report(facts, network_domain=config.network_domain, source=("ssh", f"{config.name}@{address}"))
        )
        if fingerprint:
            report["records"][0]["attributes"]["ssh_host_key"] = fingerprint
        return ProtocolResult("ssh", Status.OK, f"{len(report['records'])} records", report, credential.name)
    return last


class SshScanner:
    """The SSH side of the scanner contract (discovery/scanner.py): a TCP connection as the
    probe, then a login and the agent's collectors in a thread (paramiko blocks)."""

    protocol = "ssh"

    def __init__(self, config: DiscoveryConfig) -> None:
        self.config = config

    async def probe(self, address: str) -> Probe[str]:
        refused = await probe_ssh(address, self.config)
        if refused is not None:
            return Probe(refused)
        return Probe(ProtocolResult("ssh", Status.OK), address)

    async def collect(self, probe: Probe[str]) -> ProtocolResult:
        assert probe.handle is not None, "collect is for an address that answered"
        return await asyncio.to_thread(scan_ssh, probe.handle, self.config)

    def close(self) -> None:
        """Nothing held between hosts: each has its own session."""
