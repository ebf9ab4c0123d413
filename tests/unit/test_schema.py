"""The vocabulary in schema/ holds together, and the loader refuses one that does not."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schema import (
    PARENT_UID,
    ROOT_CLASS,
    SYSTEM_PROPERTIES,
    ImpactPropagation,
    IndexKind,
    RelationshipEnd,
    SchemaError,
    build_schema,
    derive_index_specs,
    load_schema,
)
from schema.enums import AttributeType
from schema.model import _read_toml
from schema.values import LIMITS

REQUIRED_CLASSES = {
    "Host",
    "LinuxHost",
    "NetworkDevice",
    "Switch",
    "Router",
    "Interface",
    "IPAddress",
    "Filesystem",
    "SoftwarePackage",
    "ListeningService",
    "Application",
    "BusinessService",
}


def raw_tables() -> tuple[dict[str, Any], dict[str, Any]]:
    return (
        copy.deepcopy(_read_toml("ci_classes.toml")["classes"]),
        copy.deepcopy(_read_toml("relationships.toml")["relationships"]),
    )


def test_declares_the_first_useful_classes() -> None:
    schema = load_schema()
    assert set(schema.classes) >= REQUIRED_CLASSES
    assert schema.classes[ROOT_CLASS].abstract


def test_classes_inherit_labels_attributes_identity_and_precedence() -> None:
    schema = load_schema()
    linux = schema.ci_class("LinuxHost")
    host = schema.ci_class("Host")
    assert linux.labels == ("CI", "Host", "LinuxHost")
    assert set(host.attributes) <= set(linux.attributes)
    assert "distribution" in linux.attributes
    assert "distribution" not in host.attributes
    assert linux.identity == host.identity
    assert [rule.label for rule in host.identity] == [
        "machine_id",
        "hardware_uuid",
        "serial + vendor",
        "interface mac",
        "fqdn",
        "hostname + primary_mac",
        "hostname + management_ip",
    ]
    assert [rule.label for rule in host.strong_rules] == ["machine_id", "hardware_uuid", "serial + vendor"]
    assert host.reconciled
    assert schema.ci_class("Switch").reconciled
    assert not schema.ci_class("SoftwarePackage").reconciled
    assert [rule.label for rule in host.record_rules] == [
        "machine_id",
        "hardware_uuid",
        "serial + vendor",
        "fqdn",
        "hostname + primary_mac",
        "hostname + management_ip",
    ]
    assert schema.subclasses("NetworkDevice") == ("NetworkDevice", "Router", "Switch")
    assert schema.ci_class("Switch").precedence[:2] == (schema.ci_class("NetworkDevice").precedence[:2])


def test_every_concrete_class_is_identifiable_and_described() -> None:
    schema = load_schema()
    for ci_class in schema.concrete_classes():
        assert ci_class.identity, ci_class.name
        assert ci_class.description
        for attr in ci_class.attributes.values():
            assert attr.description, f"{ci_class.name}.{attr.name} has no description"
            assert attr.name not in SYSTEM_PROPERTIES


def test_every_concrete_class_has_a_graph_layer_from_services_down_to_the_network() -> None:
    schema = load_schema()
    assert all(c.layer is not None for c in schema.concrete_classes())
    layer = {c.name: c.layer or 0 for c in schema.concrete_classes()}
    assert layer["BusinessService"] < layer["Application"] < layer["SoftwareInstance"] < layer["Host"]
    assert layer["Host"] < layer["Interface"] < layer["Switch"]
    assert layer["LinuxHost"] == layer["Host"]  # inherited
    assert layer["Router"] == layer["Switch"]


def test_dependent_classes_name_their_parent_relationship_in_the_right_direction() -> None:
    schema = load_schema()
    interface = schema.ci_class("Interface").parent_ci
    service = schema.ci_class("ListeningService").parent_ci
    assert interface is not None
    assert interface.relationship == "HAS_INTERFACE"
    assert interface.parent_is_source
    assert service is not None
    assert service.relationship == "RUNS_ON"
    assert not service.parent_is_source
    assert schema.ci_class("Host").parent_ci is None


def test_an_inventorys_hardware_hangs_off_its_host_and_its_source_ranks_below_our_agent() -> None:
    schema = load_schema()
    for name, relationship, key in (("MemoryModule", "HAS_MEMORY_MODULE", "slot"), ("Disk", "HAS_DISK", "name")):
        ci_class = schema.ci_class(name)
        assert ci_class.parent_ci is not None
        assert (ci_class.parent_ci.classes, ci_class.parent_ci.relationship) == (("Host",), relationship)
        assert ci_class.parent_ci.parent_is_source
        assert [rule.keys for rule in ci_class.identity] == [(key,)]
        assert ci_class.layer == schema.ci_class("Filesystem").layer
        assert schema.relationships[relationship].impact is schema.relationships["HAS_FILESYSTEM"].impact
    host = schema.ci_class("Host")
    assert {"bios_vendor", "bios_version", "bios_date", "asset_tag", "chassis_type"} <= set(host.attributes)
    assert [k.value for k in host.precedence] == ["manual", "agent", "inventory", "ssh", "snmp", "import"]
    assert [k.value for k in schema.ci_class("Switch").precedence] == [
        "manual",
        "snmp",
        "ssh",
        "agent",
        "inventory",
        "import",
    ]


def test_relationships_carry_an_impact_rule() -> None:
    schema = load_schema()
    assert schema.relationships["RUNS_ON"].impact is ImpactPropagation.TARGET_TO_SOURCE
    assert schema.relationships["CONNECTED_TO"].impact is ImpactPropagation.BOTH
    assert schema.relationships["MEMBER_OF"].redundant_at is RelationshipEnd.TARGET
    assert schema.relationships["HAS_INTERFACE"].redundant_at is RelationshipEnd.SOURCE
    assert not schema.relationships["HAS_INTERFACE"].is_member({"physical": False})
    assert schema.relationships["HAS_INTERFACE"].is_member({"physical": True, "oper_status": "up"})
    assert schema.relationships["HAS_INTERFACE"].stops_at == ("NetworkDevice",)
    assert schema.relationships["RUNS_ON"].propagates(outgoing=False)
    assert not schema.relationships["RUNS_ON"].propagates(outgoing=True)


def test_index_specs_follow_the_identity_rules() -> None:
    specs = {spec.name: spec for spec in derive_index_specs(load_schema())}
    assert specs["ci_uid_unique"].kind is IndexKind.UNIQUE
    assert specs["host_machine_id_unique"].properties == ("machine_id",)
    assert specs["host_fqdn_range"].kind is IndexKind.RANGE
    # Dependent CIs are unique only under their parent.
    assert specs["interface_parent_uid_name_unique"].properties == (PARENT_UID, "name")
    # A subclass that inherits its identity adds no constraint of its own.
    assert not any(spec.label in {"LinuxHost", "Switch", "Router"} for spec in specs.values())
    assert len(specs) == len(derive_index_specs(load_schema())), "spec names must be distinct"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c, r: c["Host"].update(parent="Nope"), "parent 'Nope' is not a declared class"),
        (lambda c, r: c["Host"]["identity"].append({"keys": ["colour"]}), "key 'colour' is not an attribute"),
        (
            lambda c, r: c["Host"]["attributes"].update(uid={"type": "string", "description": "x"}),
            "managed by",
        ),
        (lambda c, r: c["Host"]["attributes"].update(x={"type": "blob", "description": "x"}), "type 'blob'"),
        (
            lambda c, r: c["Host"]["attributes"].update(x={"type": "enum", "description": "x"}),
            "needs 'values'",
        ),
        (
            lambda c, r: c["LinuxHost"]["attributes"].update(hostname={"type": "integer", "description": "x"}),
            "redeclared as integer, inherited as string",
        ),
        (lambda c, r: c["CI"].update(parent="Host"), "root class has no parent"),
        (lambda c, r: c["Switch"].update(identity=[]), "needs an identity rule of its own keys"),
        (lambda c, r: r["RUNS_ON"].update(impact="sideways"), "impact: 'sideways'"),
        (lambda c, r: r["RUNS_ON"].update(to=["Mainframe"]), "'Mainframe' is not a declared class"),
        (lambda c, r: c["Interface"]["parent_ci"].update(relationship="RUNS_ON"), "does not allow"),
        (lambda c, r: c["Host"].pop("description"), "missing 'description'"),
        (lambda c, r: c["Application"].update(precedence=["agent", "psychic"]), "psychic"),
        (lambda c, r: c["Host"].update(layer=-1), "layer: -1 is not a whole number"),
        (lambda c, r: c["Host"].update(layer="top"), "layer: 'top' is not a whole number"),
    ],
)
def test_loader_refuses_an_inconsistent_schema(mutate: Any, message: str) -> None:
    classes, relationships = raw_tables()
    mutate(classes, relationships)
    with pytest.raises(SchemaError, match=message.replace("(", r"\(")):
        build_schema(classes, relationships)


def test_loader_refuses_an_inheritance_cycle() -> None:
    classes, relationships = raw_tables()
    classes["Host"]["parent"] = "LinuxHost"
    with pytest.raises(SchemaError, match="inheritance cycle"):
        build_schema(classes, relationships)


def test_the_value_limits_keep_every_index_entry_under_neo4js_key_size_limit() -> None:
    """Every indexed attribute is an identity key, held to the shorter limit; the worst entry
    (all its strings at the limit, in four-byte characters) fits what Neo4j was measured to take."""
    schema = load_schema()
    uid_bytes = 36
    for spec in derive_index_specs(schema):
        carriers = [c for c in schema.classes.values() if spec.label in c.labels]
        if spec.on_relationship or not carriers or spec.kind is IndexKind.FULLTEXT:
            continue  # full-text indexes have no key size limit (limits.toml)
        worst = 0
        for prop in spec.properties:
            attr = schema.all_attributes().get(prop)
            if prop in SYSTEM_PROPERTIES or attr is None:
                worst += uid_bytes if prop in ("uid", PARENT_UID) else 8  # a uid, a status, a time
            elif attr.type is AttributeType.ENUM:
                worst += max(len(v.encode()) for v in attr.values)
            elif attr.type is AttributeType.STRING:
                indexed = all(prop in c.identity_keys for c in carriers)
                worst += 4 * (LIMITS.indexed_max_length if indexed else LIMITS.max_length)
            else:
                worst += 8
        limit = LIMITS.text_index_key_bytes if spec.kind is IndexKind.TEXT else LIMITS.range_index_key_bytes
        assert worst <= limit, f"{spec.name}: an entry may take {worst} bytes, Neo4j takes {limit}"


def test_a_refused_record_is_one_problem_not_one_per_child() -> None:
    from schema.report import ReportError, parse_report

    report = {
        "version": 1,
        "report_id": "r1",
        "source": {"kind": "snmp", "name": "lab@127.0.0.9"},
        "collected_at": "2026-11-30T12:00:00+00:00",
        "records": [
            {
                "ref": "device",
                "class": "LinuxHost",
                "identity": {"fqdn": "a.example"},
                "attributes": {"memory_bytes": "lots"},
            },
            {"ref": "if:1", "class": "Interface", "parent": "device", "identity": {"name": "eth0"}},
            {"ref": "if:2", "class": "Interface", "parent": "nowhere", "identity": {"name": "eth1"}},
        ],
        "relations": [],
    }
    with pytest.raises(ReportError) as refused:
        parse_report(report, load_schema())
    assert [p.path for p in refused.value.problems] == [
        "records[0] (ref 'device').attributes.memory_bytes",
        "records[2] (ref 'if:2').parent",  # a parent no record names is still a problem
    ]
