"""Attribute values are checked against their declared types, naming the attribute."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schema import AttributeValueError, check_attributes, load_schema
from schema.values import LIMITS

LONGEST = LIMITS.max_length


def test_accepts_and_normalises_valid_values() -> None:
    host = load_schema().ci_class("LinuxHost")
    checked = check_attributes(
        host,
        {
            "hostname": "web1",
            "cpu_cores": 8,
            "virtual": False,
            "boot_time": "2026-11-27T03:00:00+00:00",
            "serial": None,
        },
    )
    assert checked["boot_time"] == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    assert checked["serial"] is None
    assert checked["cpu_cores"] == 8


@pytest.mark.parametrize(
    ("class_name", "attributes", "field", "fragment"),
    [
        ("Host", {"cpu_cores": "eight"}, "cpu_cores", "expected an integer"),
        ("Host", {"cpu_cores": True}, "cpu_cores", "expected an integer"),
        ("Host", {"cpu_cores": 2**70}, "cpu_cores", "64-bit"),
        ("Host", {"virtual": "yes"}, "virtual", "true or false"),
        ("Host", {"boot_time": "yesterday"}, "boot_time", "ISO 8601"),
        ("Host", {"boot_time": "2026-11-27T03:00:00"}, "boot_time", "time zone"),
        ("Host", {"colour": "red"}, "colour", "not an attribute of Host"),
        ("Interface", {"oper_status": "sideways"}, "oper_status", "not one of up, down, testing, unknown, dormant"),
        ("Host", {"hostname": 42}, "hostname", "expected a string"),
        ("Host", {"os_name": "x" * (LONGEST + 1)}, "os_name", f"at most {LONGEST} characters"),
        ("Interface", {"addresses": ["x" * (LONGEST + 1)]}, "addresses", "at most"),
        ("Host", {"fqdn": "x" * (LIMITS.indexed_max_length + 1)}, "fqdn", "for an identity key"),
        ("SoftwarePackage", {"version": "\u00e9" * (LIMITS.indexed_max_length + 1)}, "version", "identity key"),
        ("Host", {"machine_id": ""}, "machine_id", "cannot be blank"),
        ("Application", {"name": " \t "}, "name", "cannot be blank"),
    ],
)
def test_refuses_a_bad_value_naming_the_field(
    class_name: str, attributes: dict[str, object], field: str, fragment: str
) -> None:
    with pytest.raises(AttributeValueError) as caught:
        check_attributes(load_schema().ci_class(class_name), attributes)
    assert caught.value.field == field
    assert fragment in caught.value.message


def test_the_longest_values_allowed_pass() -> None:
    host = load_schema().ci_class("LinuxHost")
    longest = {"os_name": "x" * LONGEST, "fqdn": "x" * LIMITS.indexed_max_length, "name": "x" * LONGEST}
    assert check_attributes(host, longest) == longest


def test_a_blank_value_is_refused_only_for_identity_keys() -> None:
    host = load_schema().ci_class("LinuxHost")
    assert check_attributes(host, {"os_name": " ", "name": "", "machine_id": None}) == {
        "os_name": " ",
        "name": "",
        "machine_id": None,
    }
