"""The floor of a sync cycle: the fewest API calls that could have done what the cycle did.

C_min = reads + required writes, both worked out from snapshots of the platforms (taken by the
benchmark before and after the cycle), independently of the bridge's own plan:

- reads: for each source the cycle reads (ServiceNow incidents; Jira issues, read for changes
  coming back), `max(1, ceil(changed / page_size))`, where `changed` counts the records changed
  on that platform since the previous cycle ended, by anyone but that cycle (a first cycle: all);
  on ServiceNow, plus `ceil(changed / page_size)` reads of the changed incidents' notes: the
  Table API answers "" for the journal fields (work_notes, comments), whose entries are rows of
  `sys_journal_field` keyed by the incident's sys_id, read by a second request once the incident's
  sys_id is known ("make a second ... request against the sys_journal_field table", ServiceNow,
  https://www.servicenow.com/docs/r/australia/api-reference/web-services/retrieving-journal-entries.html;
  ../shared/specs/README.md); `element_id` is a document id, not a reference, so no dot-walk
  from incident reaches it (c_RESTAPI.md, "Dot-walking");
- Jira: `ceil(new issues / 50)` (one `issue/bulk` call takes 50), plus per issue the length of the
  shortest workflow path from its old status (a new issue: the workflow's initial status) to its
  new one, less one for a new issue whose path can start with a transition that has no screen (a
  create applies it, `transition` in the body of `/issue` and `/issue/bulk`; a create cannot fill
  a transition screen, so a step that sets the resolution costs its own call), plus one call per
  comment added to any issue (no create screen takes `comment`, so a new issue's notes cost one
  call each, as an existing issue's do), plus one edit per existing issue whose fields changed
  (status aside);
- status page: one call per page incident created, one per page incident updated (a new incident
  update or a status change);
- ServiceNow: one call per incident the bridge changed (a field or a note: one PATCH carries both);
- people: one Jira user lookup per assignee (an e-mail address) the cycle meets for the first
  time, on the ServiceNow incidents it reads; a person met in an earlier cycle is known (the
  lookup is kept in the state store), and the assignee rides the create or edit that carries it.

Pure functions over plain data, so the rules are unit-tested on hand-built snapshots.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

BULK_CREATE = 50  # issues per Jira `POST /rest/api/3/issue/bulk`
PLATFORMS = ("servicenow", "jira", "statuspage")


@dataclass(frozen=True)
class SnowIncident:
    """What the floor needs of one ServiceNow incident."""

    version: int  # sys_mod_count
    updated_by: str  # sys_updated_by
    updated: str = ""  # sys_updated_on
    assignee: str = ""  # the assigned_to user's e-mail address


@dataclass(frozen=True)
class JiraIssue:
    """What the floor needs of one Jira issue: `fields` is a digest of every field but status,
    resolution and timestamps, so an edit shows as a different digest."""

    status: str
    fields: str
    comments: int
    updated: str = ""


@dataclass(frozen=True)
class PageIncident:
    status: str
    updates: int  # incident updates on the page
    updated: str = ""


@dataclass(frozen=True)
class Snapshot:
    """The three platforms at one moment, keyed by sys_id, issue key and page incident id."""

    servicenow: Mapping[str, SnowIncident] = field(default_factory=dict)
    jira: Mapping[str, JiraIssue] = field(default_factory=dict)
    statuspage: Mapping[str, PageIncident] = field(default_factory=dict)


@dataclass
class Floor:
    """Per platform: read pages and required writes; `detail` names what the writes are."""

    reads: dict[str, int] = field(default_factory=dict)
    writes: dict[str, int] = field(default_factory=dict)
    detail: dict[str, int] = field(default_factory=dict)

    def of(self, platform: str) -> int:
        return self.reads.get(platform, 0) + self.writes.get(platform, 0)

    @property
    def total(self) -> int:
        return sum(self.of(p) for p in PLATFORMS)

    def to_dict(self) -> dict[str, object]:
        return {
            "total": self.total,
            "per_platform": {p: self.of(p) for p in PLATFORMS},
            "reads": dict(self.reads),
            "writes": dict(self.writes),
            "detail": dict(self.detail),
        }


# --- workflow paths


def workflow_graph(transitions: Iterable[tuple[Iterable[str], str]], statuses: Iterable[str]) -> dict[str, set[str]]:
    """status -> statuses one transition away, from (sources, target) pairs; empty sources make a
    global transition, available from every status (Jira's "any status" transitions)."""
    names = list(statuses)
    graph: dict[str, set[str]] = {s: set() for s in names}
    for sources, target in transitions:
        for source in list(sources) or names:
            graph.setdefault(source, set()).add(target)
    return graph


def sandbox_workflow() -> tuple[dict[str, set[str]], str]:
    """(graph, initial status) of the sandbox's Jira workflow (`sandbox.jira.schema.itsm_workflow`)."""
    from itsm_bridge.sandbox.jira.schema import itsm_workflow

    wf = itsm_workflow()
    return workflow_graph([(t.sources, t.to) for t in wf.transitions], [s.name for s in wf.statuses]), wf.initial


def sandbox_rideable() -> frozenset[str]:
    """Statuses a create can move a new issue to in the sandbox's workflow: targets of the
    initial status's transitions that have no screen."""
    from itsm_bridge.sandbox.jira.schema import itsm_workflow

    wf = itsm_workflow()
    return frozenset(t.to for t in wf.available(wf.initial) if not t.screen)


def path_length(graph: Mapping[str, set[str]], start: str, goal: str) -> int | None:
    """Transitions on the shortest path from `start` to `goal` (0 when equal; None: unreachable)."""
    if start == goal:
        return 0
    seen, queue = {start}, deque([(start, 0)])
    while queue:
        status, depth = queue.popleft()
        for nxt in graph.get(status, ()):
            if nxt == goal:
                return depth + 1
            if nxt not in seen:
                seen.add(nxt)
                queue.append((nxt, depth + 1))
    return None


# --- reads


def read_pages(changed: int, page_size: int) -> int:
    """Pages to read `changed` records: at least one (a read that finds nothing still asks)."""
    return max(1, math.ceil(changed / page_size))


def changed_records(before: Mapping[str, object], after: Mapping[str, object]) -> int:
    """Records new in `after`, or different from what they were in `before`."""
    return sum(1 for key, rec in after.items() if before.get(key) != rec)


# --- writes


def jira_writes(
    before: Mapping[str, JiraIssue],
    after: Mapping[str, JiraIssue],
    graph: Mapping[str, set[str]],
    initial: str,
    rideable: Collection[str] | None = None,
) -> dict[str, int]:
    """Required Jira calls: bulk creates, transitions, comments, edits. `rideable`: the statuses
    a create can move a new issue to (None: any first step)."""
    out = {"jira_creates": 0, "jira_transitions": 0, "jira_comments": 0, "jira_edits": 0, "jira_unreachable": 0}
    new = 0
    for key, now in after.items():
        old = before.get(key)
        steps = path_length(graph, old.status if old else initial, now.status)
        if steps is None:
            out["jira_unreachable"] += 1  # the bridge cannot have done it by transitions either
            steps = 0
        out["jira_comments"] += max(0, now.comments - (old.comments if old else 0))
        if old is None:
            new += 1
            out["jira_transitions"] += steps - int(_rides(graph, initial, now.status, steps, rideable))
            continue
        out["jira_transitions"] += steps
        out["jira_edits"] += int(now.fields != old.fields)
    out["jira_creates"] = math.ceil(new / BULK_CREATE)
    return out


def _rides(
    graph: Mapping[str, set[str]], initial: str, goal: str, steps: int, rideable: Collection[str] | None
) -> bool:
    """Whether a shortest path from `initial` to `goal` can start with a step a create applies."""
    if steps == 0:
        return False
    if rideable is None:
        return True
    return any(path_length(graph, first, goal) == steps - 1 for first in rideable)


def page_writes(before: Mapping[str, PageIncident], after: Mapping[str, PageIncident]) -> dict[str, int]:
    """Required status page calls: one per incident created, one per incident updated."""
    created = sum(1 for key in after if key not in before)
    updated = sum(
        1
        for key, now in after.items()
        if key in before and (now.updates > before[key].updates or now.status != before[key].status)
    )
    return {"page_creates": created, "page_updates": updated}


def people_lookups(before: Mapping[str, SnowIncident], start: Mapping[str, SnowIncident]) -> int:
    """Assignees of the incidents changed since `before` (the previous cycle's end) that no
    incident there had: each costs one lookup, once."""
    known = {i.assignee for i in before.values()}
    return len({now.assignee for key, now in start.items() if now.assignee and before.get(key) != now} - known)


def snow_writes(
    before: Mapping[str, SnowIncident], after: Mapping[str, SnowIncident], bridge_user: str
) -> dict[str, int]:
    """Required ServiceNow calls: one per incident the bridge changed (last written by it, at a
    new version)."""
    changed = sum(
        1
        for key, now in after.items()
        if now.updated_by == bridge_user and (key not in before or now.version != before[key].version)
    )
    return {"snow_updates": changed}


# --- the cycle


def cycle_floor(
    previous_end: Snapshot | None,
    start: Snapshot,
    end: Snapshot,
    page_sizes: Mapping[str, int],
    bridge_user: str,
    graph: Mapping[str, set[str]],
    initial: str,
    rideable: Collection[str] | None = None,
) -> Floor:
    """The floor of the cycle that took the platforms from `start` to `end`; `previous_end` is how
    the cycle before left them (None for a first cycle: every record is new to the bridge);
    `page_sizes` names the sources read and their page sizes."""
    before = previous_end or Snapshot()
    floor = Floor()
    for source, size in page_sizes.items():
        changed = changed_records(getattr(before, source), getattr(start, source))
        floor.reads[source] = read_pages(changed, size)
        floor.detail[f"{source}_changed"] = changed
        if source == "servicenow":  # the changed incidents' notes: a query of their own (module docstring)
            floor.detail["servicenow_notes_reads"] = notes = math.ceil(changed / size)
            floor.reads[source] += notes
    lookups = people_lookups(before.servicenow, start.servicenow)
    if "jira" in page_sizes or lookups:
        floor.reads["jira"] = floor.reads.get("jira", 0) + lookups
    floor.detail["jira_user_lookups"] = lookups
    jira = jira_writes(start.jira, end.jira, graph, initial, rideable)
    page = page_writes(start.statuspage, end.statuspage)
    snow = snow_writes(start.servicenow, end.servicenow, bridge_user)
    floor.writes = {
        "jira": jira["jira_creates"] + jira["jira_transitions"] + jira["jira_comments"] + jira["jira_edits"],
        "statuspage": page["page_creates"] + page["page_updates"],
        "servicenow": snow["snow_updates"],
    }
    floor.detail.update({**jira, **page, **snow})
    return floor


def amplification(calls: int, floor: int) -> float | None:
    """calls / floor, or None when the floor is zero."""
    return round(calls / floor, 3) if floor else None
