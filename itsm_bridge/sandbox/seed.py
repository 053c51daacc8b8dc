"""`--seed N`: realistic incidents, with a known share of deliberate inconsistencies.

Seeded data is deterministic for a given random seed. Most incidents are clean and new to the
other platforms; a known few carry the inconsistencies audits must find, listed by canonical key
in `Sandbox.manifest`:

- `unmapped_category`: a ServiceNow category the generated taxonomy does not know;
- `unmapped_service`: a configuration item no taxonomy service names;
- `priority_off_matrix`: already on Jira, with a Jira priority the matrix does not give;
- `status_disagree`: already on Jira, resolved in ServiceNow but still open in Jira;
- `page_stale`: already on the status page, still investigating though resolved in ServiceNow.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from itsm_bridge.correlation import CORRELATION_DISPLAY, PROPERTY_KEY, label_for
from itsm_bridge.sandbox.vocabulary import (
    CATEGORIES,
    GROUPS,
    PEOPLE,
    RESOLUTION_CODES,
    SERVICES,
    UNMAPPED_CATEGORY,
    UNMAPPED_SERVICE,
)

if TYPE_CHECKING:
    from itsm_bridge.sandbox.app import Sandbox
    from itsm_bridge.sandbox.servicenow.api import ServiceNowPlatform

STATES = [("1", 25), ("2", 30), ("3", 10), ("6", 20), ("7", 10), ("8", 5)]
PRIORITY_NAMES = {1: "Highest", 2: "High", 3: "Medium", 4: "Low", 5: "Lowest"}
MATRIX = {(1, 1): 1, (1, 2): 2, (1, 3): 3, (2, 1): 2, (2, 2): 3, (2, 3): 4, (3, 1): 3, (3, 2): 4, (3, 3): 5}
MATRIX_VALUE = {(str(i), str(u)): str(p) for (i, u), p in MATRIX.items()}  # as the stored values
OPEN_JIRA = {"1": "Open", "2": "Work in progress", "3": "Pending"}

TITLES = [
    "{service} unavailable for users in Zürich",
    "Intermittent 502s on {service} — checkout fails",
    "{service}: logins slow since 09:00 (≈8 s)",
    "Users report {service} errors: « accès refusé »",
    "{service} degraded after change CHG004{n:03d}",
    "{service} の応答が遅い",
    "Alerts firing for {service} 🔥 latency p99",
]
NOTES = [
    "Restarted the pool on node 3; watching error rates.",
    "Vendor ticket opened, waiting for their callback.",
    "Rolled back the last deploy; latency back to normal.",
    "Customer confirms the issue is gone — Danke!",
]


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def seed_sandbox(sb: Sandbox, n: int, seed: int = 0) -> dict[str, list[str]]:
    """Load `n` incidents; returns (and stores on `sb.manifest`) the deliberate inconsistencies."""
    rng = random.Random(seed)
    snow = sb.servicenow
    refs = _references(sb)
    manifest: dict[str, list[str]] = {
        k: [] for k in ("unmapped_category", "unmapped_service", "priority_off_matrix", "status_disagree", "page_stale")
    }
    now = snow.clock.now()
    start = now - timedelta(days=30)
    special = _special_slots(n, rng)
    timing = random.Random(f"timing-{seed}")  # apart from `rng`: what a seed gives stays as it was
    for i in range(n):
        kind = special.get(i)
        opened = start + timedelta(minutes=rng.randrange(0, 30 * 24 * 60))
        fields = _incident_fields(rng, refs, i, opened, kind)
        rng.randrange(1, 600)  # drawn as before, so later draws are unchanged
        notes = [
            (rng.choice(["work_notes", "comments"]), rng.choice(NOTES), rng.choice(["ana.lima", "emeka.obi"]))
            for _ in range(rng.randrange(0, 3))
        ]
        record = _live(snow, fields, notes, [opened, *_steps(timing, fields, opened, now)], refs, timing)
        key = record["number"]
        if kind in ("unmapped_category", "unmapped_service"):
            manifest[kind].append(key)
        elif kind in ("priority_off_matrix", "status_disagree"):
            _linked_jira_issue(sb, record, key, kind, rng)
            manifest[kind].append(key)
        elif kind == "page_stale":
            _linked_page_incident(sb, record, key)
            manifest[kind].append(key)
    sb.jira.reindex()  # seeded history is old news: visible to search at once
    sb.manifest = manifest
    return manifest


# Minutes from one step to the next, by priority: (acknowledge, resolve after that). Plausible,
# with a tail past the example config's SLA ([audit.sla]: P1 4 h ... P5 10 d) so the audit has breaches.
PACE = {
    "1": ((5, 30), (60, 420)),
    "2": ((10, 90), (120, 1200)),
    "3": ((30, 480), (480, 4800)),
    "4": ((60, 1440), (1440, 8640)),
    "5": ((120, 2880), (2880, 14400)),
}


def _steps(timing: random.Random, fields: dict[str, str], opened: datetime, now: datetime) -> list[datetime]:
    """When the incident is acknowledged, resolved and closed (as far as its state goes), in order,
    each before `now`: a life squeezed into the time since it was opened when it would not fit."""
    ack, fix = PACE[MATRIX_VALUE[(fields["impact"], fields["urgency"])]]
    gaps: list[float] = [timing.randint(*ack), timing.randint(*fix), timing.randint(600, 4320)]
    room = (now - opened).total_seconds() / 60 - 1
    if sum(gaps) > room:
        gaps = [g * room / sum(gaps) for g in gaps]
    out, at = [], opened
    for gap in gaps:
        at += timedelta(minutes=gap)
        out.append(at)
    return out


def _live(
    snow: ServiceNowPlatform,
    fields: dict[str, str],
    notes: list[tuple[str, str, str]],
    steps: list[datetime],
    refs: dict[str, dict[str, str]],
    timing: random.Random,
) -> dict[str, str]:
    """The incident created New at its opening, then taken (In Progress, assigned to a person),
    worked on with notes, and put in its final state, each change at its own time: the history
    (sys_audit, sys_journal_field, resolved_at, closed_at) reads as a real incident's would."""
    final = fields["state"]
    closing: dict[str, str] = {k: fields.pop(k) for k in ("close_code", "close_notes") if k in fields}
    opened, ack, resolve, close = steps
    record = snow.insert_incident({**fields, "state": "1"}, updated_on=opened)
    if final == "1":
        _notes(snow, record, notes, ack, resolve)  # a note on a New incident: someone has looked at it
        return snow.incident(record["sys_id"])
    if final == "8":
        return snow.update_incident(record["sys_id"], {"state": "8"}, updated_on=ack)
    sys_id = record["sys_id"]
    person = timing.choice(list(refs["people"].values()))
    snow.update_incident(sys_id, {"state": "2", "assigned_to": person}, updated_on=ack)
    work = resolve - ack  # notes in its first half, then a hand-over or a false fix, in time order
    _notes(snow, record, notes, ack, ack + work / 2)
    if timing.random() < 0.2:  # handed on to another group: a reassignment
        groups = [g for g in refs["assignment_group"].values() if g != record["assignment_group"]]
        snow.update_incident(sys_id, {"assignment_group": timing.choice(groups)}, updated_on=ack + work * 0.6)
    if final == "3":
        return snow.update_incident(sys_id, {"state": "3", "hold_reason": "1"}, updated_on=resolve)
    if final in ("6", "7") and timing.random() < 0.1:  # resolved too early: the caller reopens it
        snow.update_incident(sys_id, {"state": "6", **closing}, updated_on=ack + work * 0.7)
        snow.update_incident(sys_id, {"state": "2"}, updated_on=ack + work * 0.8)
    if final in ("6", "7"):
        snow.update_incident(sys_id, {"state": "6", **closing}, updated_on=resolve)
    if final == "7":
        snow.update_incident(sys_id, {"state": "7"}, updated_on=close)
    return snow.incident(sys_id)


def _notes(
    snow: ServiceNowPlatform,
    record: dict[str, str],
    notes: list[tuple[str, str, str]],
    after: datetime,
    before: datetime,
) -> None:
    """Each note at its own time between `after` and `before` (inside the incident's work)."""
    span = (before - after) / (len(notes) + 1)
    for n, (element, text, user) in enumerate(notes, 1):
        snow.update_incident(record["sys_id"], {element: text}, user=user, updated_on=after + span * n)


def _special_slots(n: int, rng: random.Random) -> dict[int, str]:
    """About 2% of incidents per kind (at least one each once n >= 10), at seeded positions."""
    if n < 10:
        return {}
    per_kind = max(1, n // 50)
    kinds = ["unmapped_category", "unmapped_service", "priority_off_matrix", "status_disagree", "page_stale"]
    positions = rng.sample(range(n), per_kind * len(kinds))
    return {pos: kinds[j // per_kind] for j, pos in enumerate(positions)}


def _references(sb: Sandbox) -> dict[str, dict[str, str]]:
    snow = sb.servicenow
    snow.add_choice("category", UNMAPPED_CATEGORY, "Facilities")
    return {
        "cmdb_ci": {name: snow.add_reference("cmdb_ci", name) for name in [*SERVICES, UNMAPPED_SERVICE]},
        "assignment_group": {g: snow.add_reference("sys_user_group", g) for g in GROUPS},
        "people": {p: snow.add_reference("sys_user", p) for p in PEOPLE},
    }


def _incident_fields(
    rng: random.Random, refs: dict[str, dict[str, str]], i: int, opened: datetime, kind: str | None
) -> dict[str, str]:
    category = rng.choice(list(CATEGORIES))
    snow_cat, _, subs = CATEGORIES[category]
    service = rng.choice(list(SERVICES))
    state = "6" if kind in ("status_disagree", "page_stale") else _pick(rng, STATES)
    impact, urgency = rng.randint(1, 3), rng.randint(1, 3)
    if kind == "page_stale":
        impact, urgency = 1, rng.randint(1, 2)  # published: P1 or P2
    fields = {
        "short_description": rng.choice(TITLES).format(service=service, n=i),
        "description": f"Reported by monitoring and by users.\nFirst seen {opened:%Y-%m-%d %H:%M} UTC.",
        "category": UNMAPPED_CATEGORY if kind == "unmapped_category" else snow_cat,
        "subcategory": subs[rng.choice(list(subs))][0] if subs and kind != "unmapped_category" else "",
        "cmdb_ci": refs["cmdb_ci"][UNMAPPED_SERVICE if kind == "unmapped_service" else service],
        "impact": str(impact),
        "urgency": str(urgency),
        "state": state,
        "assignment_group": refs["assignment_group"][rng.choice(GROUPS)],
        "caller_id": refs["people"][rng.choice(PEOPLE)],
        "opened_at": opened.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if state in ("6", "7"):
        code = rng.choice(list(RESOLUTION_CODES))
        fields["close_code"] = RESOLUTION_CODES[code][0]
        fields["close_notes"] = rng.choice(NOTES)
    return fields


def _linked_jira_issue(sb: Sandbox, record: dict[str, Any], key: str, kind: str, rng: random.Random) -> None:
    """A Jira copy made by an earlier sync: correlated by label and property, one field off."""
    expected = MATRIX[(int(record["impact"]), int(record["urgency"]))]
    priority = expected if kind != "priority_off_matrix" else (expected % 5) + 1
    issue_key = sb.jira.create_issue(
        {
            "summary": record["short_description"],
            "issuetype": {"name": "[System] Incident"},
            "project": {"key": sb.jira.project_key},
            "priority": {"name": PRIORITY_NAMES[priority]},
            "labels": [label_for(key)],
        }
    )
    sb.jira.set_property(issue_key, PROPERTY_KEY, {"key": key})
    if kind == "status_disagree":
        sb.jira.transition_to(issue_key, "Work in progress")
    else:
        target = "Resolved" if record["state"] in ("6", "7") else OPEN_JIRA.get(record["state"], "Open")
        if target != "Open":
            sb.jira.transition_to(issue_key, target, resolution="Done" if target == "Resolved" else None)
    sb.servicenow.update_incident(record["sys_id"], {"correlation_id": key, "correlation_display": CORRELATION_DISPLAY})


def _linked_page_incident(sb: Sandbox, record: dict[str, Any], key: str) -> None:
    """A page incident published earlier and never resolved there."""
    components = {c["name"]: c["id"] for c in sb.statuspage.components()}
    service = next((name for name, sys_id in _cis(sb).items() if sys_id == record.get("cmdb_ci")), None)
    component = components.get(SERVICES.get(service or "", ""))
    fields: dict[str, Any] = {
        "name": record["short_description"],
        "status": "investigating",
        "impact_override": "critical" if record["priority"] == "1" else "major",
        "body": "We are investigating reports of errors.",
        "metadata": {"itsm_bridge": {"key": key}},
    }
    if component:
        fields["components"] = {component: "major_outage"}
        fields["component_ids"] = [component]
    sb.statuspage.create_incident(fields)


def _cis(sb: Sandbox) -> dict[str, str]:
    return {name: sb.servicenow.add_reference("cmdb_ci", name) for name in [*SERVICES, UNMAPPED_SERVICE]}
