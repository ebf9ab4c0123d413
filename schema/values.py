"""Checking attribute values against their declared types.

Pure functions shared by every writer of CIs (ingest, manual edits), so a value that
does not fit its attribute is refused with the attribute's name before anything is
written.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from schema.enums import AttributeType
from schema.model import Attribute, CIClass


class AttributeValueError(ValueError):
    """A value does not fit the attribute it was given for; ``field`` names the attribute."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def check_value(attr: Attribute, value: Any) -> Any:
    """The value normalised for its attribute (an ISO string becomes a datetime), or raise."""
    kind = attr.type
    # The common cases first, in one test each: a report checks a few thousand values.
    if type(value) is str and (kind is AttributeType.STRING or (kind is AttributeType.ENUM and value in attr.values)):
        return value
    if kind is AttributeType.STRING:
        if not isinstance(value, str):
            raise AttributeValueError(attr.name, f"expected a string, got {type(value).__name__}")
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
                raise AttributeValueError(attr.name, f"expected an ISO 8601 date-time, got {value!r}") from None
        else:
            raise AttributeValueError(attr.name, f"expected an ISO 8601 date-time, got {type(value).__name__}")
        if parsed.tzinfo is None:
            raise AttributeValueError(attr.name, "a date-time needs a time zone (e.g. +00:00 or Z)")
        return parsed
    if kind is AttributeType.STRING_LIST:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise AttributeValueError(attr.name, "expected a list of strings")
        return list(value)
    if kind is AttributeType.ENUM:
        if value not in attr.values:
            raise AttributeValueError(attr.name, f"{value!r} is not one of {', '.join(attr.values)}")
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
        raise AttributeValueError(attr.name, f"expected a {kind.value}, got {text!r}") from None
    if kind is AttributeType.BOOLEAN:
        flags = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
        if text.strip().lower() not in flags:
            raise AttributeValueError(attr.name, f"expected true or false, got {text!r}")
        return flags[text.strip().lower()]
    if kind is AttributeType.STRING_LIST:
        return [item.strip() for item in text.split(";") if item.strip()]
    return check_value(attr, text)


def check_attributes(ci_class: CIClass, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Return the attributes with values normalised; raise on an unknown name or a bad value.

    ``None`` means "no value" and is kept, so a writer can clear an attribute.
    """
    checked: dict[str, Any] = {}
    for name, value in attributes.items():
        attr = ci_class.attributes.get(name)
        if attr is None:
            raise AttributeValueError(name, f"not an attribute of {ci_class.name}")
        checked[name] = None if value is None else check_value(attr, value)
    return checked
