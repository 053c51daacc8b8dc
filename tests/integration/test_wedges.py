"""Nothing wedges the sync: each state below once made every later run fail (exit 1, nothing
synced, `status` showing the last good run). Each is scoped to its record now, or relearned."""

from __future__ import annotations

import json
import sqlite3
import time

from itsm_bridge.store import open_from_config
from tests.integration.test_sync import add_incident, jira_issue_for, page_incidents_for

BAD_KEY = "VPN down^x"  # not usable in a Jira label, a JQL string or a ServiceNow query


def state_db(bridge):
    return sqlite3.connect(str(bridge.config_path.with_suffix(".sqlite")))


def settle(bridge):
    time.sleep(bridge.sandbox.jira.search_lag_s + 0.1)


def write_facts(bridge, value):
    with state_db(bridge) as db:
        db.execute("update facts set facts=? where platform='jira'", (value,))


def stored_facts(bridge):
    with state_db(bridge) as db:
        (value,) = db.execute("select facts from facts where platform='jira'").fetchone()
    return json.loads(value)


def test_stale_transition_ids_in_the_kept_facts_are_relearned(bridge):
    add_incident(bridge.sandbox)
    assert bridge.sync_json()[0] == 0
    facts = stored_facts(bridge)
    for transitions in facts["workflow"].values():  # as after a Jira admin edited the workflow
        for t in transitions:
            t["id"] = str(900 + int(t["id"]))
    write_facts(bridge, json.dumps(facts))
    keys = [add_incident(bridge.sandbox, short_description=f"new {i}", state="2")["number"] for i in range(3)]

    code, summary = bridge.sync_json()
    assert code == 0 and summary["created"] == 3 and summary["failed"] == 0, summary
    settle(bridge)
    assert {jira_issue_for(bridge.sandbox, k)["fields"]["status"]["name"] for k in keys} == {"Work in progress"}
    ids = {t["id"] for ts in stored_facts(bridge)["workflow"].values() for t in ts}
    assert ids and not any(i.startswith("9") for i in ids), ids  # relearned, the stale ones gone


def test_unreadable_kept_facts_are_learned_again(bridge):
    add_incident(bridge.sandbox)
    assert bridge.sync_json()[0] == 0
    write_facts(bridge, '{"workflow": {"Open": [{"id": "11"}]}')  # cut short, and missing keys
    add_incident(bridge.sandbox, short_description="after the damage", state="2")
    code, summary = bridge.sync_json()
    assert code == 0 and summary["created"] == 1, summary
    assert stored_facts(bridge)["start_status"] == "Open"


def test_an_open_create_intent_for_a_refused_key_is_quarantined_not_raised_on_every_run(bridge):
    store = open_from_config(bridge.config)
    try:  # what a kill -9 leaves: an intent with no outcome, for a key Jira cannot be asked about
        store.append(
            "killed", "intent", {"changes": {}, "rule": "new incident"}, key=BAD_KEY, platform="jira", action="create"
        )
    finally:
        store.close()
    record = add_incident(bridge.sandbox)

    code, summary = bridge.sync_json()
    assert code == 1 and summary["created"] == 1 and summary["settled"][0]["result"] == "quarantined", summary
    jira_issue_for(bridge.sandbox, record["number"])  # the run went on for the others
    status = json.loads(bridge.run("--json", "status").stdout)
    assert status["open_intents"] == 0
    held = [q for q in status["quarantined"] if q["key"] == BAD_KEY]
    assert held and "links relink" in held[0]["findings"][0], status["quarantined"]
    code, again = bridge.sync_json()
    assert again["settled"] == [] and again["failed"] == 0, again
    r = bridge.run("--json", "retry")  # the key cannot even be looked up on ServiceNow: held again, no abort
    assert r.returncode == 1 and "error:" not in r.stderr, r.stdout + r.stderr
    held = [q for q in json.loads(bridge.run("--json", "status").stdout)["quarantined"] if q["key"] == BAD_KEY]
    assert held and "cannot be read from servicenow" in held[0]["findings"][0], held


def test_a_record_with_an_unusable_key_is_quarantined_and_does_not_hold_the_cursor(bridge):
    good = add_incident(bridge.sandbox)
    add_incident(bridge.sandbox, correlation_id=BAD_KEY, correlation_display="itsm-bridge", short_description="bad key")

    code, summary = bridge.sync_json()
    assert code == 1 and summary["quarantined"] == 1 and summary["failed"] == 0, summary
    held = json.loads(bridge.run("--json", "quarantine", "list").stdout)
    assert [(q["key"], q["platform"]) for q in held] == [(BAD_KEY, "servicenow")]
    assert "cannot link records" in held[0]["findings"][0]
    settle(bridge)
    assert not [i for i in bridge.sandbox.jira.issues() if i["fields"]["summary"] == "bad key"]
    assert not [p for p in bridge.sandbox.statuspage.incidents() if p["name"] == "bad key"]
    jira_issue_for(bridge.sandbox, good["number"])
    time.sleep(1.1)  # past the second the records were changed in
    code, again = bridge.sync_json()
    assert again["read"]["servicenow"] == 0, again  # the cursor moved past it: not re-read every run


def test_a_key_linked_to_one_page_incident_while_a_killed_run_made_another_settles_on_the_linked_one(bridge):
    record = add_incident(bridge.sandbox)
    key = record["number"]
    assert bridge.sync_json()[0] == 0
    [linked] = page_incidents_for(bridge.sandbox, key)
    # An overlapping run published the key again and was killed before its outcome was journaled.
    store = open_from_config(bridge.config)
    try:
        store.append(
            "raced", "intent", {"changes": {}, "rule": "publish"}, key=key, platform="statuspage", action="publish"
        )
    finally:
        store.close()
    other = bridge.sandbox.statuspage.create_incident(
        {"name": linked["name"], "status": "identified", "metadata": {"itsm_bridge": {"key": key}}}
    )

    for _ in range(2):
        code, summary = bridge.sync_json()
        assert code == 0 and summary["failed"] == 0, summary
    links = json.loads(bridge.run("--json", "links", "show", key).stdout)
    assert {r["platform"]: r["id"] for r in links["links"]}["statuspage"] == linked["id"]
    journal = json.loads(bridge.run("--json", "journal", "show", "--key", key).stdout)
    reported = [e for e in journal if e["kind"] == "finding" and e["payload"].get("result") == "duplicate"]
    assert reported and reported[0]["payload"]["duplicate_id"] == other["id"]


def test_status_shows_the_runs_that_ended_in_error_and_why(bridge):
    add_incident(bridge.sandbox)
    assert bridge.sync_json()[0] == 0
    bridge.env = {**bridge.env, "ITSM_SANDBOX_JIRA_TOKEN": "wrong-token"}
    for _ in range(2):
        assert bridge.run("sync").returncode == 4
    status = json.loads(bridge.run("--json", "status").stdout)
    assert status["run_errors_total"] == 2 and status["run_errors"][-1]["error"] == "AuthError", status
    assert status["run_errors"][-1]["command"] == "sync" and "wrong-token" not in json.dumps(status)
    text = bridge.run("status").stdout
    assert "2 run(s) ended in error since then" in text and "AuthError" in text
    bridge.env = {k: v for k, v in bridge.env.items() if k != "ITSM_SANDBOX_JIRA_TOKEN"}
    bridge.env.update(bridge.sandbox.info()["env"])
    assert bridge.run("sync").returncode == 0
    assert json.loads(bridge.run("--json", "status").stdout)["run_errors"] == []


def test_a_read_back_that_keeps_failing_fails_its_keys_not_the_run(bridge):
    text = bridge.config_path.read_text()
    bridge.config_path.write_text(text.replace("[jira]\n", "[jira]\nmax_retries = 1\n", 1))  # backoff stays short
    keys = [add_incident(bridge.sandbox, short_description=f"read back {i}")["number"] for i in range(2)]
    retries = bridge.config.settings.jira.max_retries
    bridge.sandbox.jira.faults.inject("error_5xx", count=retries + 1, method="POST", path=r"/issue/bulkfetch$")

    code, summary = bridge.sync_json()
    assert code == 1 and sorted(e["key"] for e in summary["errors"]) == sorted(keys), summary
    assert {e["error"] for e in summary["errors"]} == {"Transient"}
    settle(bridge)
    code, again = bridge.sync_json()  # tried again, nothing created twice
    assert code == 0 and again["created"] == 0, again
    for key in keys:
        jira_issue_for(bridge.sandbox, key)


def test_an_edit_the_vendor_refuses_run_after_run_is_quarantined_after_five_runs_and_frees_the_cursor(bridge):
    from itsm_bridge.sandbox.core import Response
    from itsm_bridge.sync.refused import RUNS

    jira = bridge.sandbox.jira
    dispatch = jira.dispatch

    def refuse_poison(req):  # Jira refuses every edit whose fields mention POISON (a field it will not take)
        if req.method == "PUT" and "POISON" in req.body.decode():
            return Response(400, {"errorMessages": [], "errors": {"summary": "POISON is not allowed"}})
        return dispatch(req)

    jira.dispatch = refuse_poison
    poisoned, other = add_incident(bridge.sandbox), add_incident(bridge.sandbox, short_description="other")
    assert bridge.sync_json()[0] == 0
    bridge.sandbox.servicenow.update_incident(poisoned["sys_id"], {"short_description": "POISON title"})
    for _ in range(RUNS - 1):
        code, summary = bridge.sync_json()
        assert code == 1 and summary["failed"] == 1 and summary["quarantined"] == 0, summary  # retried each run
    code, summary = bridge.sync_json()
    assert code == 1 and summary["failed"] == 0 and summary["quarantined"] == 1, summary
    held = json.loads(bridge.run("--json", "quarantine", "list").stdout)
    assert [q["key"] for q in held] == [poisoned["number"]] and "POISON is not allowed" in held[0]["findings"][0]
    time.sleep(1.1)
    bridge.sandbox.servicenow.update_incident(other["sys_id"], {"short_description": "other, edited"})
    code, after = bridge.sync_json()
    assert after["read"]["servicenow"] == 1 and after["updated"] >= 1 and after["failed"] == 0, after  # not pinned
