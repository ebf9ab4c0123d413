"""Closed sets of the CMDB, declared once.

Every value that is stored in the graph or accepted by the API from a fixed list lives
here, so that the server, the agent, the collectors and the schema files agree.
"""

from enum import StrEnum


class CIStatus(StrEnum):
    """Lifecycle of a configuration item (ISO/IEC 20000-1 8.2.6 asks for a status)."""

    ACTIVE = "active"
    STALE = "stale"  # no source has seen it within the configured window
    RETIRED = "retired"  # taken out of service on purpose


class Role(StrEnum):
    """What an API token may do."""

    ADMIN = "admin"
    ENGINEER = "engineer"
    CHANGE_MANAGER = "change_manager"
    VIEWER = "viewer"
    AGENT = "agent"
    COLLECTOR = "collector"


class Capability(StrEnum):
    """What a person may do; which roles have each is ``cmdb_server.auth.CAPABILITIES``, the one
    table the API's checks and the web UI's buttons both read."""

    READ = "read"
    CURATE = "curate"  # declare, edit, lock, tag, retire and merge CIs and relationships
    REQUEST_CHANGE = "request_change"  # create, edit, assess and move changes along
    MANAGE_CHANGE = "manage_change"  # approve or reject changes, freeze windows
    RESPOND_INCIDENT = "respond_incident"  # open, update and resolve incidents and problems
    MANAGE_RELEASE = "manage_release"
    ADMINISTER = "administer"  # webhooks, backups, sources


class SourceKind(StrEnum):
    """Kinds of source that put data into the CMDB; used for source precedence."""

    MANUAL = "manual"
    AGENT = "agent"
    INVENTORY = "inventory"  # an inventory agent's XML (FusionInventory, OCS): cmdb_server/inventory/
    SSH = "ssh"
    SNMP = "snmp"
    IMPORT = "import"


class AttributeType(StrEnum):
    """Types an attribute of a CI class may have; each maps to a Neo4j property type."""

    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    STRING_LIST = "string_list"
    ENUM = "enum"


class ImpactPropagation(StrEnum):
    """How trouble travels along a relationship ``(source)-[:TYPE]->(target)``.

    ``target_to_source``: trouble on the target affects the source (``app RUNS_ON host``:
    the host failing takes the app down). ``source_to_target`` is the reverse, ``both``
    goes either way, ``none`` stops impact analysis at this relationship.
    """

    TARGET_TO_SOURCE = "target_to_source"
    SOURCE_TO_TARGET = "source_to_target"
    BOTH = "both"
    NONE = "none"


class RelationshipEnd(StrEnum):
    """An end of a relationship ``(source)-[:TYPE]->(target)``: where a type's redundancy
    group is (``redundant_at`` in schema/relationships.toml)."""

    SOURCE = "source"
    TARGET = "target"


class ImpactState(StrEnum):
    """How badly a CI is affected; impact analysis only ever raises a state."""

    DEGRADED = "degraded"
    DOWN = "down"


class AdminStatus(StrEnum):
    """An interface's desired state, as configured (IF-MIB ifAdminStatus; Linux IFF_UP)."""

    UP = "up"
    DOWN = "down"  # shut down on purpose: not a fault
    TESTING = "testing"


class OperStatus(StrEnum):
    """An interface's actual state, in RFC 2863's words (IF-MIB ifOperStatus), which Linux's
    /sys/class/net/<name>/operstate also uses."""

    UP = "up"
    DOWN = "down"
    TESTING = "testing"
    UNKNOWN = "unknown"
    DORMANT = "dormant"  # waiting for an external event (a dial-up line, 802.1X)
    NOT_PRESENT = "notPresent"  # a component (a module, a transceiver) is missing
    LOWER_LAYER_DOWN = "lowerLayerDown"  # down because what it runs over is (a LAG's ports, a VLAN's trunk)
