"""`apply` and `retry` start from what earlier runs learned of each platform (Jira's transitions
from a status, the people found), as `sync` does, and keep what they learn: a learned fact costs
its call once, not once per command. The CLI against the sandbox over loopback."""

from __future__ import annotations

import json
import re
from collections import Counter

from itsm_bridge.sandbox.jira.schema import account_id
from tests.integration.test_sync import add_incident, jira_issue_for, settle


def shapes(bridge) -> Counter[str]:
    return Counter(re.sub(r"/\d+", "/N", f"{c.method} {c.path}") for c in bridge.sandbox.calls("jira"))


def test_apply_moves_a_jira_issue_by_the_transitions_an_earlier_sync_learned(bridge, tmp_path):
    first, second = add_incident(bridge.sandbox), add_incident(bridge.sandbox)
    assert bridge.sync_json()[0] == 0
    settle(bridge)
    bridge.sandbox.servicenow.update_incident(first["sys_id"], {"state": "3", "hold_reason": "1"})
    assert bridge.sync_json()[1]["transitioned"] == 1  # learns the moves from "Work in progress"
    settle(bridge)
    bridge.sandbox.servicenow.update_incident(second["sys_id"], {"state": "3", "hold_reason": "1"})
    plan = tmp_path / "plan.json"
    assert bridge.run("plan", "--out", str(plan)).returncode == 0
    bridge.sandbox.clear_calls()
    r = bridge.run("apply", str(plan))
    assert r.returncode == 0, r.stdout + r.stderr
    assert shapes(bridge)["POST /rest/api/N/issue/N/transitions"] == 1
    assert shapes(bridge)["GET /rest/api/N/issue/N/transitions"] == 0, shapes(bridge)


def test_retry_finds_a_person_an_earlier_sync_looked_up_without_asking_jira_again(bridge):
    snow = bridge.sandbox.servicenow
    ana = {"assigned_to": snow.add_reference("sys_user", "Ana Lima")}
    add_incident(bridge.sandbox, **ana)
    held = add_incident(bridge.sandbox, category="facilities", subcategory="", **ana)
    code, summary = bridge.sync_json()
    assert code == 1 and summary["quarantined"] == 1, summary
    text = bridge.config_path.read_text().replace(
        "[taxonomy.categories.Inquiry]\n",
        '[taxonomy.categories.Facilities]\nservicenow = "facilities"\njira = "Facilities"\n\n[taxonomy.categories.Inquiry]\n',
    )
    bridge.config_path.write_text(text)
    bridge.sandbox.clear_calls()
    r = bridge.run("--json", "retry")
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["created"] == 1
    assert jira_issue_for(bridge.sandbox, held["number"])["fields"]["assignee"]["accountId"] == account_id("Ana Lima")
    assert [c for c in bridge.sandbox.calls() if c.path == "/rest/api/3/user/search"] == []
