"""From what each side says about one incident, to the actions that align them. No HTTP here.

Per canonical key the engine hands over: the shadow (as last synced, if linked), the canonical
incident each platform read this cycle says, and which platforms are linked. Out come the merged
incident and the actions for each target, or the Findings that block it.

- Priority is never merged: it is derived from the merged impact x urgency (the ITIL matrix),
  and a platform showing another priority is corrected.
- Only the fields a platform carries (its `PlatformSpec`) are compared for it.
- A platform not read this cycle is taken to be as the shadow says (it did not change).
- On a first link (a record found on a target by its key, no shadow yet) the source is the system
  of record: its values stand for every field, unless `[sync.owners]` names an owner for that
  field in the configuration itself (`explicit_owners`); the fields it kept are `first_link_kept`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from typing import Any

from itsm_bridge.findings import Finding
from itsm_bridge.mapping.priority import PriorityMatrix
from itsm_bridge.mapping.rules import RequiredRule, check_steps
from itsm_bridge.model import Comment, Incident, State
from itsm_bridge.platforms import get as platform_spec
from itsm_bridge.store.base import Shadow
from itsm_bridge.sync.merge import FieldConflict, merge
from itsm_bridge.sync.plan import Action

MERGED_FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "state",
    "impact",
    "urgency",
    "category",
    "subcategory",
    "service",
    "assignment_group",
    "assignee",
    "resolution_code",
    "resolution_notes",
)
"""Canonical fields merged between two-way platforms. The others are facts only the source knows
(times, the reporter, major, public text) or derived (priority, from impact x urgency)."""

FIRST_LINK = "first_link"
"""The rule that kept the source's value of a field on a first link."""


def fingerprint(comment: Comment) -> str:
    """What a note is known by from cycle to cycle (in a shadow's `comments_seen`): its id on the
    platform it was written on, with its visibility and words, so the same words written twice
    are two notes and an edited note is carried again; its visibility and words alone when it
    has no id."""
    words = _words(comment)
    return _digest(f"{comment.origin}|{comment.id}|{words}" if comment.id else words)


def seen_before(comment: Comment, seen: Collection[str]) -> bool:
    """Whether `comment` was carried in an earlier cycle. Stores written before notes were known
    by id hold their words' fingerprint: that still counts, so an upgrade copies nothing again."""
    return fingerprint(comment) in seen or (bool(comment.id) and _digest(_words(comment)) in seen)


def _words(comment: Comment) -> str:
    return f"{comment.visibility.value}|{' '.join(comment.body.split())}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class Outcome:
    key: str
    merged: Incident | None = None
    actions: list[Action] = field(default_factory=list)
    blocked: dict[str, list[Finding]] = field(default_factory=dict)  # platform -> blocking findings
    warnings: list[Finding] = field(default_factory=list)
    conflicts: list[FieldConflict] = field(default_factory=list)
    shadow_fields: dict[str, Any] = field(default_factory=dict)  # the merged values the shadow keeps
    side_shadows: dict[str, dict[str, Any]] = field(default_factory=dict)  # as found in the shadow
    comments_seen: frozenset[str] = frozenset()  # the shadow's, with the comments carried this cycle
    origin: dict[str, str] = field(default_factory=dict)  # field -> platform whose change it carries
    first_link_kept: tuple[str, ...] = ()  # fields whose source value stood because the link is new


@dataclass(frozen=True)
class Side:
    """What one platform says this cycle."""

    platform: str
    incident: Incident
    version: str
    ref: dict[str, str]
    updated: datetime | None = None  # the record's own change time: what its cursor moves by
    copied: frozenset[str] = frozenset()  # notes of other platforms already copied onto it (by note id)


def reconcile(
    key: str,
    shadow: Shadow | None,
    sides: Mapping[str, Side],
    linked: Mapping[str, dict[str, str]],
    *,
    source: str,
    targets: Sequence[str],
    owners: Mapping[str, str],
    matrix: PriorityMatrix,
    rules: tuple[RequiredRule, ...],
    versions: Mapping[str, str] | None = None,
    explicit_owners: Mapping[str, str] | None = None,
) -> Outcome:
    """`owners`: who wins a conflict on a linked key; `explicit_owners`: those the configuration
    names itself, the only ones that win over the source on a first link (None: all of `owners`)."""
    out = Outcome(key)
    base = dict(shadow.merged) if shadow else {}
    seen_comments = set(shadow.comments_seen) if shadow else set()
    side_shadows = shadow.sides if shadow else {}
    first_contact = not base
    if first_contact:
        if source not in sides:
            return out  # a target-only record we never linked: nothing of ours
        base = _fields(sides[source].incident)
    compare: dict[str, dict[str, Any]] = {}
    for platform in (source, *targets):
        fields = compared(platform)
        if not fields:
            continue
        if platform in sides:
            compare[platform] = carried(platform, sides[platform].incident)
        elif platform in linked and shadow is not None:
            compare[platform] = {f: base.get(f) for f in fields}
    # On first contact with a pair that already exists on both sides there is no common
    # ancestor: every difference is a conflict. The source is the system of record there: only
    # an owner the configuration names itself wins over it (a default owner is not a decision).
    first_link = first_contact and len(compare) > 1
    ancestor = {} if first_link else base
    settle_by = (owners if explicit_owners is None else explicit_owners) if first_link else owners
    result = merge(ancestor, compare, list(MERGED_FIELDS), settle_by, source, side_shadows)
    result.merged = {**base, **result.merged}
    out.conflicts = [
        replace(c, rule=FIRST_LINK) if first_link and c.rule == "source" and c.winner == source else c
        for c in result.conflicts
    ]
    out.first_link_kept = tuple(c.field for c in out.conflicts if c.rule == FIRST_LINK)
    merged_fields = result.merged
    if source in sides:  # facts only the source knows (times, people, major, public text)
        for name, value in _fields(sides[source].incident).items():
            if name not in MERGED_FIELDS:
                merged_fields[name] = value
    merged_fields["priority"] = matrix.priority(int(merged_fields["impact"]), int(merged_fields["urgency"])).value
    _note_remote_resolution(merged_fields, result.origin.get("state"), sides)
    merged = Incident.from_dict({**merged_fields, "key": key})
    out.merged = merged
    out.side_shadows = {p: dict(v) for p, v in side_shadows.items()}
    out.origin = dict(result.origin)
    out.shadow_fields = merged.to_dict()
    for drop in ("key", "comments", "links"):
        out.shadow_fields.pop(drop, None)

    new_comments = _new_comments(sides, seen_comments)
    for platform in targets:
        if not compared(platform):
            continue  # publish-only targets are planned by the engine
        changes = dict(result.changes.get(platform, {}))
        shown = _priority_shown(platform, sides, base)
        if (
            shows_priority(platform)
            and shown is not None
            and merged.priority is not None
            and shown != merged.priority.value
        ):
            changes["priority"] = (shown, merged.priority.value)
        _plan_platform(out, platform, merged, sides, linked, changes, rules, versions or {})
    for platform in (source, *targets):
        if not compared(platform) or platform in out.blocked:
            continue
        # None: the record is created in this cycle; apply takes its ref from the new link.
        ref = linked.get(platform) or (sides[platform].ref if platform in sides else None)
        for comment, origin in new_comments:
            if origin == platform or (comment.id and platform in sides and comment.id in sides[platform].copied):
                continue  # its own, or its copy is there already (written before the store was reset)
            out.actions.append(
                Action(
                    "comment",
                    platform,
                    key,
                    rule=f"new {comment.visibility.value} note on {origin}",
                    ref=ref,
                    comment=_comment_data(comment, origin),
                )
            )
    if source in result.changes and source not in out.blocked:
        _plan_updates(out, source, merged, sides, linked, result.changes[source], rules, versions or {})
    out.comments_seen = frozenset(seen_comments | {fingerprint(c) for c, _ in new_comments})
    return out


def _priority_shown(platform: str, sides: Mapping[str, Side], base: Mapping[str, Any]) -> str | None:
    """The priority `platform` shows: as read this cycle, else as last synced (the shadow)."""
    if platform in sides:
        priority = sides[platform].incident.priority
        return priority.value if priority is not None else None
    value = base.get("priority")
    return str(value) if value is not None else None


def _note_remote_resolution(fields: dict[str, Any], origin: str | None, sides: Mapping[str, Side]) -> None:
    """A resolve made on another platform carries no resolution notes of its own; say where it
    was resolved, so a platform that requires close notes gets ones that are true, not invented."""
    if origin is None or origin not in sides or fields.get("state") not in ("resolved", "closed"):
        return
    if fields.get("resolution_notes"):
        return
    ref = sides[origin].ref
    code = fields.get("resolution_code")
    fields["resolution_notes"] = f"Resolved in {origin} {ref.get('display') or ref.get('id')}" + (
        f" ({code})." if code else "."
    )


def _plan_platform(
    out: Outcome,
    platform: str,
    merged: Incident,
    sides: Mapping[str, Side],
    linked: Mapping[str, dict[str, str]],
    changes: dict[str, tuple[Any, Any]],
    rules: tuple[RequiredRule, ...],
    versions: Mapping[str, str],
) -> None:
    if platform not in linked and platform not in sides:
        findings = check_steps(merged, platform, True, rules)
        blocking = [f for f in findings if f.blocking]
        if blocking:
            out.blocked[platform] = blocking
            return
        out.warnings += [f for f in findings if not f.blocking]
        out.actions.append(Action("create", platform, out.key, rule=f"new incident, not yet on {platform}"))
        if merged.state is not State.NEW:
            out.actions.append(
                Action(
                    "transition",
                    platform,
                    out.key,
                    {"state": [State.NEW.value, merged.state.value]},
                    rule=f"created as new; source state is {merged.state.value}",
                )
            )
        return
    _plan_updates(out, platform, merged, sides, linked, changes, rules, versions)


def _plan_updates(
    out: Outcome,
    platform: str,
    merged: Incident,
    sides: Mapping[str, Side],
    linked: Mapping[str, dict[str, str]],
    changes: dict[str, tuple[Any, Any]],
    rules: tuple[RequiredRule, ...],
    versions: Mapping[str, str],
) -> None:
    ref = linked.get(platform) or sides[platform].ref
    # Not read this cycle: it should still be at the version we last saw or wrote (apply checks).
    version = sides[platform].version if platform in sides else versions.get(platform)
    if not changes:
        return
    state_change = changes.pop("state", None)
    if state_change is not None:
        blocking = [
            f
            for f in check_steps(merged, platform, False, rules)
            if f.blocking and merged.state in (State.RESOLVED, State.CLOSED)
        ]
        if blocking:
            out.blocked[platform] = blocking
            return
    why = ", ".join(sorted({f"changed on {o}" for o in _origins(out, changes)})) or "aligned"
    if changes:
        out.actions.append(
            Action(
                "update",
                platform,
                out.key,
                {k: list(v) for k, v in changes.items()},
                rule=why,
                ref=ref,
                expected_version=version,
            )
        )
    if state_change is not None:
        out.actions.append(
            Action(
                "transition",
                platform,
                out.key,
                {"state": list(state_change)},
                rule=f"state {state_change[0]} -> {state_change[1]}",
                ref=ref,
                expected_version=version,
            )
        )


def _origins(out: Outcome, changes: Mapping[str, Any]) -> list[str]:
    return [out.origin.get(name, "the matrix" if name == "priority" else "an earlier cycle") for name in changes]


def _new_comments(sides: Mapping[str, Side], seen: set[str]) -> list[tuple[Comment, str]]:
    out: list[tuple[Comment, str]] = []
    taken = set(seen)
    for platform, side in sides.items():
        for c in side.incident.comments:
            if not seen_before(c, taken):
                taken.add(fingerprint(c))
                out.append((c, platform))
    return out


def _comment_data(comment: Comment, origin: str) -> dict[str, Any]:
    return {
        "author": comment.author,
        "body": comment.body,
        "created": comment.created.isoformat(),
        "visibility": comment.visibility.value,
        "origin": comment.origin or origin,
        "id": comment.id,
    }


def compared(platform: str) -> tuple[str, ...]:
    """The merged fields `platform` carries and is compared on; none for a publish-only platform
    (or one not registered)."""
    spec = platform_spec(platform)
    if spec is None or not spec.two_way:
        return ()
    return _merged_of(spec.carries)


@cache
def _merged_of(carries: frozenset[str]) -> tuple[str, ...]:
    return tuple(f for f in MERGED_FIELDS if f in carries)


def shows_priority(platform: str) -> bool:
    """Whether `platform` shows a priority of its own, which must follow the matrix."""
    spec = platform_spec(platform)
    return spec is not None and spec.shows_priority


def carried(platform: str, incident: Incident) -> dict[str, Any]:
    """The canonical values `platform` carries, as `incident` (read from it) shows them."""
    values = _fields(incident)
    return {f: values.get(f) for f in compared(platform)}


def _fields(incident: Incident) -> dict[str, Any]:
    data = incident.to_dict()
    for drop in ("key", "comments", "links"):
        data.pop(drop, None)
    return data
