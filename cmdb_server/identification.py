"""Which CI a record of a host or a network device is, from every identifier it carries (pure).

Hosts and network devices are seen by several kinds of source, each with other
identifiers: the agent and SSH know the machine-id, the DMI UUID and serial and the MACs;
SNMP knows the sysName, the address it asked and the MACs of the interfaces. Every rule
of the class (``schema/ci_classes.toml``) is looked up at once, and this module decides:

- the CI is the first candidate, in rule order (then oldest first), that does not
  **conflict** on a strong identifier: a CI with another machine-id is another machine,
  whatever MAC or host name it shares (a cloned VM);
- candidates that conflict are **suspected clones** of the record's CI;
- when the decisive rule is strong (or a shared physical MAC), every other candidate that
  conflicts neither with the record nor with the chosen CI is the same thing seen
  before under other identifiers: it is **merged** into the chosen CI. Retired CIs and
  CIs an engineer split from the chosen one are never merged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schema import CIClass
from schema.identifiers import identifier_rules

DISTINCT_PROPERTY = "_distinct_from"
"""uids of CIs an engineer split from this one: never merged with it again."""

CLONES_PROPERTY = "_suspected_clones"
"""uids of CIs sharing this one's weaker identifiers but not its strong ones."""


@dataclass(frozen=True)
class Candidate:
    """A stored CI that one identity rule found for a record, and the values it matched on."""

    uid: str
    props: Mapping[str, Any]
    labels: tuple[str, ...]
    rule: int  # index into the class's identity rules
    values: Mapping[str, Any]


@dataclass
class Decision:
    target: Candidate | None
    merge: list[Candidate] = field(default_factory=list)
    conflicts: list[tuple[Candidate, tuple[str, ...]]] = field(default_factory=list)  # with the keys in conflict


def record_values(ci_class: CIClass, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """The record's values of the keys its class identifies by, when they can identify anything."""
    rules = identifier_rules()
    keys = {k for rule in ci_class.identity for k in rule.keys}
    return {k: attributes[k] for k in sorted(keys) if rules.usable(k, attributes.get(k))}


def rule_values(ci_class: CIClass, values: Mapping[str, Any]) -> list[list[Any] | None]:
    """For each identity rule, its own key values in order, or None when the record lacks one."""
    return [
        [values[k] for k in rule.keys] if rule.keys and all(k in values for k in rule.keys) else None
        for rule in ci_class.identity
    ]


def interface_values(interfaces: Sequence[Mapping[str, Any]], key: str) -> list[str]:
    """Values of ``key`` on the record's interfaces that can identify it: not of an interface
    its source knows to be virtual, and usable (a unicast MAC of one device)."""
    rules = identifier_rules()
    found = {
        str(nic[key]).lower()
        for nic in interfaces
        if nic.get("physical") is not False and rules.usable(key, nic.get(key))
    }
    return sorted(found)


def conflicting_keys(ci_class: CIClass, mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys of the first strong rule both sides hold in full with different values."""
    rules = identifier_rules()
    for rule in ci_class.strong_rules:
        if not all(rules.usable(k, mine.get(k)) and rules.usable(k, theirs.get(k)) for k in rule.keys):
            continue
        if any(_same(mine[k]) != _same(theirs[k]) for k in rule.keys):
            return rule.keys
    return ()


def _same(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def decide(ci_class: CIClass, values: Mapping[str, Any], candidates: list[Candidate]) -> Decision:
    """Choose the record's CI among the candidates every rule found (see the module's doc)."""
    best: dict[str, Candidate] = {}
    for candidate in candidates:
        seen = best.get(candidate.uid)
        if seen is None or candidate.rule < seen.rule:
            best[candidate.uid] = candidate
    ordered = sorted(best.values(), key=lambda c: (c.rule, str(c.props.get("first_seen") or ""), c.uid))
    decision = Decision(target=None)
    conflicted: set[str] = set()
    for candidate in ordered:
        keys = conflicting_keys(ci_class, values, candidate.props)
        if keys:
            decision.conflicts.append((candidate, keys))
            conflicted.add(candidate.uid)
        elif decision.target is None:
            decision.target = candidate
    target = decision.target
    if target is None:
        return decision
    decisive = ci_class.identity[target.rule]
    if not (decisive.strong or decisive.interface_keys):
        return decision
    kept_apart = set(target.props.get(DISTINCT_PROPERTY) or ())
    for candidate in ordered:
        if candidate.uid == target.uid or candidate.uid in conflicted or candidate.uid in kept_apart:
            continue
        if candidate.props.get("status") == "retired":
            continue
        if conflicting_keys(ci_class, dict(target.props), candidate.props):
            continue
        if target.uid in set(candidate.props.get(DISTINCT_PROPERTY) or ()):
            continue
        decision.merge.append(candidate)
    return decision


def explain(ci_class: CIClass, candidate: Candidate) -> dict[str, Any]:
    """A match as the server explains it: the rule and the values it matched on."""
    return {"uid": candidate.uid, "rule": ci_class.identity[candidate.rule].label, "values": dict(candidate.values)}
