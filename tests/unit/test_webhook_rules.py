"""Pure rules of webhooks: which history events are which hooks, signatures, the retry schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cmdb_server.webhooks import hook_types, next_attempt, sign, verify


@pytest.mark.parametrize(
    ("event", "unauthorised", "hooks"),
    [
        ({"kind": "created"}, False, ["ci.created"]),
        ({"kind": "attribute", "source": "agent:web1"}, False, ["ci.updated"]),
        ({"kind": "attribute", "source": "agent:web1"}, True, ["ci.updated", "change.unauthorised"]),
        ({"kind": "attribute", "source": "manual:alice"}, True, ["ci.updated"]),  # a person's edit is no discovery
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
