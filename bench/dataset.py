"""The benchmark's dataset: N ServiceNow incidents, new to Jira and the status page, seeded.

Built with the sandbox seeder's own field generator (`itsm_bridge.sandbox.seed`), with no
deliberate inconsistency (`kind=None`): every category and service is mapped, so nothing is
quarantined, and no Jira issue or page incident exists before the first sync.

One change to the generator's mix: P1 (impact 1 x urgency 1) is kept to `P1_SHARE` of the
incidents (the rest of the would-be P1s get urgency 2). The bench publishes P1 only, and the
status page allows 60 requests a minute (Atlassian's documented limit): at the generator's 1 in 9,
10,000 incidents would put ~1,100 on the page, 18 minutes of its budget on their own.

Each incident gets 0-2 work notes or comments from people (not the bridge), as on a live instance.
`change_some` edits a seeded share of them between cycles (state, title or impact), as a person
would. Everything is reproducible for a given seed.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from itsm_bridge.sandbox.seed import NOTES, _incident_fields, _references
from itsm_bridge.sandbox.vocabulary import RESOLUTION_CODES

if TYPE_CHECKING:
    from itsm_bridge.sandbox.app import Sandbox

P1_SHARE = 0.005  # of incidents; see the module docstring
PEOPLE = ("ana.lima", "emeka.obi")
START = datetime(2026, 1, 1, tzinfo=UTC)


def build(sb: Sandbox, n: int, seed: int = 0) -> list[str]:
    """Insert `n` incidents into `sb.servicenow`; returns their sys_ids in insertion order."""
    rng = random.Random(seed)
    snow = sb.servicenow
    refs = _references(sb)
    sys_ids: list[str] = []
    # Opened over the 30 days before START (not before "now": the dataset must not move with the clock).
    start = START - timedelta(days=30)
    for i in range(n):
        opened = start + timedelta(minutes=rng.randrange(0, 30 * 24 * 60))
        fields = _incident_fields(rng, refs, i, opened, None)
        if fields["impact"] == "1" and fields["urgency"] == "1" and rng.random() >= P1_SHARE * 9:
            fields["urgency"] = "2"
        record = snow.insert_incident(fields, updated_on=opened + timedelta(minutes=rng.randrange(1, 600)))
        for _ in range(rng.randrange(0, 3)):
            element = rng.choice(["work_notes", "comments"])
            snow.update_incident(record["sys_id"], {element: rng.choice(NOTES)}, user=rng.choice(PEOPLE),
                                 updated_on=opened + timedelta(minutes=rng.randrange(600, 900)))  # fmt: skip
        sys_ids.append(record["sys_id"])
    return sys_ids


def change_some(sb: Sandbox, sys_ids: list[str], share: float = 0.01, seed: int = 0) -> list[str]:
    """Edit `share` of the incidents (at least one) as a person would: a state change, a new
    title, or another impact (never making a new P1); returns the sys_ids changed."""
    rng = random.Random(f"change-{seed}")
    chosen = rng.sample(sys_ids, max(1, round(len(sys_ids) * share))) if sys_ids else []
    snow = sb.servicenow
    for n, sys_id in enumerate(chosen):
        current = snow.incident(sys_id)
        kind = ("state", "title", "impact")[n % 3]
        if kind == "state" and current["state"] in ("7", "8"):
            kind = "title"  # Closed and Canceled are final in the Jira workflow: not reopened here
        if kind == "state":
            fields = _next_state(rng, current["state"])
        elif kind == "title":
            fields = {"short_description": f"{current['short_description']} (update {n})"}
        else:
            fields = {"impact": "3" if current["impact"] != "3" else "2"}
        snow.update_incident(sys_id, fields, user=rng.choice(PEOPLE))
    return chosen


def _next_state(rng: random.Random, state: str) -> dict[str, str]:
    """A plausible next state of an open or resolved incident: on, resolved, closed or reopened."""
    moves = {"1": ["2", "6"], "2": ["3", "6"], "3": ["2", "6"], "6": ["7", "2"]}
    target = rng.choice(moves[state])
    fields = {"state": target}
    if target in ("6", "7"):
        fields["close_code"] = RESOLUTION_CODES[rng.choice(list(RESOLUTION_CODES))][0]
        fields["close_notes"] = rng.choice(NOTES)
    return fields
