"""Typed model of the CMDB vocabulary, loaded from the TOML files beside this module.

The TOML files are data an engineer edits; this module turns them into frozen objects
and refuses a vocabulary that contradicts itself (an unknown parent, an identity key
that is not an attribute, a relationship to a class that does not exist), so a mistake
in the schema stops the server at start-up instead of corrupting the graph later.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from typing import Any

from schema.enums import AttributeType, ImpactPropagation, RelationshipEnd, SourceKind

ROOT_CLASS = "CI"
"""The abstract class every CI class descends from; also the label every CI node has."""

PARENT_UID = "parent_uid"
"""Property holding the uid of the parent CI on dependent CIs (an interface's host)."""

SYSTEM_PROPERTIES: tuple[str, ...] = ("uid", "class", "status", "first_seen", "last_seen", PARENT_UID)
"""Properties the CMDB itself manages on every CI node; no class may declare them."""

EDGE_SYSTEM_PROPERTIES: tuple[str, ...] = (
    "source",
    "sources",
    "ended_sources",
    "seen_by",
    "first_seen",
    "last_seen",
    "ended_at",
    "report_id",
    "via",
)
"""Properties the CMDB manages on every relationship; no relationship type may declare them."""

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class SchemaError(ValueError):
    """The vocabulary files contradict themselves or break a rule of this module."""


@dataclass(frozen=True)
class Attribute:
    name: str
    type: AttributeType
    description: str
    values: tuple[str, ...] = ()  # allowed values when type is ENUM
    volatile: bool = False  # changes all the time (used space): kept current, not recorded as history


@dataclass(frozen=True)
class IdentityRule:
    """One set of keys that identifies a CI when a record has all of them.

    ``strong``: the keys name one real thing and never another (a machine-id, a serial):
    a CI holding other values for them is another thing, whatever weaker rule matches it.
    ``interface_keys``: the rule also matches on any value of these keys shared by one of the
    record's interfaces and one of the CI's (a physical interface's MAC), as well as on
    ``keys`` when it has any (a combination).
    """

    keys: tuple[str, ...]
    unique: bool = False
    strong: bool = False
    interface_keys: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How the server names the rule when it explains a match."""
        parts = list(self.keys) + [f"interface {k}" for k in self.interface_keys]
        return " + ".join(parts)

    @property
    def by_record_keys(self) -> bool:
        """A record's own keys can satisfy the rule (it needs no interface)."""
        return bool(self.keys) and not self.interface_keys


@dataclass(frozen=True)
class ParentSpec:
    """How a dependent CI hangs off its parent: which classes, through which relationship.

    ``parent_is_source`` tells the relationship's direction: ``(host)-[:HAS_INTERFACE]->(if)``
    has the parent as its source, ``(service)-[:RUNS_ON]->(host)`` has it as its target.
    """

    classes: tuple[str, ...]
    relationship: str
    parent_is_source: bool = True


@dataclass(frozen=True)
class CIClass:
    name: str
    parent: str | None
    description: str
    abstract: bool
    attributes: Mapping[str, Attribute]  # own and inherited, by name
    identity: tuple[IdentityRule, ...]  # own if declared, else inherited
    precedence: tuple[SourceKind, ...]  # highest first; own if declared, else inherited
    ancestors: tuple[str, ...]  # nearest first, ending with ROOT_CLASS
    parent_ci: ParentSpec | None = None
    shared: bool = False  # one CI that many hosts' reports name (a package version): see ci_classes.toml
    # An agent may name it in its host's report though it is no part of the host (a package
    # the host installed, an address it has or talks to): see ci_classes.toml.
    agent_may_name: bool = False
    manual_locks: tuple[str, ...] = ()  # attributes a manual edit locks against discovery
    # The keys of its identity rules and of its ancestors': each rule has an index on its
    # class's label (schema/constraints.py), and a node carries its ancestors' labels.
    identity_keys: frozenset[str] = frozenset()
    # The row of the graph page's layered drawing, 0 at the top (services); own or inherited.
    layer: int | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        """Labels a node of this class carries: the root label first, then outermost to own."""
        return (*reversed(self.ancestors), self.name) if self.name != ROOT_CLASS else (ROOT_CLASS,)

    @property
    def dependent(self) -> bool:
        return self.parent_ci is not None

    @property
    def record_rules(self) -> tuple[IdentityRule, ...]:
        """The identity rules a record satisfies with its own keys (one of them is required)."""
        return tuple(rule for rule in self.identity if rule.by_record_keys)

    @property
    def strong_rules(self) -> tuple[IdentityRule, ...]:
        return tuple(rule for rule in self.identity if rule.strong)

    @property
    def reconciled(self) -> bool:
        """Identified by weighing every rule (strong keys, interfaces) rather than the first that
        matches: top-level CIs that several kinds of source see (hosts, network devices)."""
        return any(rule.strong or rule.interface_keys for rule in self.identity)

    @cached_property
    def volatile_attributes(self) -> frozenset[str]:
        """Attributes that change all the time (used space): out of fingerprints and history."""
        return frozenset(a.name for a in self.attributes.values() if a.volatile)

    def is_a(self, other: str) -> bool:
        return other == self.name or other in self.ancestors


@dataclass(frozen=True)
class RelationshipType:
    name: str
    description: str
    from_classes: tuple[str, ...]
    to_classes: tuple[str, ...]
    impact: ImpactPropagation
    properties: Mapping[str, Attribute] = field(default_factory=dict)
    key_properties: tuple[str, ...] = ()  # tell apart two edges of this type between the same CIs
    stops_at: tuple[str, ...] = ()  # classes that impact does not enter through this type
    symmetric: bool = False  # a->b and b->a are one relation (a link seen from either end): one edge
    # Redundancy: the CI at this end is a group of the CIs at the other end (its members):
    # trouble on a member leaves it degraded while another member works, down when none
    # does; and a group's being degraded does not pass back out to its other members.
    redundant_at: RelationshipEnd | None = None
    # Neighbours that are no members of the group, by property value (an interface known to
    # be virtual or down is no uplink of its host).
    members_exclude: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def ends(self, from_uid: str, to_uid: str) -> tuple[str, str]:
        """The edge's stored direction: a symmetric relation is kept from the lower uid."""
        if self.symmetric and to_uid < from_uid:
            return to_uid, from_uid
        return from_uid, to_uid

    def propagates(self, outgoing: bool) -> bool:
        """Whether trouble on one end reaches the other: from the source (outgoing) or the target."""
        if self.impact is ImpactPropagation.BOTH:
            return True
        if outgoing:
            return self.impact is ImpactPropagation.SOURCE_TO_TARGET
        return self.impact is ImpactPropagation.TARGET_TO_SOURCE

    def is_member(self, properties: Mapping[str, Any]) -> bool:
        """Whether a CI at the member end, with these properties, counts in its group."""
        return not any(properties.get(k) in values for k, values in self.members_exclude.items())


@dataclass(frozen=True)
class Schema:
    classes: Mapping[str, CIClass]
    relationships: Mapping[str, RelationshipType]
    _subclasses: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    digest: str = ""  # of the vocabulary's source: what was valid under one digest may not be under another

    def ci_class(self, name: str) -> CIClass:
        try:
            return self.classes[name]
        except KeyError:
            raise KeyError(f"unknown CI class {name!r}") from None

    def all_attributes(self) -> dict[str, Attribute]:
        """Every attribute any class declares, by name (the first declaration of a name)."""
        found: dict[str, Attribute] = {}
        for ci_class in self.classes.values():
            for name, attr in ci_class.attributes.items():
                found.setdefault(name, attr)
        return found

    def concrete_classes(self) -> list[CIClass]:
        return [c for c in self.classes.values() if not c.abstract]

    def shared_labels(self) -> list[str]:
        """Labels of the classes whose CIs many sources share (and never go stale alone)."""
        return sorted(c.name for c in self.classes.values() if c.shared)

    def subclasses(self, name: str) -> tuple[str, ...]:
        """The class itself and every class descending from it."""
        return self._subclasses.get(name, ())


def _require(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise SchemaError(f"{where}: missing '{key}'")
    return mapping[key]


def _identifier(name: str, where: str) -> str:
    if not _IDENTIFIER.match(name):
        raise SchemaError(f"{where}: {name!r} is not an identifier (letters, digits, underscore)")
    return name


def _parse_attribute(
    name: str, raw: Mapping[str, Any], where: str, reserved: tuple[str, ...] = SYSTEM_PROPERTIES
) -> Attribute:
    _identifier(name, where)
    if name in reserved:
        raise SchemaError(f"{where}: '{name}' is managed by the CMDB and cannot be declared")
    try:
        attr_type = AttributeType(_require(raw, "type", where))
    except ValueError:
        allowed = ", ".join(t.value for t in AttributeType)
        raise SchemaError(f"{where}: type {raw['type']!r} is not one of {allowed}") from None
    values = tuple(raw.get("values", ()))
    if attr_type is AttributeType.ENUM and not values:
        raise SchemaError(f"{where}: an enum attribute needs 'values'")
    if values and attr_type is not AttributeType.ENUM:
        raise SchemaError(f"{where}: 'values' is only for enum attributes")
    description = _require(raw, "description", where)
    return Attribute(
        name=name, type=attr_type, description=description, values=values, volatile=bool(raw.get("volatile", False))
    )


def _build_classes(raw_classes: Mapping[str, Any]) -> dict[str, CIClass]:
    if ROOT_CLASS not in raw_classes:
        raise SchemaError(f"classes: the root class '{ROOT_CLASS}' is not declared")
    built: dict[str, CIClass] = {}

    def build(name: str, visiting: tuple[str, ...]) -> CIClass:
        if name in built:
            return built[name]
        where = f"classes.{name}"
        if name in visiting:
            raise SchemaError(f"{where}: inheritance cycle {' -> '.join((*visiting, name))}")
        raw = raw_classes[name]
        _identifier(name, where)
        parent_name = raw.get("parent")
        if name == ROOT_CLASS:
            if parent_name is not None:
                raise SchemaError(f"{where}: the root class has no parent")
            parent = None
        else:
            if parent_name is None:
                raise SchemaError(f"{where}: missing 'parent' (use '{ROOT_CLASS}' for a top-level class)")
            if parent_name not in raw_classes:
                raise SchemaError(f"{where}: parent {parent_name!r} is not a declared class")
            parent = build(parent_name, (*visiting, name))

        attributes: dict[str, Attribute] = dict(parent.attributes) if parent else {}
        for attr_name, attr_raw in raw.get("attributes", {}).items():
            attr = _parse_attribute(attr_name, attr_raw, f"{where}.attributes.{attr_name}")
            inherited = attributes.get(attr_name)
            if inherited is not None and inherited.type is not attr.type:
                raise SchemaError(
                    f"{where}.attributes.{attr_name}: redeclared as {attr.type.value}, "
                    f"inherited as {inherited.type.value}"
                )
            attributes[attr_name] = attr

        if "identity" in raw:
            identity = tuple(
                IdentityRule(
                    keys=tuple(rule.get("keys", ())),
                    unique=bool(rule.get("unique", False)),
                    strong=bool(rule.get("strong", False)),
                    interface_keys=tuple(rule.get("interface_keys", ())),
                )
                for rule in raw["identity"]
            )
        else:
            identity = parent.identity if parent else ()
        for i, rule in enumerate(identity):
            if not rule.keys and not rule.interface_keys:
                raise SchemaError(f"{where}.identity[{i}]: an identity rule needs at least one key")
            for key in rule.keys:
                if key not in attributes:
                    raise SchemaError(f"{where}.identity[{i}]: key {key!r} is not an attribute of {name}")
            if rule.interface_keys and (rule.unique or len(rule.interface_keys) > 1 or "Interface" not in raw_classes):
                raise SchemaError(
                    f"{where}.identity[{i}]: an interface rule names one Interface key and is never unique"
                )

        if "precedence" in raw:
            try:
                precedence = tuple(SourceKind(s) for s in raw["precedence"])
            except ValueError as exc:
                raise SchemaError(f"{where}.precedence: {exc}") from None
        else:
            precedence = parent.precedence if parent else ()

        # Attributes a manual edit locks against discovery: the parent's and the class's own.
        # An inherited one that is a unique identity key here (an interface's name) is dropped.
        unique_keys = {key for rule in identity if rule.unique for key in rule.keys}
        for attr_name in raw.get("manual_locks", ()):
            if attr_name not in attributes:
                raise SchemaError(f"{where}.manual_locks: {attr_name!r} is not an attribute of {name}")
            if attr_name in unique_keys:
                raise SchemaError(f"{where}.manual_locks: {attr_name!r} is a unique identity key; it cannot be locked")
        inherited_locks = [a for a in (parent.manual_locks if parent else ()) if a not in unique_keys]
        manual_locks = tuple(dict.fromkeys((*inherited_locks, *raw.get("manual_locks", ()))))

        parent_ci = None
        if "parent_ci" in raw:
            spec = raw["parent_ci"]
            direction = spec.get("direction", "parent_to_child")
            if direction not in ("parent_to_child", "child_to_parent"):
                raise SchemaError(f"{where}.parent_ci.direction: use parent_to_child or child_to_parent")
            parent_ci = ParentSpec(
                classes=tuple(_require(spec, "classes", f"{where}.parent_ci")),
                relationship=_require(spec, "relationship", f"{where}.parent_ci"),
                parent_is_source=direction == "parent_to_child",
            )
        elif parent is not None:
            parent_ci = parent.parent_ci

        layer = raw.get("layer", parent.layer if parent else None)
        if layer is not None and (isinstance(layer, bool) or not isinstance(layer, int) or layer < 0):
            raise SchemaError(f"{where}.layer: {layer!r} is not a whole number from 0 (the top row) up")

        ci_class = CIClass(
            layer=layer,
            shared=bool(raw.get("shared", parent.shared if parent else False)),
            agent_may_name=bool(raw.get("agent_may_name", parent.agent_may_name if parent else False)),
            name=name,
            parent=parent.name if parent else None,
            description=_require(raw, "description", where),
            abstract=bool(raw.get("abstract", False)),
            attributes=attributes,
            identity=identity,
            precedence=precedence,
            ancestors=(parent.name, *parent.ancestors) if parent else (),
            parent_ci=parent_ci,
            manual_locks=manual_locks,
            identity_keys=frozenset(key for rule in identity for key in rule.keys).union(
                parent.identity_keys if parent else ()
            ),
        )
        built[name] = ci_class
        return ci_class

    for class_name in raw_classes:
        build(class_name, ())
    for ci_class in built.values():
        if not ci_class.abstract and not ci_class.record_rules:
            raise SchemaError(f"classes.{ci_class.name}: a concrete class needs an identity rule of its own keys")
        for i, rule in enumerate(ci_class.identity):
            for key in rule.interface_keys:
                if key not in built["Interface"].attributes:
                    raise SchemaError(f"classes.{ci_class.name}.identity[{i}]: {key!r} is not an Interface attribute")
        if ci_class.parent_ci is not None:
            for parent_class in ci_class.parent_ci.classes:
                if parent_class not in built:
                    raise SchemaError(f"classes.{ci_class.name}.parent_ci: {parent_class!r} is not a declared class")
    # An interface key another class identifies by is indexed and looked up like an identity key.
    interface_keys = {key for c in built.values() for rule in c.identity for key in rule.interface_keys}
    for name, ci_class in list(built.items()):
        if interface_keys and ci_class.is_a("Interface"):
            built[name] = dataclasses.replace(ci_class, identity_keys=ci_class.identity_keys | interface_keys)
    return built


def _build_relationships(
    raw_relationships: Mapping[str, Any], classes: Mapping[str, CIClass]
) -> dict[str, RelationshipType]:
    relationships: dict[str, RelationshipType] = {}
    for name, raw in raw_relationships.items():
        where = f"relationships.{name}"
        _identifier(name, where)
        if name != name.upper():
            raise SchemaError(f"{where}: relationship types are UPPER_SNAKE_CASE")
        ends: dict[str, tuple[str, ...]] = {}
        for end in ("from", "to"):
            end_classes = tuple(_require(raw, end, where))
            for class_name in end_classes:
                if class_name not in classes:
                    raise SchemaError(f"{where}.{end}: {class_name!r} is not a declared class")
            ends[end] = end_classes
        try:
            impact = ImpactPropagation(_require(raw, "impact", where))
        except ValueError:
            allowed = ", ".join(p.value for p in ImpactPropagation)
            raise SchemaError(f"{where}.impact: {raw['impact']!r} is not one of {allowed}") from None
        properties = {
            prop: _parse_attribute(prop, prop_raw, f"{where}.properties.{prop}", EDGE_SYSTEM_PROPERTIES)
            for prop, prop_raw in raw.get("properties", {}).items()
        }
        relationships[name] = RelationshipType(
            name=name,
            description=_require(raw, "description", where),
            from_classes=ends["from"],
            to_classes=ends["to"],
            impact=impact,
            properties=properties,
            key_properties=tuple(p for p, p_raw in raw.get("properties", {}).items() if p_raw.get("key")),
            stops_at=tuple(raw.get("stops_at", ())),
            symmetric=bool(raw.get("symmetric", False)),
            redundant_at=_redundant_end(raw, where),
            members_exclude={k: tuple(v) for k, v in raw.get("members_exclude", {}).items()},
        )
        for class_name in relationships[name].stops_at:
            if class_name not in classes:
                raise SchemaError(f"{where}.stops_at: {class_name!r} is not a declared class")
        _check_members_exclude(relationships[name], classes, where)
    for ci_class in classes.values():
        if ci_class.parent_ci is not None:
            _check_parent_relationship(ci_class, classes, relationships)
    return relationships


def _check_members_exclude(rel: RelationshipType, classes: Mapping[str, CIClass], where: str) -> None:
    """Every excluding property is an attribute of the member end's classes, with values it can hold."""
    member_classes = rel.from_classes if rel.redundant_at is RelationshipEnd.TARGET else rel.to_classes
    for prop, values in rel.members_exclude.items():
        for class_name in member_classes:
            attribute = classes[class_name].attributes.get(prop)
            if attribute is None:
                raise SchemaError(f"{where}.members_exclude.{prop}: not an attribute of {class_name}")
            if attribute.values and not set(values) <= set(attribute.values):
                raise SchemaError(f"{where}.members_exclude.{prop}: {class_name}.{prop} is one of {attribute.values}")


def _allows(end_classes: tuple[str, ...], ci_class: CIClass) -> bool:
    return any(ci_class.is_a(name) for name in end_classes)


def _check_parent_relationship(
    ci_class: CIClass, classes: Mapping[str, CIClass], relationships: Mapping[str, RelationshipType]
) -> None:
    assert ci_class.parent_ci is not None
    where = f"classes.{ci_class.name}.parent_ci"
    spec = ci_class.parent_ci
    rel = relationships.get(spec.relationship)
    if rel is None:
        raise SchemaError(f"{where}: relationship {spec.relationship!r} is not declared")
    parent_end, child_end = (
        (rel.from_classes, rel.to_classes) if spec.parent_is_source else (rel.to_classes, rel.from_classes)
    )
    if not _allows(child_end, ci_class):
        raise SchemaError(f"{where}: {rel.name} does not allow {ci_class.name} at the child's end")
    for parent_name in spec.classes:
        if not _allows(parent_end, classes[parent_name]):
            raise SchemaError(f"{where}: {rel.name} does not allow {parent_name} at the parent's end")


def build_schema(raw_classes: Mapping[str, Any], raw_relationships: Mapping[str, Any]) -> Schema:
    """Build and check a schema from parsed TOML tables (``classes`` and ``relationships``)."""
    classes = _build_classes(raw_classes)
    relationships = _build_relationships(raw_relationships, classes)
    subclasses = {name: tuple(sorted(c.name for c in classes.values() if c.is_a(name))) for name in classes}
    source = json.dumps([raw_classes, raw_relationships], sort_keys=True, default=str)
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    return Schema(classes=classes, relationships=relationships, _subclasses=subclasses, digest=digest)


def _read_toml(filename: str) -> dict[str, Any]:
    text = resources.files("schema").joinpath(filename).read_text(encoding="utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"{filename}: {exc}") from None


def _redundant_end(raw: Mapping[str, Any], where: str) -> RelationshipEnd | None:
    if "redundant_at" not in raw:
        if "members_exclude" in raw:
            raise SchemaError(f"{where}.members_exclude: only a type with redundant_at has members")
        return None
    try:
        return RelationshipEnd(raw["redundant_at"])
    except ValueError:
        raise SchemaError(f"{where}.redundant_at: use 'source' or 'target'") from None


@cache
def load_schema() -> Schema:
    """The CMDB's vocabulary, read once from the packaged TOML files."""
    return build_schema(
        _read_toml("ci_classes.toml").get("classes", {}),
        _read_toml("relationships.toml").get("relationships", {}),
    )
