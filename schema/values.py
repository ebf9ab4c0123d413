"""Checking attribute values against their declared types and lengths.

Pure functions shared by every writer of CIs (ingest, manual edits, imports), so a value
that does not fit its attribute is refused with the attribute's name before anything is
written. The lengths are data (``limits.toml``): a value longer than Neo4j can index
would otherwise fail inside the database, after the rest of the report was checked.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from schema.enums import AttributeType
from schema.model import Attribute, CIClass, SchemaError


class AttributeValueError(ValueError):
    """A value does not fit the attribute it was given for; ``field`` names the attribute."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Limits:
    """The longest values accepted, in characters (``limits.toml`` says why these numbers)."""

    max_length: int  # any string, list item or relationship property
    indexed_max_length: int  # identity keys: each is in a range index or a uniqueness constraint
    range_index_key_bytes: int  # Neo4j's limits, measured: what the two above are chosen under
    text_index_key_bytes: int
    max_records: int  # per report: what one transaction of a 1 GiB heap applies, with margin
    max_relations: int
    earliest: datetime  # the first and last time accepted, and the widest time zone offset
    latest: datetime
    max_offset_minutes: int
    access_port_max_macs: int  # more MACs learnt on a switch port: no one host sits there


def _load_limits() -> Limits:
    text = resources.files("schema").joinpath("limits.toml").read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
        return Limits(**raw["strings"], **raw["neo4j"], **raw["reports"], **raw["times"], **raw["topology"])
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise SchemaError(f"limits.toml: {exc}") from None


LIMITS = _load_limits()
MAX_LENGTH = LIMITS.max_length


@dataclass(frozen=True)
class InventoryLimits:
    """What the inventory agents' endpoint reads of one XML request (``limits.toml`` [inventory] says why)."""

    max_xml_bytes: int  # decompressed: a zip bomb stops here
    max_depth: int
    max_elements: int
    max_text_length: int
    max_name_length: int
    max_attribute_length: int


def _load_inventory_limits() -> InventoryLimits:
    text = resources.files("schema").joinpath("limits.toml").read_text(encoding="utf-8")
    try:
        return InventoryLimits(**tomllib.loads(text)["inventory"])
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise SchemaError(f"limits.toml [inventory]: {exc}") from None


INVENTORY_LIMITS = _load_inventory_limits()


QUOTE_LENGTH = 60
"""The most characters of an offending value an error message quotes (issue 14: a 10 MB ``ref``
came back as a 20 MB error body)."""


def quoted(value: Any, limit: int = QUOTE_LENGTH) -> str:
    """A value as an error message quotes it: ``repr`` of at most ``limit`` characters of it,
    and how long it was when it was cut. Every message that quotes input uses this."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= limit + 2 else f"{text[:limit]}... ({type(value).__name__})"


def check_text(name: str, value: str, limit: int) -> None:
    """A string of input: no NUL character (Neo4j stores it, but no tool after it reads it
    right) and at most ``limit`` characters; AttributeValueError names the field."""
    if len(value) > limit:
        raise AttributeValueError(name, f"at most {limit} characters, got {len(value)}")
    if "\x00" in value:
        raise AttributeValueError(name, "must not contain a NUL character")
    if not encodable(value):
        raise AttributeValueError(name, "must be valid Unicode text (it holds a lone surrogate, as \\ud800)")


def encodable(value: str) -> bool:
    """Whether the text can be written as UTF-8: JSON may carry a lone surrogate (``\\ud800``)
    that no database or file can store."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_length(name: str, value: str, limit: int, what: str = "") -> None:
    if len(value) > limit:
        raise AttributeValueError(name, f"at most {limit} characters{what}, got {len(value)}")


def check_time(name: str, value: datetime) -> datetime:
    """The time if it has a time zone and lies within the limits (``limits.toml``), or raise naming it."""
    offset = value.utcoffset()
    if offset is None:
        raise AttributeValueError(name, "a time needs a time zone (e.g. Z or +00:00)")
    if abs(offset) > timedelta(minutes=LIMITS.max_offset_minutes):
        hours, minutes = divmod(LIMITS.max_offset_minutes, 60)
        raise AttributeValueError(name, f"a time zone offset is at most ±{hours:02d}:{minutes:02d}")
    if not LIMITS.earliest <= value <= LIMITS.latest:
        span = f"{LIMITS.earliest.isoformat()} and {LIMITS.latest.isoformat()}"
        raise AttributeValueError(name, f"a time between {span}, got {value.isoformat()}")
    return value


def check_value(attr: Attribute, value: Any) -> Any:
    """The value normalised for its attribute (an ISO string becomes a datetime), or raise."""
    kind = attr.type
    # The common cases first, in one test each: a report checks a few thousand values.
    if type(value) is str and (
        (kind is AttributeType.STRING and len(value) <= MAX_LENGTH and "\x00" not in value and encodable(value))
        or (kind is AttributeType.ENUM and value in attr.values)
    ):
        return value
    if kind is AttributeType.STRING:
        if not isinstance(value, str):
            raise AttributeValueError(attr.name, f"expected a string, got {type(value).__name__}")
        check_text(attr.name, value, MAX_LENGTH)
        return value
    if kind is AttributeType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise AttributeValueError(attr.name, f"expected an integer, got {type(value).__name__}")
        if not -(2**63) <= value < 2**63:
            raise AttributeValueError(attr.name, "integer out of the 64-bit range")
        return value
    if kind is AttributeType.FLOAT:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AttributeValueError(attr.name, f"expected a number, got {type(value).__name__}")
        return float(value)
    if kind is AttributeType.BOOLEAN:
        if not isinstance(value, bool):
            raise AttributeValueError(attr.name, f"expected true or false, got {type(value).__name__}")
        return value
    if kind is AttributeType.DATETIME:
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise AttributeValueError(attr.name, f"expected an ISO 8601 date-time, got {quoted(value)}") from None
        else:
            raise AttributeValueError(attr.name, f"expected an ISO 8601 date-time, got {type(value).__name__}")
        return check_time(attr.name, parsed)
    if kind is AttributeType.STRING_LIST:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise AttributeValueError(attr.name, "expected a list of strings")
        for item in value:
            check_text(attr.name, item, MAX_LENGTH)
        return list(value)
    if kind is AttributeType.ENUM:
        if value not in attr.values:
            raise AttributeValueError(attr.name, f"{quoted(value)} is not one of {', '.join(attr.values)}")
        return value
    raise AssertionError(f"unhandled attribute type {kind}")  # pragma: no cover


def value_from_text(attr: Attribute, text: str) -> Any:
    """A value written as text (a CSV cell, a query string) as its attribute's type, checked;
    AttributeValueError names what is wrong. Lists are ``a;b``; booleans true/false, yes/no, 1/0."""
    kind = attr.type
    try:
        if kind is AttributeType.INTEGER:
            return check_value(attr, int(text))
        if kind is AttributeType.FLOAT:
            return check_value(attr, float(text))
    except ValueError:
        raise AttributeValueError(attr.name, f"expected a {kind.value}, got {quoted(text)}") from None
    if kind is AttributeType.BOOLEAN:
        flags = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
        if text.strip().lower() not in flags:
            raise AttributeValueError(attr.name, f"expected true or false, got {quoted(text)}")
        return flags[text.strip().lower()]
    if kind is AttributeType.STRING_LIST:
        return [item.strip() for item in text.split(";") if item.strip()]
    return check_value(attr, text)


def check_attributes(ci_class: CIClass, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Return the attributes with values normalised; raise on an unknown name or a bad value.

    ``None`` means "no value" and is kept, so a writer can clear an attribute. Identity keys
    are held to the shorter length of indexed values (``limits.toml``), and a blank one
    (empty or spaces) is refused: it would make every CI without the key one CI.
    """
    checked: dict[str, Any] = {}
    keys = ci_class.identity_keys
    for name, value in attributes.items():
        attr = ci_class.attributes.get(name)
        if attr is None:
            raise AttributeValueError(name, f"not an attribute of {ci_class.name}")
        if name in keys and type(value) is str:
            if not value.strip():
                raise AttributeValueError(name, "an identity key cannot be blank (leave it out, or null to clear it)")
            _check_length(name, value, LIMITS.indexed_max_length, " for an identity key (Neo4j indexes it)")
        checked[name] = None if value is None else check_value(attr, value)
    return checked
