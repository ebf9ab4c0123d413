"""The OCS Inventory protocol over HTTP, against a real server and Neo4j: authentication,
refusals that write nothing, and the bodies the real agents sent (tests/fixtures/inventory/wire-*).
The agents themselves run in test_inventory_agents.py."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import time
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from neo4j import Driver
from prometheus_client.parser import text_string_to_metric_families

from cmdb_server.config import Settings
from schema import Role
from tests.integration.conftest import BOOTSTRAP_TOKEN, bearer
from tests.integration.server_process import BIN, ServerProcess

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "inventory"
FUSION_UA = "FusionInventory-Agent_v2.6-3"
ZLIB = {"Content-Type": "application/x-compress-zlib", "User-Agent": FUSION_UA}
FUSION_DEVICE = "vm-2026-12-01-04-25-12"


def post(url: str, **kwargs: Any) -> httpx.Response:
    """A POST given the time a busy test machine needs (an inventory's first ingest is seconds)."""
    return httpx.post(url, timeout=60, **kwargs)


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def prolog(device: str = FUSION_DEVICE) -> bytes:
    xml = f'<?xml version="1.0" encoding="UTF-8" ?>\n<REQUEST><DEVICEID>{device}</DEVICEID>'
    xml += "<QUERY>PROLOG</QUERY></REQUEST>"
    return zlib.compress(xml.encode())


def fusion_inventory() -> bytes:
    return (FIXTURES / "wire-fusion-inventory.zlib").read_bytes()


def _answer(sock: socket.socket) -> bytes:
    """All the server says until it closes the connection (it must, not having read the body)."""
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


def written(driver: Driver) -> dict[str, int]:
    """What a request could have written: CIs, history events, applied reports."""
    records, _, _ = driver.execute_query(
        "CALL { MATCH (c:CI) RETURN count(c) AS cis } CALL { MATCH (e:Event) RETURN count(e) AS events } "
        "CALL { MATCH (r:IngestedReport) RETURN count(r) AS reports } RETURN cis, events, reports"
    )
    return dict(records[0])


def reports_of(driver: Driver, source: str) -> list[dict[str, Any]]:
    records, _, _ = driver.execute_query(
        "MATCH (r:IngestedReport {source: $source}) RETURN r.summary AS summary ORDER BY r.received_at", source=source
    )
    return [json.loads(r["summary"]) for r in records]


def test_no_credentials_get_the_basic_challenge_before_the_body_is_read(server: ServerProcess) -> None:
    response = post(f"{server.url}/ocsinventory", content=fusion_inventory(), headers=ZLIB)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="graph-cmdb"'  # fusion's regex, OCS's --realm
    assert response.headers["content-type"].startswith("application/xml")
    assert "<FIELD>Authorization</FIELD>" in response.text
    assert "--password TOKEN" in response.text
    # The whole inventory comes unauthenticated first: a large one is not read, the connection closed.
    big = zlib.compress(b" " * (4 * 1024 * 1024))  # ~4 KB, but said to be 2 MB
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            b"POST /ocsinventory HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-compress-zlib\r\n"
            b"Content-Length: 2000000\r\n\r\n" + big[:1000]
        )
        head = _answer(sock)
    assert head.startswith(b"HTTP/1.1 401"), head
    assert b"connection: close" in head.lower()
    assert time.monotonic() - started < 3


def test_an_admin_token_is_answered_send_and_the_user_name_is_free(server: ServerProcess) -> None:
    response = post(
        f"{server.url}/ocsinventory", content=prolog(), headers=ZLIB | basic("anyone at all", BOOTSTRAP_TOKEN)
    )
    assert response.status_code == 200, response.text
    assert response.content[:2] == b"\x78\x9c"
    assert zlib.decompress(response.content).endswith(
        b"<REPLY><RESPONSE>SEND</RESPONSE><PROLOG_FREQ>24</PROLOG_FREQ></REPLY>"
    )
    # A plain request (fusion --no-compression) is answered in plain XML.
    plain = post(
        f"{server.url}/ocsinventory",
        content=zlib.decompress(prolog()),
        headers={"Content-Type": "application/xml"} | basic("u", BOOTSTRAP_TOKEN),
    )
    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith("application/xml")
    assert plain.content.endswith(b"<RESPONSE>SEND</RESPONSE><PROLOG_FREQ>24</PROLOG_FREQ></REPLY>")
    # OCS given http://host:port without a path posts to /.
    root = post(f"{server.url}/", content=prolog(), headers=ZLIB | basic("u", BOOTSTRAP_TOKEN))
    assert root.status_code == 200
    assert zlib.decompress(root.content).endswith(b"</REPLY>")


def test_an_inventory_is_applied_once_and_an_unchanged_one_is_recognised(
    server: ServerProcess, make_token: Any, neo4j_driver: Driver
) -> None:
    token = make_token(Role.COLLECTOR, ("inventory:*",))
    for _ in range(2):
        response = post(f"{server.url}/ocsinventory", content=fusion_inventory(), headers=ZLIB | basic("fleet", token))
        assert response.status_code == 200, response.text
        assert zlib.decompress(response.content).endswith(b"<REPLY><RESPONSE>NO_ACCOUNT_UPDATE</RESPONSE></REPLY>")
    first, second = reports_of(neo4j_driver, f"inventory:{FUSION_DEVICE}")
    assert sum(c["created"] for c in first["classes"].values()) >= 1
    assert all(c["created"] == c["updated"] == 0 for c in second["classes"].values()), second
    assert second["events"] == 0
    hosts, _, _ = neo4j_driver.execute_query("MATCH (h:Host) RETURN count(h) AS n")
    assert hosts[0]["n"] == 1
    # The same file through the API (cmdb import) is the same source's, and unchanged too.
    api = post(f"{server.url}/api/v1/inventory", content=fusion_inventory(), headers=bearer(token))
    assert api.status_code == 200, api.text
    summary = api.json()
    assert summary["source"] == f"inventory:{FUSION_DEVICE}"
    assert all(c["created"] == c["updated"] == 0 for c in summary["classes"].values()), summary


def test_an_agent_token_speaks_for_its_hosts_inventory(server: ServerProcess, make_token: Any) -> None:
    token = make_token(Role.AGENT)
    response = post(f"{server.url}/ocsinventory", content=fusion_inventory(), headers=ZLIB | basic("a", token))
    assert response.status_code == 200, response.text
    other = zlib.compress(zlib.decompress(fusion_inventory()).replace(FUSION_DEVICE.encode(), b"other-2026-12-01"))
    refused = post(f"{server.url}/ocsinventory", content=other, headers=ZLIB | basic("a", token))
    assert refused.status_code == 403
    assert f"speaks for inventory:{FUSION_DEVICE}" in refused.text
    # The agent was reinstalled (a new DEVICEID): an admin frees the old source, the token takes the new.
    reset = post(
        f"{server.url}/api/v1/sources/reset",
        json={"source": f"inventory:{FUSION_DEVICE}", "unbind": True},
        headers=bearer(BOOTSTRAP_TOKEN),
    )
    assert reset.status_code == 200, reset.text
    assert len(reset.json()["unbound_tokens"]) == 1
    assert post(f"{server.url}/ocsinventory", content=other, headers=ZLIB | basic("a", token)).status_code == 200


@pytest.mark.parametrize(
    ("role", "sources"), [(Role.COLLECTOR, ("snmp:*",)), (Role.COLLECTOR, ("inventory:web*",)), (Role.VIEWER, ())]
)
def test_a_token_for_other_sources_is_forbidden_at_the_prolog(
    server: ServerProcess, make_token: Any, neo4j_driver: Driver, role: Role, sources: tuple[str, ...]
) -> None:
    token = make_token(role, sources)
    response = post(f"{server.url}/ocsinventory", content=prolog(), headers=ZLIB | basic("u", token))
    assert response.status_code == 403, response.text
    assert "<FIELD>" in response.text
    response = post(f"{server.url}/ocsinventory", content=fusion_inventory(), headers=ZLIB | basic("u", token))
    assert response.status_code == 403
    assert written(neo4j_driver) == {"cis": 0, "events": 0, "reports": 0}
    assert refused_count(server, "403") == 2  # counted in GET /metrics


def test_a_wrong_token_is_noted_on_the_inventory_source_that_reported_before(
    server: ServerProcess, make_token: Any
) -> None:
    """A fleet moved to the wrong token shows on its sources (fusion itself exits 0 whatever
    the answer); a source that never reported is not made by a refusal."""
    good = make_token(Role.COLLECTOR, ("inventory:*",))
    assert post(f"{server.url}/ocsinventory", content=fusion_inventory(), headers=ZLIB | basic("u", good)).is_success
    wrong = make_token(Role.COLLECTOR, ("snmp:*",))
    refused = post(f"{server.url}/ocsinventory", content=fusion_inventory(), headers=ZLIB | basic("u", wrong))
    assert refused.status_code == 403
    answer = httpx.get(f"{server.url}/api/v1/sources", headers=bearer(BOOTSTRAP_TOKEN), timeout=30)
    (source,) = [s for s in answer.json()["sources"] if s["source"].startswith("inventory:")]
    assert source["source"] == f"inventory:{FUSION_DEVICE}"
    assert (source["refused_status"], source["refused_count"]) == (403, 1)


def refused_count(server: ServerProcess, status: str) -> float:
    """Inventory reports refused with ``status``, as GET /metrics counts them (scraped from loopback)."""
    metrics = httpx.get(f"{server.url}/metrics", timeout=30).text
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            labels = sample.labels
            if (sample.name, labels.get("source_kind"), labels.get("outcome"), labels.get("status")) == (
                "cmdb_reports_ingested_total",
                "inventory",
                "refused",
                status,
            ):
                return float(sample.value)
    return 0.0


def test_wrong_credentials_are_counted_like_bad_tokens(settings: Settings, empty_graph: None) -> None:
    process = ServerProcess(settings, env={"CMDB_AUTH_FAILURE_LIMIT": "3", "CMDB_AUTH_FAILURE_DELAY_SECONDS": "0"})
    process.start()
    try:
        url = f"{process.url}/ocsinventory"
        for _ in range(5):  # no credentials at all: every agent message starts so, never counted
            assert post(url, content=prolog(), headers=ZLIB).status_code == 401
        statuses = []
        for header in (basic("u", "cmdb_wrong"), {"Authorization": "Basic !!!"}, basic("u", ""), basic("u", "x")):
            response = post(url, content=prolog(), headers=ZLIB | header)
            statuses.append(response.status_code)
            if response.status_code == 401:
                assert response.headers["www-authenticate"] == 'Basic realm="graph-cmdb"'
        assert statuses == [401, 401, 401, 429]
        assert post(url, content=prolog(), headers=ZLIB | basic("u", BOOTSTRAP_TOKEN)).status_code == 200
    finally:
        process.stop()


def _bad_bodies() -> list[tuple[str, bytes, int, str]]:
    xml = zlib.decompress(fusion_inventory())
    lol = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 9))
    billion = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{lol}]><REQUEST><QUERY>PROLOG</QUERY>'
    billion += "<DEVICEID>&l8;</DEVICEID></REQUEST>"
    xxe = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><REQUEST><QUERY>INVENTORY'
    xxe += "</QUERY><DEVICEID>&x;</DEVICEID><CONTENT/></REQUEST>"
    return [
        ("not compressed XML", b"hello", 400, "neither zlib, gzip nor XML"),
        ("truncated zlib", fusion_inventory()[:5000], 400, "truncated"),
        ("billion laughs", zlib.compress(billion.encode()), 400, "DTD"),
        ("external entity", zlib.compress(xxe.encode()), 400, "DTD"),
        ("deep nesting", zlib.compress(xml.replace(b"<BIOS>", b"<BIOS>" + b"<a>" * 20 + b"</a>" * 20)), 400, "deeper"),
        ("huge text", zlib.compress(xml.replace(b"<SSN>", b"<SSN>" + b"x" * 70000)), 400, "characters of text"),
        ("zip bomb", zlib.compress(b"<" + b" " * (64 * 1024 * 1024), 9), 413, "inflates to more than"),
        ("wrong query", zlib.compress(xml.replace(b"<QUERY>INVENTORY", b"<QUERY>SNMPQUERY")), 400, "SNMPQUERY"),
        ("no DEVICEID", zlib.compress(xml.replace(FUSION_DEVICE.encode(), b"")), 400, "DEVICEID"),
        ("not UTF-8", zlib.compress(xml.replace(b"<NAME>vm</NAME>", b"<NAME>v\xe9</NAME>")), 400, "not UTF-8"),
        ("not XML", zlib.compress(xml[:-30]), 400, "not well-formed"),
    ]


def test_each_bad_body_is_refused_clearly_and_writes_nothing(
    server: ServerProcess, make_token: Any, neo4j_driver: Driver
) -> None:
    token = make_token(Role.COLLECTOR, ("inventory:*",))
    before = written(neo4j_driver)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for name, body, status, words in _bad_bodies():
            response = client.post("/ocsinventory", content=body, headers=ZLIB | basic("fleet", token))
            assert response.status_code == status, (name, response.text)
            assert words in response.text, (name, response.text)
            assert response.text.startswith("<?xml"), name
            assert "<MESSAGE>" in response.text, name
            api = client.post("/api/v1/inventory", content=body, headers=bearer(token))
            assert api.status_code == status, (name, api.text)
            assert words in api.json()["error"]["message"], (name, api.text)
        assert written(neo4j_driver) == before
        assert client.get("/healthz").json() == {"status": "ok"}
        # A PROLOG is not an inventory file.
        api = client.post("/api/v1/inventory", content=prolog(), headers=bearer(token))
        assert api.status_code == 400
        assert api.json()["error"]["fields"][0]["field"] == "QUERY"
    counted = refused_count(server, "400") + refused_count(server, "413")
    assert counted == 2 * len(_bad_bodies()) + 1  # each, on both endpoints, and the PROLOG sent as a file


def test_a_hundred_megabyte_body_is_refused_at_once(server: ServerProcess) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        auth = base64.b64encode(f"u:{BOOTSTRAP_TOKEN}".encode())
        sock.sendall(
            b"POST /ocsinventory HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + auth + b"\r\n"
            b"Content-Type: application/x-compress-zlib\r\nContent-Length: 104857600\r\n\r\n" + b"\x78\x9c" * 1000
        )
        head = _answer(sock)
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"larger than 67108864 bytes" in head
    assert time.monotonic() - started < 3
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_cmdb_import_sends_each_file_and_says_which_were_refused(
    server: ServerProcess, make_token: Any, neo4j_driver: Driver, tmp_path: Path
) -> None:
    token = make_token(Role.COLLECTOR, ("inventory:*",))
    fusion = tmp_path / f"{FUSION_DEVICE}.ocs"
    fusion.write_bytes(zlib.decompress(fusion_inventory()))  # --local writes plain XML
    ocs = tmp_path / "ocs.ocs"
    ocs.write_bytes((FIXTURES / "wire-ocs-inventory.zlib").read_bytes())
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not an inventory")
    broken = tmp_path / "broken.xml"
    broken.write_bytes(zlib.decompress(fusion_inventory()).replace(b"<QUERY>INVENTORY", b"<QUERY>SNMPQUERY"))
    env = dict(os.environ, CMDB_URL=server.url, CMDB_TOKEN=token)

    def cmdb(*files: Path) -> subprocess.CompletedProcess[str]:
        command = [str(BIN / "cmdb"), "import", *map(str, files)]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)

    mixed = cmdb(fusion, bogus, tmp_path / "missing.ocs", broken, ocs)
    assert mixed.returncode == 1, mixed.stderr
    assert "Traceback" not in mixed.stderr
    assert f"[1/5] {fusion}: inventory:{FUSION_DEVICE}: " in mixed.stdout
    assert "[5/5]" in mixed.stdout
    assert "inventory:vm-2026-12-01-04-26-43" in mixed.stdout
    assert f"[2/5] {bogus}: refused: not an inventory file" in mixed.stderr
    assert f"[3/5] {tmp_path / 'missing.ocs'}: refused: cannot read it" in mixed.stderr
    assert f"[4/5] {broken}: refused: HTTP 400: QUERY: 'SNMPQUERY'" in mixed.stderr
    assert re.search(r"^2 of 5 files applied \(\d unchanged\), 3 refused$", mixed.stderr, re.MULTILINE)
    again = cmdb(fusion, ocs)
    assert again.returncode == 0, again.stderr
    assert "2 of 2 files applied (2 unchanged), 0 refused" in again.stderr
    assert len(reports_of(neo4j_driver, f"inventory:{FUSION_DEVICE}")) == 2
    # A token that sends no inventories (an engineer's) is refused, and the exit status says so.
    env["CMDB_TOKEN"] = make_token(Role.ENGINEER)
    assert cmdb(fusion).returncode == 1
