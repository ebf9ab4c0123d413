"""The pure parts of ``cmdb``: the times it takes and how it tells the API's refusals."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import pytest

from cmdb_server.cli.engineer import main
from cmdb_server.cli.engineer.api import ApiCallError
from cmdb_server.cli.engineer.output import instant


def test_times_are_iso_with_a_zone_or_relative_to_now() -> None:
    assert instant("2026-12-01T22:00+01:00") == "2026-12-01T22:00:00+01:00"
    assert datetime.fromisoformat(instant("2026-12-01T22:00")).tzinfo is not None  # local time
    now = datetime.now(UTC)
    for given, offset in (("now", timedelta()), ("+30m", timedelta(minutes=30)), ("now+1d2h", timedelta(hours=26))):
        assert abs(datetime.fromisoformat(instant(given)) - (now + offset)) < timedelta(seconds=5), given
    assert datetime.fromisoformat(instant("NOW-1h")) < now
    for wrong in ("soon", "", "+2x", "2026-13-01", "+99999999999d"):
        with pytest.raises(argparse.ArgumentTypeError):
            instant(wrong)


def test_a_refusal_names_the_options_at_fault_and_the_states_allowed() -> None:
    body = {
        "error": {
            "status": 409,
            "message": "cannot go from closed to submitted",
            "fields": [{"field": "to", "in": "body", "message": "cannot go from closed to submitted", "allowed": []}],
        }
    }
    refused = ApiCallError("HTTP 409: cannot go from closed to submitted", 409, body)
    assert refused.explained() == ("HTTP 409: cannot go from closed to submitted\n  allowed next: none (a final state)")
    invalid = {"error": {"fields": [{"field": "planned_end", "in": "body", "message": "must be after the start"}]}}
    assert ApiCallError("HTTP 422: bad window", 422, invalid).explained({"planned_end": "--end"}) == (
        "HTTP 422: bad window\n  planned_end (--end): must be after the start"
    )
    assert ApiCallError("cannot reach http://x: refused").explained() == "cannot reach http://x: refused"


@pytest.mark.parametrize("url", ["http://[::1", "not a url", "ftp://x", ""])
def test_a_server_url_that_is_none_is_a_usage_error(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--url", url, "--token", "t", "change", "list"])
    assert stopped.value.code == 2
    assert "argument --url:" in capsys.readouterr().err
