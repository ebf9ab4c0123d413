"""Pure rules of webhooks: which history events are which hooks, signatures, the retry schedule,
which targets are refused."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from cmdb_server.webhook_targets import TargetRefused, check_address, parse_target
from cmdb_server.webhooks import hook_types, next_attempt, sign, verify


@pytest.mark.parametrize(
    ("event", "unauthorised", "hooks"),
    [
        ({"kind": "created"}, False, ["ci.created"]),
        ({"kind": "attribute", "source": "agent:web1"}, False, ["ci.updated"]),
        ({"kind": "attribute", "source": "agent:web1"}, True, ["ci.updated", "change.unauthorised"]),
        ({"kind": "attribute", "source": "manual:alice"}, True, ["ci.updated"]),  # a person's edit is no discovery
        ({"kind": "service_level", "source": "manual:carol"}, True, ["ci.updated"]),  # a service level agreed
        ({"kind": "status", "new": "retired"}, False, ["ci.retired"]),
        ({"kind": "status", "new": "stale"}, False, ["ci.updated"]),
        ({"kind": "deleted"}, False, ["ci.retired"]),
        ({"kind": "relation_started", "source": "ssh:10.0.0.5"}, True, ["relationship.changed", "change.unauthorised"]),
        ({"kind": "field", "field": "state", "ci_uid": "CHG0007"}, False, ["change.state_changed"]),
        ({"kind": "field", "field": "state", "ci_uid": "INC0007"}, False, []),
        ({"kind": "drift"}, True, []),
    ],
)
def test_history_events_map_to_hook_events(event: dict[str, str], unauthorised: bool, hooks: list[str]) -> None:
    assert hook_types(event, unauthorised) == hooks


def test_a_signature_verifies_only_with_its_secret_and_body() -> None:
    header = sign("s3cret-of-sixteen+", b'{"a":1}', 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify("s3cret-of-sixteen+", b'{"a":1}', header)
    assert not verify("s3cret-of-sixteen+", b'{"a":2}', header)
    assert not verify("another-secret-16+", b'{"a":1}', header)
    assert not verify("s3cret-of-sixteen+", b'{"a":1}', "garbage")


def test_retries_wait_twice_as_long_each_time_up_to_a_cap() -> None:
    now = datetime(2026, 11, 27, tzinfo=UTC)
    waits = [(next_attempt(n, now, 10, 60) - now).total_seconds() for n in range(1, 6)]
    assert waits == [10, 20, 40, 60, 60]
    assert next_attempt(1, now, 0.5, 60) - now == timedelta(seconds=0.5)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/x", "http"),
        ("http://user:pw@example.org/hook", "credentials"),
        ("http://@example.org/hook", "credentials"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("http://METADATA.google.internal./x", "metadata"),
        ("http://example.org:99999/", "valid URL"),
        ("//example.org/hook", "http"),
    ],
)
def test_urls_that_are_no_plain_http_target_are_refused(url: str, reason: str) -> None:
    with pytest.raises(TargetRefused, match=reason):
        parse_target(url)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
        ("10.0.0.1", "10.0.0.1"),
    ],
)
def test_every_spelling_of_an_address_is_read_as_that_address(host: str, address: str) -> None:
    target = parse_target(f"http://{host}/hook")
    assert target.literal == ipaddress.ip_address(address)
    with pytest.raises(TargetRefused, match=r"loopback|private"):
        check_address(target.literal, [])


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "169.254.1.1",
        "10.0.0.1",
        "192.168.1.1",
        "172.16.0.1",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "224.0.0.1",
        "0.0.0.0",
        "::ffff:10.0.0.1",
    ],
)
def test_private_loopback_link_local_and_metadata_addresses_are_refused(address: str) -> None:
    with pytest.raises(TargetRefused):
        check_address(ipaddress.ip_address(address), [])


def test_an_allowed_network_admits_its_addresses_but_never_the_metadata_address() -> None:
    allowed = [ipaddress.ip_network("10.20.0.0/16"), ipaddress.ip_network("169.254.0.0/16")]
    check_address(ipaddress.ip_address("10.20.3.4"), allowed)
    check_address(ipaddress.ip_address("93.184.216.34"), [])  # public: always
    with pytest.raises(TargetRefused, match=r"10\.21\.0\.1"):
        check_address(ipaddress.ip_address("10.21.0.1"), allowed)
    with pytest.raises(TargetRefused, match="metadata"):
        check_address(ipaddress.ip_address("169.254.169.254"), allowed)


def test_the_host_header_keeps_the_subscribed_name_and_port() -> None:
    assert parse_target("https://hooks.example.org/x").host_header == "hooks.example.org"
    assert parse_target("http://hooks.example.org:8080/x").host_header == "hooks.example.org:8080"
    assert parse_target("http://[2001:db8::1]:8080/x").host_header == "[2001:db8::1]:8080"
