"""The CMDB's vocabulary: CI classes, relationship types, closed enums and constraints.

Declared once, as data (``ci_classes.toml``, ``relationships.toml``), and loaded by the
server, the agent and the collectors alike. See ``schema/model.py`` for the rules a
declaration must follow.
"""

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
