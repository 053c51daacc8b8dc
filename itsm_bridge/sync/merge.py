"""Three-way merge of one linked incident, field by field, against its shadow.

The shadow is the canonical value of each field as last synced. For each field:
- no side differs from the shadow: nothing to do (a value equal to what we wrote is an echo);
- one side differs: its value is carried to the other sides;
- several sides differ, all to the same value: no conflict, carry it where it is missing;
- several sides differ to different values: a conflict, settled by the field's owner (else the
  source platform), and reported so the engine can journal it.

Each side is compared with its own side shadow where one is known: the values as that platform
showed them when last aligned. A platform that cannot hold a value exactly (a select with no
subcategory, a category mapped to a default) keeps showing its own lossy form; that is not a
change, and it is not rewritten every cycle.

Values are plain data (what `Incident.to_dict()` gives), so equality is exact and cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MISSING = object()  # a platform that does not carry a field


@dataclass(frozen=True)
class FieldConflict:
    field: str
    values: dict[str, Any]  # platform -> its changed value
    winner: str  # platform whose value was kept
    rule: str  # "owner" or "source"


@dataclass
class MergeResult:
    merged: dict[str, Any]  # the canonical values after the merge
    changes: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)  # platform -> field -> (old, new)
    conflicts: list[FieldConflict] = field(default_factory=list)
    origin: dict[str, str] = field(default_factory=dict)  # field -> platform whose change it carries

    @property
    def quiet(self) -> bool:
        return not any(self.changes.values())


def merge(
    shadow: Mapping[str, Any],
    sides: Mapping[str, Mapping[str, Any]],
    fields: list[str],
    owners: Mapping[str, str],
    source: str,
    side_shadows: Mapping[str, Mapping[str, Any]] | None = None,
) -> MergeResult:
    """Merge `sides` (platform -> canonical field values it carries) against `shadow`."""
    merged = dict(shadow)
    result = MergeResult(merged)
    known = side_shadows or {}
    for name in fields:
        base = shadow.get(name)
        carried = {p: values[name] for p, values in sides.items() if name in values}
        last_shown = {p: known[p][name] for p in carried if name in known.get(p, {})}
        # A platform that did not carry the field when last aligned (it carries it since an
        # upgrade) has not changed it: what it shows is carried over, never taken back. When no
        # platform carried it, the shadow's value is no one's: the source's stands.
        new_to = {p for p in carried if p in known and name not in known[p]}
        if new_to and new_to == set(carried) and source in carried:
            base = merged[name] = carried[source]
        changed = {p: v for p, v in carried.items() if p not in new_to and v != last_shown.get(p, base)}
        value = base
        if changed:
            distinct = {_freeze(v) for v in changed.values()}
            if len(distinct) == 1:
                winner = next(iter(changed))
            else:
                winner, rule = _settle(name, changed, owners, source)
                result.conflicts.append(FieldConflict(name, dict(changed), winner, rule))
            value = changed[winner]
            merged[name] = value
            result.origin[name] = winner
        for platform, current in carried.items():
            if current == value:
                continue
            # Leave a platform that still shows what it showed when last aligned with this same
            # value: its mapping is lossy there, and rewriting would only echo.
            if platform not in changed and value == base and platform in last_shown:
                continue
            result.changes.setdefault(platform, {})[name] = (current, value)
    return result


def _settle(name: str, changed: dict[str, Any], owners: Mapping[str, str], source: str) -> tuple[str, str]:
    owner = owners.get(name)
    if owner in changed:
        return owner, "owner"
    if source in changed:
        return source, "source"
    return sorted(changed)[0], "source"  # deterministic even when neither owner nor source edited


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value
