"""Every agent parser against recorded outputs: tests/fixtures/agent/<parser>/<case>.raw + .json."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent import parsers
from tests.conftest import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "agent"

PARSERS: dict[str, Callable[[str], Any]] = {
    "os_release": parsers.parse_os_release,
    "dpkg_query": parsers.parse_dpkg_query,
    "rpm_query": parsers.parse_rpm_query,
    "default_route": parsers.parse_default_route_interface,
    "cpuinfo": parsers.parse_cpuinfo,
}

CASES = sorted(FIXTURES.glob("*/*.raw"))


@pytest.mark.parametrize("raw", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_parser_output_matches_the_recorded_expectation(raw: Path) -> None:
    expected = json.loads(raw.with_suffix(".json").read_text())
    assert PARSERS[raw.parent.name](raw.read_text()) == expected


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_parser_has_recorded_cases(name: str) -> None:
    assert len(list((FIXTURES / name).glob("*.raw"))) >= 2, f"{name} needs recorded outputs of two systems"


def test_every_fixture_folder_has_a_parser() -> None:
    assert {p.parent.name for p in CASES} == set(PARSERS)


def test_dpkg_keeps_installed_packages_only_and_every_architecture() -> None:
    packages = parsers.parse_dpkg_query((FIXTURES / "dpkg_query" / "multiarch-and-removed.raw").read_text())
    assert [(p["package_name"], p["architecture"]) for p in packages] == [
        ("libssl3", "amd64"),
        ("libssl3", "i386"),
        ("openssh-server", "amd64"),
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("fe80::1%eth0", "fe80::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("10.0.0.1", "10.0.0.1"),
    ],
)
def test_canonical_address(raw: str, expected: str) -> None:
    assert parsers.canonical_address(raw) == expected


def test_prefix_length_of_netmasks() -> None:
    assert parsers.prefix_length("255.255.255.0", 4) == 24
    assert parsers.prefix_length("ffff:ffff:ffff:ffff::", 6) == 64
    assert parsers.prefix_length(None, 6) == 128


@pytest.mark.parametrize("value", ["To be filled by O.E.M.", " Not Specified\n", "0", "", None])
def test_placeholder_dmi_values_are_dropped(value: str | None) -> None:
    assert parsers.clean_dmi(value) is None


def test_real_dmi_values_are_kept() -> None:
    assert parsers.clean_dmi("Dell Inc.\n") == "Dell Inc."
