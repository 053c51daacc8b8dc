"""Broken links: a linked record that is gone, the `gone_links` policy, `links ...` and `doctor`."""

from __future__ import annotations

import json
import time

from tests.integration.test_sync import add_incident, jira_issue_for, page_incidents_for


def delete_jira_issue(sandbox, key):
    """As an admin deleting the issue in Jira (ids are never reused)."""
    store = sandbox.jira.store
    with sandbox.jira.lock:
        issue = store.get(key)
        del store.by_key[issue.key], store.by_id[issue.id]


def delete_page_incident(sandbox, incident_id):
    with sandbox.statuspage.lock:
        del sandbox.statuspage._incidents[incident_id]


def test_doctor_names_a_deleted_page_incident(bridge):
    record, _ = synced_pair(bridge)
    page = page_incidents_for(bridge.sandbox, record["number"])[0]
    delete_page_incident(bridge.sandbox, page["id"])
    r = bridge.run("--json", "doctor")
    checks = json.loads(r.stdout)["checks"]
    assert r.returncode == 1 and [c["platform"] for c in checks if not c["ok"]] == ["store"], checks
    assert page["id"] in next(c for c in checks if c["check"] == "links")["detail"]


def synced_pair(bridge):
    record = add_incident(bridge.sandbox)
    code, summary = bridge.sync_json()
    assert code == 0, summary
    time.sleep(bridge.sandbox.jira.search_lag_s + 0.1)
    return record, jira_issue_for(bridge.sandbox, record["number"])


def use_policy(bridge, policy):
    text = bridge.config_path.read_text()
    bridge.config_path.write_text(text.replace("[sync]\n", f'[sync]\ngone_links = "{policy}"\n', 1))


def test_a_deleted_jira_issue_is_quarantined_with_the_repair_named_and_unlink_retry_recreates_it(bridge):
    record, issue = synced_pair(bridge)
    key = record["number"]
    delete_jira_issue(bridge.sandbox, issue["key"])
    bridge.sandbox.servicenow.update_incident(record["sys_id"], {"short_description": "Mail delayed everywhere"})

    code, summary = bridge.sync_json()
    assert code == 1 and summary["failed"] == 0 and summary["quarantined"] == 1, summary
    held = json.loads(bridge.run("--json", "quarantine", "list").stdout)
    assert [q["platform"] for q in held] == ["jira"]
    assert f"itsm-bridge links unlink {key} jira" in held[0]["findings"][0]
    bridge.sandbox.servicenow.update_incident(record["sys_id"], {"short_description": "Mail still delayed"})
    before = len(bridge.writes())
    code, again = bridge.sync_json()  # held: no call to the gone record, the page still follows
    assert again["failed"] == 0 and again["quarantined"] == 1 and again["published"] == 1, again
    assert [c.path for c in bridge.writes()[before:] if "/rest/api/3/issue" in c.path] == []
    assert page_incidents_for(bridge.sandbox, key)[0]["name"] == "Mail still delayed"

    r = bridge.run("--json", "doctor")
    assert r.returncode == 1, r.stdout + r.stderr
    links_check = next(c for c in json.loads(r.stdout)["checks"] if c["check"] == "links")
    assert not links_check["ok"] and issue["key"] in links_check["detail"] and "links" in links_check["fix"]

    r = bridge.run("--json", "links", "unlink", key, "jira")
    assert r.returncode == 0 and json.loads(r.stdout)["was"]["display"] == issue["key"], r.stdout + r.stderr
    r = bridge.run("--json", "retry")
    assert r.returncode == 0, r.stdout + r.stderr
    time.sleep(bridge.sandbox.jira.search_lag_s + 0.1)
    fresh = jira_issue_for(bridge.sandbox, key)
    assert fresh["key"] != issue["key"] and fresh["fields"]["summary"] == "Mail still delayed"
    assert bridge.run("doctor").returncode == 0
    assert bridge.run("journal", "verify").returncode == 0


def test_recreate_policy_creates_a_deleted_issue_again_in_the_same_run(bridge):
    use_policy(bridge, "recreate")
    record, issue = synced_pair(bridge)
    key = record["number"]
    page = page_incidents_for(bridge.sandbox, key)[0]
    delete_jira_issue(bridge.sandbox, issue["key"])
    bridge.sandbox.servicenow.update_incident(record["sys_id"], {"short_description": "Mail delayed everywhere"})

    code, summary = bridge.sync_json()
    assert code == 0 and summary["failed"] == 0 and summary["created"] == 1 and summary["published"] == 1, summary
    time.sleep(bridge.sandbox.jira.search_lag_s + 0.1)
    fresh = jira_issue_for(bridge.sandbox, key)
    assert fresh["key"] != issue["key"] and fresh["fields"]["summary"] == "Mail delayed everywhere"
    assert fresh["fields"]["status"]["name"] == issue["fields"]["status"]["name"]
    pages = page_incidents_for(bridge.sandbox, key)
    assert [p["id"] for p in pages] == [page["id"]] and pages[0]["name"] == "Mail delayed everywhere"
    shown = json.loads(bridge.run("--json", "links", "show", key).stdout)
    assert {r["platform"]: r["display"] for r in shown["links"]}["jira"] == fresh["key"]
    assert [e["action"] for e in shown["journal"] if e["kind"] == "link"] == ["unlink"]
    code, quiet = bridge.sync_json()
    assert code == 0 and quiet["created"] == quiet["updated"] == quiet["failed"] == 0, quiet


def test_links_list_show_and_relink_to_an_existing_issue(bridge):
    record, issue = synced_pair(bridge)
    other, other_issue = synced_pair(bridge)
    key = record["number"]
    listed = json.loads(bridge.run("--json", "links", "list").stdout)
    assert {(r["key"], r["platform"]) for r in listed} >= {(key, "servicenow"), (key, "jira"), (key, "statuspage")}

    r = bridge.run("--json", "links", "relink", key, "jira", other_issue["key"])
    assert r.returncode == 2 and other["number"] in r.stderr, r.stdout + r.stderr  # another key's issue
    r = bridge.run("links", "relink", key, "jira", "NOPE-999")
    assert r.returncode == 2 and "NOPE-999" in r.stderr and "Traceback" not in r.stderr

    replacement = bridge.sandbox.jira.create_issue({"summary": "made by hand"})
    r = bridge.run("--json", "links", "relink", key, "jira", replacement)
    assert r.returncode == 0 and json.loads(r.stdout)["now"]["display"] == replacement, r.stdout + r.stderr
    shown = json.loads(bridge.run("--json", "links", "show", key).stdout)
    assert {x["platform"]: x["display"] for x in shown["links"]}["jira"] == replacement
    assert shown["journal"][-1]["action"] == "relink"
    assert "relink" in bridge.run("links", "show", key).stdout
    assert bridge.run("links", "unlink", key, "jira").returncode == 0
    r = bridge.run("links", "unlink", key, "jira")
    assert r.returncode == 2 and "linked to nothing" in r.stderr
    assert bridge.run("links", "show", "NO-SUCH-KEY").returncode == 2


def test_demo_runs_twice_in_one_workdir(tmp_path):
    from tests.integration.test_demo_doctor import cli

    first = cli("--json", "demo", "--incidents", "3", "--workdir", str(tmp_path))
    assert first.returncode == 0, first.stdout + first.stderr
    second = cli("--json", "demo", "--incidents", "3", "--workdir", str(tmp_path))
    assert second.returncode == 0 and "Traceback" not in second.stderr, second.stdout + second.stderr
    result = json.loads(second.stdout)
    assert result["ok"] and result["steps"][0]["created"] > 0 and result["steps"][0]["failed"] == 0
    assert result["previous_state"] and (tmp_path / "itsm-bridge.sqlite.previous").exists()


def test_links_refuse_an_unknown_platform_in_one_line(bridge):
    for args in (("unlink", "INC1", "jirra"), ("relink", "INC1", "jirra", "X-1")):
        r = bridge.run("links", *args)
        assert (
            r.returncode == 2
            and r.stderr.strip() == "error: PLATFORM 'jirra' is not one of servicenow, jira, statuspage"
        ), r.stderr


def test_after_a_jira_reset_hands_out_ids_again_a_recreate_links_the_new_issue_and_holds_the_stale_link(bridge):
    use_policy(bridge, "recreate")
    a, _ = synced_pair(bridge)
    b, _ = synced_pair(bridge)
    bridge.sandbox.jira.reset()  # the sandbox restarted without its state: ids start again at 10000
    bridge.sandbox.servicenow.update_incident(b["sys_id"], {"short_description": "B after the reset"})

    code, summary = bridge.sync_json()  # b's new issue gets the id a is linked to
    assert summary["created"] == 1 and summary["failed"] == 0, summary
    links = {(r["key"], r["platform"]): r for r in json.loads(bridge.run("--json", "links", "list").stdout)}
    assert (a["number"], "jira") not in links and links[(b["number"], "jira")]["id"] == "10000"
    held = json.loads(bridge.run("--json", "quarantine", "list").stdout)
    assert [(q["key"], q["platform"]) for q in held] == [(a["number"], "jira")] and "retry" in held[0]["findings"][0]
    code, again = bridge.sync_json()
    assert again["failed"] == 0, again  # no UNIQUE-constraint error on every run
    r = bridge.run("--json", "retry")
    assert r.returncode == 0, r.stdout + r.stderr
    time.sleep(bridge.sandbox.jira.search_lag_s + 0.1)
    assert jira_issue_for(bridge.sandbox, a["number"])["fields"]["summary"] == a["short_description"]
    assert jira_issue_for(bridge.sandbox, b["number"])["fields"]["summary"] == "B after the reset"
    assert bridge.run("doctor").returncode == 0


def test_doctor_checks_servicenow_links_in_bulk_one_query_per_hundred_not_a_read_per_link(bridge):
    from itsm_bridge.model import RemoteRef
    from itsm_bridge.store import open_from_config

    snow = bridge.sandbox.servicenow
    records = [snow.insert_incident({"short_description": f"incident {n}"}) for n in range(101)]
    store = open_from_config(bridge.config)
    try:
        for r in records:
            store.link(r["number"], RemoteRef("servicenow", r["sys_id"], r["number"]))
    finally:
        store.close()
    deleted = records[100]
    with snow.lock:
        snow.store.delete("incident", deleted["sys_id"])
    bridge.sandbox.clear_calls()
    r = bridge.run("--json", "doctor")
    links_check = next(c for c in json.loads(r.stdout)["checks"] if c["check"] == "links")
    assert r.returncode == 1 and not links_check["ok"], r.stdout + r.stderr
    assert deleted["sys_id"] in links_check["detail"] and records[99]["sys_id"] not in links_check["detail"]
    calls = bridge.sandbox.calls("servicenow")
    by_id = [c for c in calls if "sys_idIN" in c.query.get("sysparm_query", [""])[0]]
    notes = [c for c in calls if "element_idIN" in c.query.get("sysparm_query", [""])[0]]
    assert [len(c.query["sysparm_query"][0].split(",")) for c in by_id] == [100, 1]  # one query per 100 links
    assert len(notes) <= len(by_id)  # get_many reads the found records' notes too: at most one more per 100
    assert [c.path for c in calls if c.path.startswith("/api/now/table/incident/")] == []  # no read per link
