"""The benchmark's sandbox side: the dataset, and the process that serves it and reports on it.

The dataset: N ServiceNow incidents, new to Jira and the status page, seeded.

Built with the sandbox seeder's own field generator (`itsm_bridge.sandbox.seed`), with no
deliberate inconsistency (`kind=None`): every category and service is mapped, so nothing is
quarantined, and no Jira issue or page incident exists before the first sync.

One change to the generator's mix: P1 (impact 1 x urgency 1) is kept to `P1_SHARE` of the
incidents (the rest of the would-be P1s get urgency 2). The bench publishes P1 only, and the
status page allows 60 requests a minute (Atlassian's documented limit): at the generator's 1 in 9,
10,000 incidents would put ~1,100 on the page, 18 minutes of its budget on their own.

Each incident gets 0-2 work notes or comments from people (not the bridge), as on a live instance,
and an assignee: one of the sandbox's people (two of whom hide their address in Jira), drawn
from a random stream of its own so the other fields are as they were before assignment.
`change_some` edits a seeded share of them between cycles (state, title or impact), as a person
would. Everything is reproducible for a given seed.

`SandboxChild` forks a process that builds the dataset and serves the sandbox (its memory is not
the benchmark's), driven over a Pipe: snapshots of the platforms for `bench/floor.py`, the call
log (drained at each ask), and the 1% change between cycles.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import random
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from bench.floor import JiraIssue, PageIncident, Snapshot, SnowIncident
from itsm_bridge.sandbox.seed import NOTES, _incident_fields, _references
from itsm_bridge.sandbox.vocabulary import PEOPLE as ASSIGNEES
from itsm_bridge.sandbox.vocabulary import RESOLUTION_CODES

if TYPE_CHECKING:
    from itsm_bridge.sandbox.app import Sandbox

P1_SHARE = 0.005  # of incidents; see the module docstring
PEOPLE = ("ana.lima", "emeka.obi")
START = datetime(2026, 1, 1, tzinfo=UTC)


def build(sb: Sandbox, n: int, seed: int = 0) -> list[str]:
    """Insert `n` incidents into `sb.servicenow`; returns their sys_ids in insertion order."""
    rng = random.Random(seed)
    assigning = random.Random(f"assignees-{seed}")  # its own draws: the other fields stay as they were
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
        fields["assigned_to"] = refs["people"][assigning.choice(ASSIGNEES)]  # assignment on: someone has each
        record = snow.insert_incident(fields, updated_on=opened + timedelta(minutes=rng.randrange(1, 600)))
        for _ in range(rng.randrange(0, 3)):
            element = rng.choice(["work_notes", "comments"])
            snow.update_incident(
                record["sys_id"],
                {element: rng.choice(NOTES)},
                user=rng.choice(PEOPLE),
                updated_on=opened + timedelta(minutes=rng.randrange(600, 900)),
            )
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


# --------------------------------------------------------------------------------------------
# The sandbox process

Limits = Mapping[str, tuple[int, float]]  # platform -> (requests, window seconds)
CallRow = tuple[str, str, str, int, str]  # platform, method, path shape, status, at (ISO time)


class SandboxChild:
    """A forked process serving the sandbox with the dataset, driven over a Pipe."""

    def __init__(self, n: int, seed: int, latency_ms: float, limits: Limits, search_lag_s: float) -> None:
        self.conn, child = mp.Pipe()
        args = (n, seed, latency_ms, dict(limits), search_lag_s, child)
        self.proc = mp.get_context("fork").Process(target=_serve, args=args, daemon=True)
        self.proc.start()
        self.hello: dict[str, Any] = self.conn.recv()
        self.info: dict[str, Any] = self.hello["info"]

    def ask(self, command: str, arg: Any = None) -> Any:
        """`snapshot`, `calls` (and clear them), `change` (a share), `rss` (MiB)."""
        self.conn.send((command, arg))
        return self.conn.recv()

    def close(self) -> None:
        self.conn.send(("stop", None))
        self.proc.join(timeout=10)


def _serve(
    n: int, seed: int, latency_ms: float, limits: dict[str, tuple[int, float]], search_lag_s: float, conn: Connection
) -> None:
    from itsm_bridge.sandbox.app import Sandbox
    from itsm_bridge.sandbox.faults import FaultProfile

    sb = Sandbox(seed=seed)
    started = time.perf_counter()
    sys_ids = build(sb, n, seed=seed)
    seeded_s = time.perf_counter() - started
    sb.jira.search_lag_s = search_lag_s
    sb.servicenow.rate_limit = limits["servicenow"]
    sb.jira.rate_limit = limits["jira"]
    sb.statuspage.rate_limit = limits["statuspage"]
    sb.start()
    for platform in (sb.servicenow, sb.jira, sb.statuspage):
        platform.faults.set_profile(FaultProfile(latency_ms=latency_ms))  # after start(): it sets "none"
    conn.send({"info": sb.info(), "seeded_s": seeded_s, "rss_mb": rss_mb()})
    try:
        while True:
            command, arg = conn.recv()
            if command == "stop":
                break
            if command == "snapshot":
                conn.send(snapshot(sb))
            elif command == "calls":
                conn.send([(c.platform, c.method, shape(c), c.status, c.at) for c in sb.calls()])
                sb.clear_calls()
            elif command == "change":
                conn.send(len(change_some(sb, sys_ids, share=arg, seed=seed)))
            elif command == "rss":
                conn.send(rss_mb())
    finally:
        sb.stop()


def rss_mb() -> float:
    """This process's resident set size in MiB (Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))


def snapshot(sb: Sandbox) -> Snapshot:
    """What the floor needs of every incident, issue and page incident, read under each lock."""
    with sb.servicenow.lock:
        table = sb.servicenow.store.tables["incident"]
        email = sb.servicenow.store.getter(table, "assigned_to.email")
        snow = {
            sys_id: SnowIncident(
                int(table.value(row, "sys_mod_count") or 0),
                table.value(row, "sys_updated_by"),
                table.value(row, "sys_updated_on"),
                email(row),
            )
            for sys_id, row in table.rows.items()
        }
    skip = ("status", "resolution", "resolutiondate", "updated", "created", "properties")
    jira = {}
    with sb.jira.lock:
        for issue in sb.jira.store:
            kept = sorted(((k, v) for k, v in issue.fields.items() if k not in skip), key=lambda kv: kv[0])
            digest = hashlib.md5(repr(kept).encode()).hexdigest()
            jira[issue.key] = JiraIssue(
                issue.fields["status"], digest, len(issue.comments), str(issue.fields["updated"])
            )
    page = {
        i["id"]: PageIncident(i["status"], len(i["incident_updates"]), i["updated_at"])
        for i in sb.statuspage.incidents()
    }
    return Snapshot(snow, jira, page)


_ID = re.compile(r"^(\d+|[0-9a-f]{32}|[A-Z][A-Z0-9_]*-\d+)$")


def shape(call: Any) -> str:
    """The call's method and path with ids replaced, plus what a Jira search was for."""
    parts = call.path.split("/")
    for i, part in enumerate(parts):
        if i and parts[i - 1] == "api":
            continue  # the API version
        if _ID.match(part) or (i and parts[i - 1] in ("pages", "incidents", "components") and part != "unresolved"):
            parts[i] = "{id}"
    out = f"{call.method} {'/'.join(parts)}"
    if call.path.endswith("/search/jql") and call.body:
        body = json.loads(call.body)
        out += (
            " (reconcile)"
            if body.get("reconcileIssues")
            else " (by label)"
            if "labels =" in body.get("jql", "")
            else " (changed)"
        )
    return out
