"""The one Neo4j a test session uses, found or started in this order:

1. ``NEO4J_URI`` (with ``NEO4J_USER`` / ``NEO4J_PASSWORD`` when auth is on), as it is;
2. a testcontainers Neo4j 5.26, when a Docker engine answers;
3. ``deploy/neo4j/start`` with a data folder of its own (``.run/neo4j-test``) on a free
   port (or ``CMDB_TEST_NEO4J_PORT``), stopped again at the end unless
   ``CMDB_TEST_KEEP_NEO4J=1`` (a kept instance is reused by the next session).
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.conftest import REPO_ROOT

TEST_DATA_DIR = REPO_ROOT / ".run" / "neo4j-test"
NEO4J_IMAGE = "neo4j:5.26-community"


@dataclass(frozen=True)
class Neo4jService:
    uri: str
    user: str | None
    password: str | None
    origin: str

    def auth(self) -> tuple[str, str] | None:
        return (self.user or "neo4j", self.password) if self.password else None


def _docker_engine_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@contextmanager
def _container() -> Iterator[Neo4jService]:
    from testcontainers.neo4j import Neo4jContainer

    with Neo4jContainer(NEO4J_IMAGE) as container:
        yield Neo4jService(
            uri=container.get_connection_url(),
            user=container.username,
            password=container.password,
            origin="testcontainers",
        )


def _bolt_port() -> str:
    if "CMDB_TEST_NEO4J_PORT" in os.environ:
        return os.environ["CMDB_TEST_NEO4J_PORT"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


@contextmanager
def _local_launcher() -> Iterator[Neo4jService]:
    script = REPO_ROOT / "deploy" / "neo4j" / "start"
    args = [
        str(script),
        "--data-dir",
        str(TEST_DATA_DIR),
        "--bolt-port",
        _bolt_port(),
        "--http-port",
        "0",
    ]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"deploy/neo4j/start failed:\n{done.stderr}")
    uri = done.stdout.strip().splitlines()[-1]
    try:
        yield Neo4jService(uri=uri, user=None, password=None, origin="deploy/neo4j/start")
    finally:
        if os.environ.get("CMDB_TEST_KEEP_NEO4J") != "1":
            stop = REPO_ROOT / "deploy" / "neo4j" / "stop"
            subprocess.run([str(stop), "--data-dir", str(TEST_DATA_DIR)], check=False, capture_output=True)


@contextmanager
def neo4j_service() -> Iterator[Neo4jService]:
    uri = os.environ.get("NEO4J_URI")
    if uri:
        yield Neo4jService(
            uri=uri,
            user=os.environ.get("NEO4J_USER"),
            password=os.environ.get("NEO4J_PASSWORD"),
            origin="NEO4J_URI",
        )
    elif _docker_engine_answers():
        with _container() as service:
            yield service
    else:
        with _local_launcher() as service:
            yield service
