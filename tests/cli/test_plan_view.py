"""`itsm-bridge plan` as a reviewer reads it, and the promise that `apply` of a plan does what
it counts: the CLI in its own process against the sandbox over loopback."""

from __future__ import annotations

import json

from tests.cli.conftest import bridge, sandbox  # noqa: F401  (fixtures)
from tests.integration.test_sync import add_incident

RESOLVED = {"state": "6", "close_code": "Solved (Permanently)", "close_notes": "Queue drained."}


def test_plan_text_groups_actions_per_incident_in_key_order_and_closes_with_counts(bridge):
    first = add_incident(bridge.sandbox)["number"]
    second = add_incident(bridge.sandbox, short_description="Payments slow", cmdb_ci="Payments API")["number"]
    r = bridge.run("plan")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "\n".join(
        [
            *incident_section(first, "Mail delivery delayed for Zürich office", "Email"),
            *incident_section(second, "Payments slow", "Payments API"),
            "Plan: 2 to create, 0 to update, 2 to transition, 0 to comment, 2 to publish.",
            "0 blocked; read jira 0, servicenow 2.",
            "",
        ]
    )


def incident_section(key: str, title: str, service: str) -> list[str]:
    """The plan's section of a new, in-progress CLEAN incident: its header, then each action with
    the fields it sets."""
    return [
        f"{key}  {title}",
        "  + create jira (new)  # new incident, not yet on jira",
        f"      title: {title}",
        "      description: Queue on mx2 growing since 08:10.",
        "      state: in_progress",
        "      category: Software",
        "      subcategory: Email",
        f"      service: {service}",
        "  ~ transition jira (new)  # created as new; source state is in_progress",
        "      state: new -> in_progress",
        "  ~ publish statuspage (new)  # matches [publish]: new on the page",
        f"      title: (empty) -> {title}",
        "      state: (empty) -> in_progress",
        f"      service: (empty) -> {service}",
        "      priority: (empty) -> P2",
        "",
    ]


def test_plan_counts_equal_what_applying_the_saved_plan_does(bridge, tmp_path):
    bridge.sandbox.seed(30)
    add_incident(bridge.sandbox, **RESOLVED)  # resolved, never on the page: nothing there to resolve
    plan_file = tmp_path / "plan.json"
    r = bridge.run("--json", "plan", "--out", str(plan_file))
    counts = json.loads(r.stdout)["counts"]
    r = bridge.run("--json", "apply", str(plan_file))
    summary = json.loads(r.stdout)
    done = {kind: summary[word] for kind, word in PAST.items()}
    assert counts == done, r.stdout + r.stderr
    assert counts["publish"] > 0 and summary["failed"] == summary["quarantined"] == 0


PAST = {
    "create": "created",
    "update": "updated",
    "transition": "transitioned",
    "comment": "commented",
    "publish": "published",
}
