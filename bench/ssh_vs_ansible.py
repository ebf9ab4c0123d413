"""Agentless inventory over SSH: cmdb-discover against Ansible's fact gathering.

    python -m bench.ssh_vs_ansible [--hosts 8] [--forks 8] [--runs 3]

Starts one real sshd per loopback address (127.0.10.1...), then times, interleaved,
`cmdb-discover scan ... --dry-run` and `ansible all -m setup -f FORKS` (ansible-core in
its own virtualenv, .run/bench-ansible, made on first use) against the same hosts with
the same concurrency. Prints hosts per second as JSON lines.

Both tools log in as ``cmdb-bench``, an unprivileged account with /bin/sh and no shell
start-up files (made on first use), as a collector's service account would be: bash reads
the login user's ~/.bashrc for every SSH command, and a developer's root account (pyenv
init, say) can cost more per login than the whole inventory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.figures import Target, emit
from tests.integration.sshd import SshServer

REPO = Path(__file__).resolve().parent.parent
ANSIBLE_VENV = REPO / ".run" / "bench-ansible"
PORT = 2222
ACCOUNT = "cmdb-bench"


def bench_account() -> None:
    """The unprivileged account both tools log in as (needs root to create, once)."""
    if subprocess.run(["id", ACCOUNT], capture_output=True, check=False).returncode != 0:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/bin/sh", ACCOUNT],
            check=True,
        )
        # No password, but not locked: sshd refuses even key logins to a locked ("!") account.
        subprocess.run(["usermod", "--password", "*", ACCOUNT], check=True)


def ansible() -> Path:
    binary = ANSIBLE_VENV / "bin" / "ansible"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(ANSIBLE_VENV)], check=True)
        subprocess.run([str(ANSIBLE_VENV / "bin" / "pip"), "install", "-q", "ansible-core"], check=True)
    return binary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--forks", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ansible_bin = ansible()
    bench_account()
    base = Path(tempfile.mkdtemp(prefix="cmdb-bench-ssh-"))
    base.chmod(0o755)  # sshd reads authorized_keys as the account
    addresses = [f"127.0.10.{i + 1}" for i in range(args.hosts)]
    servers = []
    try:
        for address in addresses:
            directory = base / address
            directory.mkdir(mode=0o755)
            server = SshServer(directory, address, PORT)
            server.start()
            servers.append(server)
        key = servers[0].client_key
        for server in servers[1:]:  # one client key for all hosts, as a collector would have
            (server.directory / "authorized_keys").write_text((servers[0].directory / "client_key.pub").read_text())
        remote_tmp = base / "ansible-tmp"
        remote_tmp.mkdir(mode=0o1777)
        remote_tmp.chmod(0o1777)
        inventory = base / "inventory.ini"
        inventory.write_text(
            "\n".join(
                f"{a} ansible_port={PORT} ansible_user={ACCOUNT} ansible_ssh_private_key_file={key}" for a in addresses
            )
            + "\n"
        )
        ours = [
            str(Path(sys.executable).parent / "cmdb-discover"),
            "scan",
            f"{addresses[0]}-{addresses[-1]}",
            "--ssh-user",
            ACCOUNT,
            "--ssh-key",
            str(key),
            "--ssh-port",
            str(PORT),
            "--known-hosts",
            str(base / "known_hosts"),
            "--trust-on-first-use",
            "--concurrency",
            str(args.forks),
            "--dry-run",
        ]
        theirs = [str(ansible_bin), "all", "-i", str(inventory), "-m", "setup", "-f", str(args.forks), "-o"]
        env = dict(
            os.environ,
            ANSIBLE_HOST_KEY_CHECKING="False",
            ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
            ANSIBLE_REMOTE_TMP=str(remote_tmp),  # the account has no home
            # Ansible's default SSH arguments, with the throw-away hosts kept out of ~/.ssh/known_hosts.
            ANSIBLE_SSH_ARGS="-C -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null",
        )
        timings: dict[str, list[float]] = {"cmdb-discover (SSH)": [], "ansible -m setup": []}
        for _ in range(args.runs):
            for name, command in (("cmdb-discover (SSH)", ours), ("ansible -m setup", theirs)):
                started = time.perf_counter()
                done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
                elapsed = time.perf_counter() - started
                if done.returncode != 0:
                    raise SystemExit(f"{name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
                timings[name].append(elapsed)
        rates = {name: args.hosts / statistics.median(samples) for name, samples in timings.items()}
        for name, rate in rates.items():
            target: Target | None = (">=", 25.0) if name == "cmdb-discover (SSH)" else None
            emit(f"SSH inventory: {name}, {args.hosts} hosts, {args.forks} at once", rate, "hosts/s", target)
        ratio = rates["cmdb-discover (SSH)"] / rates["ansible -m setup"]
        emit("SSH inventory: cmdb-discover / Ansible", ratio, "x", (">=", 5.0))
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
