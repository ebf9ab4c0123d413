"""Who vouches for a relationship: one edge per real relation, with each source's view (pure).

A relation that the agent, an SSH scan and an import all report is one edge. It carries:

- ``sources``: the sources that report it now (``agent:web1``, ``ssh:dc1@10.0.0.5``);
- ``ended_sources``: those that reported it once and no longer do;
- ``seen_by``: JSON of each source's view, ``{source: {first_seen, last_seen, ended_at}}``;
- ``first_seen``, ``last_seen`` and ``ended_at`` of the relation itself: it ends when the
  last source that vouched for it stops, and starts again when one reports it again.

A source's last sighting of an edge it still vouches for is its last complete report
(every complete report restates all its relations), so an unchanged report does not
rewrite a host's thousand edges: ``present`` takes it from the source's state.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from cmdb_server.reconcile import native

SOURCES = "sources"
ENDED_SOURCES = "ended_sources"
SEEN_BY = "seen_by"
LEGACY_SOURCE = "source"  # before one edge per relation, each source had its own edge


def sources_of(props: Mapping[str, Any]) -> list[str]:
    """The sources that vouch for the edge now (an edge of the one-source era: its source, unless ended)."""
    if SOURCES in props and props[SOURCES] is not None:
        return list(props[SOURCES])
    legacy = props.get(LEGACY_SOURCE)
    return [legacy] if legacy and props.get("ended_at") is None else []


def _views(props: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    stored = props.get(SEEN_BY)
    if stored:
        views: dict[str, dict[str, Any]] = json.loads(stored)
        return views
    legacy = props.get(LEGACY_SOURCE)
    if not legacy:
        return {}
    return {
        legacy: {
            "first_seen": _iso(props.get("first_seen")),
            "last_seen": _iso(props.get("last_seen")),
            "ended_at": _iso(props.get("ended_at")),
        }
    }


def _iso(value: Any) -> str | None:
    value = native(value)
    return value.isoformat() if isinstance(value, datetime) else value


def new_edge(source: str, now: datetime, props: Mapping[str, Any]) -> dict[str, Any]:
    """The properties of an edge one source starts (``first_seen`` is set by the writer)."""
    return {
        **props,
        SOURCES: [source],
        SEEN_BY: json.dumps({source: {"first_seen": now.isoformat(), "last_seen": now.isoformat()}}),
        "last_seen": now,
    }


def vouch(props: Mapping[str, Any], source: str, now: datetime, stamp: bool) -> tuple[dict[str, Any], str]:
    """A source reports the edge: what to write, and what it is to the relation:
    ``started`` (it had ended: it starts again), ``joined`` (another source now vouches for it
    too) or ``unchanged``. ``stamp``: write this sighting's time (a partial report, whose
    sightings the source's state does not date)."""
    current = sources_of(props)
    if source in current and props.get("ended_at") is None and not stamp and SEEN_BY in props:
        return {}, "unchanged"  # the common case, a thousand times a report: nothing to decode
    views = _views(props)
    view = views.get(source, {})
    changes: dict[str, Any] = {}
    if props.get("ended_at") is not None:
        outcome = "started"
        current = [source]
        changes |= {"ended_at": None, ENDED_SOURCES: sorted(set(props.get(ENDED_SOURCES) or ()) - {source})}
        view = {"first_seen": now.isoformat()}
    elif source not in current:
        outcome = "joined"
        current = sorted({*current, source})
        changes[ENDED_SOURCES] = sorted(set(props.get(ENDED_SOURCES) or ()) - {source})
        view = {"first_seen": now.isoformat()}
    else:
        outcome = "unchanged"
    if outcome != "unchanged" or stamp or SEEN_BY not in props or LEGACY_SOURCE in props:
        view = {**view, "last_seen": now.isoformat(), "ended_at": None}
        views[source] = {k: v for k, v in view.items() if v is not None}
        changes |= {SOURCES: current, SEEN_BY: json.dumps(views, sort_keys=True), "last_seen": now}
        if LEGACY_SOURCE in props:
            changes[LEGACY_SOURCE] = None
    return changes, outcome


def withdraw(props: Mapping[str, Any], source: str, now: datetime) -> tuple[dict[str, Any], bool]:
    """A source no longer reports the edge: what to write, and whether the relation ends
    (no source vouches for it any more)."""
    current = [s for s in sources_of(props) if s != source]
    views = _views(props)
    views[source] = {**views.get(source, {}), "ended_at": now.isoformat()}
    changes: dict[str, Any] = {
        SOURCES: current,
        ENDED_SOURCES: sorted({*(props.get(ENDED_SOURCES) or ()), source}),
        SEEN_BY: json.dumps(views, sort_keys=True),
    }
    if LEGACY_SOURCE in props:
        changes[LEGACY_SOURCE] = None
    ends = not current and props.get("ended_at") is None
    if ends:
        changes["ended_at"] = now
    return changes, ends


def end_all(props: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Every source's view ends with the relation (an engineer ends it by hand)."""
    changes: dict[str, Any] = {"ended_at": now}
    for source in sources_of(props):
        step, _ = withdraw({**props, **changes}, source, now)
        changes |= step
    changes["ended_at"] = now
    return changes


def fold(keep: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    """Two edges that turn out to be one relation (their ends were merged): one edge's
    properties holding both provenances."""
    views = _views(keep)
    for source, view in _views(other).items():
        mine = views.get(source)
        if mine is None:
            views[source] = view
            continue
        firsts = [v for v in (mine.get("first_seen"), view.get("first_seen")) if v]
        lasts = [v for v in (mine.get("last_seen"), view.get("last_seen")) if v]
        views[source] = {
            "first_seen": min(firsts) if firsts else None,
            "last_seen": max(lasts) if lasts else None,
            "ended_at": None if source in (*sources_of(keep), *sources_of(other)) else mine.get("ended_at"),
        }
    active = sorted({*sources_of(keep), *sources_of(other)})
    ended = sorted({*(keep.get(ENDED_SOURCES) or ()), *(other.get(ENDED_SOURCES) or ())} - set(active))
    firsts = [native(v) for v in (keep.get("first_seen"), other.get("first_seen")) if v is not None]
    lasts = [native(v) for v in (keep.get("last_seen"), other.get("last_seen")) if v is not None]
    ends = [native(v) for v in (keep.get("ended_at"), other.get("ended_at")) if v is not None]
    merged = {k: v for k, v in {**other, **keep}.items() if k != LEGACY_SOURCE}
    merged |= {
        LEGACY_SOURCE: None,  # written with SET +=, a null removes the one-source era's property
        SOURCES: active,
        ENDED_SOURCES: ended,
        SEEN_BY: json.dumps({s: {k: v for k, v in view.items() if v} for s, view in views.items()}, sort_keys=True),
        "ended_at": None if active or not ends else max(ends),
    }
    if firsts:  # written with SET +=: a time not read back is left as it is
        merged["first_seen"] = min(firsts)
    if lasts:
        merged["last_seen"] = max(lasts)
    return merged


def present(props: Mapping[str, Any], reported_at: Mapping[str, datetime]) -> dict[str, Any]:
    """An edge's provenance as the API shows it: each source's first and last sighting and
    end, the relation's own first_seen, last_seen and ended_at. ``reported_at``: each
    source's last complete report, the last sighting of every edge it still vouches for."""
    active = set(sources_of(props))
    rows = []
    for source, view in sorted(_views(props).items()):
        last = _parse(view.get("last_seen"))
        if source in active and source in reported_at:
            last = max(filter(None, (last, reported_at[source])))
        rows.append(
            {
                "source": source,
                "first_seen": _parse(view.get("first_seen")),
                "last_seen": last,
                "ended_at": None if source in active else _parse(view.get("ended_at")),
            }
        )
    for source in sorted(active - {r["source"] for r in rows}):
        rows.append({"source": source, "first_seen": None, "last_seen": reported_at.get(source), "ended_at": None})
    lasts = [r["last_seen"] for r in rows if r["last_seen"] is not None]
    own_last = native(props.get("last_seen"))
    if own_last is not None:
        lasts.append(own_last)
    return {
        "sources": rows,
        "first_seen": native(props.get("first_seen")),
        "last_seen": max(lasts) if lasts else None,
        "ended_at": native(props.get("ended_at")),
    }


def _parse(text: Any) -> datetime | None:
    if text is None or isinstance(text, datetime):
        return text
    return datetime.fromisoformat(str(text))


def all_sources(edges: Iterable[Mapping[str, Any]]) -> set[str]:
    return {source for props in edges for source in sources_of(props)}
