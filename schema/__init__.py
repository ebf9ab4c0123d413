"""The CMDB's vocabulary: CI classes, relationship types, closed enums and constraints.

Declared once, as data (``ci_classes.toml``, ``relationships.toml``), and loaded by the
server, the agent and the collectors alike. See ``schema/model.py`` for the rules a
declaration must follow.

The names below are loaded when first used (PEP 562), not when the package is: a command
that needs only ``schema.console`` (``cmdb-discover`` before its first packet) does not
pay for parsing the vocabulary.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from schema.constraints import IndexKind, IndexSpec, derive_index_specs
    from schema.enums import (
        AttributeType,
        Capability,
        CIStatus,
        ImpactPropagation,
        ImpactState,
        RelationshipEnd,
        Role,
        SourceKind,
    )
    from schema.model import (
        PARENT_UID,
        ROOT_CLASS,
        SYSTEM_PROPERTIES,
        Attribute,
        CIClass,
        IdentityRule,
        RelationshipType,
        Schema,
        SchemaError,
        build_schema,
        load_schema,
    )
    from schema.values import AttributeValueError, check_attributes

_HOME = {
    "schema.constraints": ("IndexKind", "IndexSpec", "derive_index_specs"),
    "schema.enums": (
        "AttributeType",
        "Capability",
        "CIStatus",
        "ImpactPropagation",
        "ImpactState",
        "RelationshipEnd",
        "Role",
        "SourceKind",
    ),
    "schema.model": (
        "PARENT_UID",
        "ROOT_CLASS",
        "SYSTEM_PROPERTIES",
        "Attribute",
        "CIClass",
        "IdentityRule",
        "RelationshipType",
        "Schema",
        "SchemaError",
        "build_schema",
        "load_schema",
    ),
    "schema.values": ("AttributeValueError", "check_attributes"),
}
_MODULE_OF = {name: module for module, names in _HOME.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'schema' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "PARENT_UID",
    "ROOT_CLASS",
    "SYSTEM_PROPERTIES",
    "Attribute",
    "AttributeType",
    "AttributeValueError",
    "CIClass",
    "CIStatus",
    "Capability",
    "IdentityRule",
    "ImpactPropagation",
    "ImpactState",
    "IndexKind",
    "IndexSpec",
    "RelationshipEnd",
    "RelationshipType",
    "Role",
    "Schema",
    "SchemaError",
    "SourceKind",
    "build_schema",
    "check_attributes",
    "derive_index_specs",
    "load_schema",
]
