"""The server over TLS with a certificate of a private CA: the agent's upload verifies it
with the CA file, and without it refuses the server with a clear reason."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cmdb_server.config import Settings
from schema import Role
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.server_process import BIN, ServerProcess, free_port, server_env
from tests.integration.test_agent import agent_env, run_agent


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def make_ca_and_server_cert(directory: Path) -> tuple[Path, Path, Path]:
    """(server certificate, its key, the CA certificate) for 127.0.0.1 and localhost."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CMDB test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # key_cert_sign, crl_sign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file, ca_file = directory / "server.pem", directory / "server.key", directory / "ca.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, key_file)
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return cert_file, key_file, ca_file


@pytest.fixture
def tls_server(settings: Settings, empty_graph: None, tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(settings, tls=make_ca_and_server_cert(tmp_path))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_the_agent_uploads_over_tls_with_the_ca_file_and_refuses_the_server_without_it(
    tls_server: ServerProcess, make_token: Callable[[Role], str], tmp_path: Path
) -> None:
    assert tls_server.tls is not None
    ca_file = tls_server.tls[2]
    token = make_token(Role.AGENT)

    untrusting = run_agent(agent_env(tls_server.url, token, tmp_path / "spool-a"))
    assert untrusting.returncode != 0
    assert "certificate is not trusted" in untrusting.stderr
    assert "ca_file" in untrusting.stderr
    assert len(list((tmp_path / "spool-a").glob("*.json*"))) == 1  # the report waits in the spool

    trusting = run_agent(agent_env(tls_server.url, token, tmp_path / "spool-b") | {"CMDB_AGENT_CA_FILE": str(ca_file)})
    assert trusting.returncode == 0, trusting.stderr
    hosts = httpx.get(
        f"{tls_server.url}/api/v1/cis",
        params={"class": "Host"},
        headers=bearer(BOOTSTRAP_TOKEN),
        verify=ssl.create_default_context(cafile=str(ca_file)),
    ).json()["items"]
    assert len(hosts) == 1
    # Over HTTPS the answers also tell browsers to stay on it.
    answer = httpx.get(f"{tls_server.url}/healthz", verify=ssl.create_default_context(cafile=str(ca_file)))
    assert answer.headers["strict-transport-security"].startswith("max-age=")


def test_the_server_refuses_a_certificate_without_its_key_or_a_key_that_does_not_match(
    settings: Settings, tmp_path: Path
) -> None:
    cert, _, _ = make_ca_and_server_cert(tmp_path)
    other_key = tmp_path / "other.key"
    _write_key(ec.generate_private_key(ec.SECP256R1()), other_key)
    for args, reason in (
        (["--ssl-certfile", str(cert)], "both a certificate and its key"),
        (["--ssl-certfile", str(cert), "--ssl-keyfile", str(other_key)], "cannot use the certificate"),
    ):
        run = subprocess.run(
            [str(BIN / "cmdb-server"), "--port", str(free_port()), *args],
            env=server_env(settings),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert run.returncode == 2
        assert reason in run.stderr
