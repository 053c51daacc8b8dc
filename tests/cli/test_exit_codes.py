"""Exit codes cron can trust: 1 for as long as a record is held in quarantine (not only in the
run that quarantined it), 2 for an --only KEY that exists nowhere, and `plan --help` says which."""

from __future__ import annotations

import json

from tests.cli.conftest import Bridge, cli, local
from tests.integration.test_sync import CLEAN, add_incident, jira_issue_for


def quarantined(bridge: Bridge) -> list[dict[str, object]]:
    return json.loads(local(bridge, "--json", "quarantine", "list").stdout)


def test_every_run_exits_1_while_a_record_stays_quarantined_and_0_once_it_is_fixed(bridge: Bridge) -> None:
    bad = add_incident(bridge.sandbox, category="facilities", subcategory="")  # in no taxonomy
    add_incident(bridge.sandbox, short_description="Second")
    code, summary = bridge.sync_json()
    assert code == 1 and summary["quarantined"] == 1 and summary["held_in_quarantine"] == 1

    plain = bridge.run("sync")  # nothing new is quarantined, the record is still held
    assert plain.returncode == 1 and "1 record(s) held in quarantine" in plain.stdout

    bridge.sandbox.servicenow.update_incident(
        bad["sys_id"], {"category": CLEAN["category"], "subcategory": CLEAN["subcategory"]}
    )
    code, summary = bridge.sync_json()  # the fixed record syncs, and is no longer held
    assert code == 0 and summary["held_in_quarantine"] == 0, summary
    assert quarantined(bridge) == [] and jira_issue_for(bridge.sandbox, bad["number"])


def test_an_acknowledged_record_is_released_with_a_journaled_reason(bridge: Bridge) -> None:
    bad = add_incident(bridge.sandbox, category="facilities", subcategory="")
    assert bridge.sync_json()[0] == 1
    [held] = quarantined(bridge)

    assert local(bridge, "quarantine", "ack", str(held["id"])).exit_code == 2  # a reason is required
    unknown = local(bridge, "quarantine", "ack", "9999", "--reason", "x")
    assert unknown.exit_code == 2 and "9999" in unknown.stderr
    assert quarantined(bridge) == [held]  # nothing was released by the refused ones

    acked = local(bridge, "--json", "quarantine", "ack", str(held["id"]), "--reason", "facilities is not ours")
    assert acked.exit_code == 0, acked.stderr
    entries = json.loads(local(bridge, "--json", "journal", "show", "--key", bad["number"]).stdout)
    [ack] = [e for e in entries if e["kind"] == "ack"]
    assert ack["payload"]["reason"] == "facilities is not ours" and ack["payload"]["quarantine_id"] == held["id"]
    assert ack["payload"]["by"]
    assert quarantined(bridge) == [] and bridge.sync_json()[0] == 0


def test_only_a_key_that_exists_nowhere_exits_2_naming_it(bridge: Bridge) -> None:
    record = add_incident(bridge.sandbox)
    for command in ("sync", "plan"):
        r = bridge.run(command, "--only", "INC9999999")
        assert r.returncode == 2 and "INC9999999" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert bridge.writes() == []
    code, summary = bridge.sync_json("--only", record["number"])
    assert code == 0 and summary["created"] == 1
    assert bridge.sync_json("--only", record["number"])[0] == 0  # known to the store, unchanged: nothing to do


def test_plan_help_states_its_exit_codes() -> None:
    text = " ".join(cli("plan", "--help").stdout.split())
    for phrase in (
        "Exit 0 when nothing would be held back",
        "1 when a record would be quarantined",
        "2 on a usage or config error",
        "4 when a platform is unreachable",
    ):
        assert phrase in text, text
