"""`itsm_bridge.Bridge` against the sandbox over loopback HTTP: each method does what its command
does, and returns typed, frozen results that agree with the CLI's `--json`."""

from __future__ import annotations

import dataclasses
import json

import pytest

from itsm_bridge import (
    Bridge,
    BridgeError,
    ConfigError,
    DoctorResult,
    Link,
    Locked,
    Plan,
    RunResult,
    StoreError,
    SyncResult,
)
from tests.cli.conftest import in_process, local


def test_plan_writes_nothing_and_sync_applies_it_with_a_typed_result(bridge):
    api = Bridge(bridge.config_path)
    assert repr(api) == f"Bridge({str(bridge.config_path)!r})"
    bridge.sandbox.servicenow.insert_incident({"short_description": "api: db down", "category": "software"})

    plan = api.plan()
    assert isinstance(plan, Plan)
    assert [a.kind for a in plan.actions if a.kind == "create"] and not bridge.writes()

    result = api.sync()
    assert isinstance(result, SyncResult) and result.ok and result.exit_code == 0
    assert result.summary.created >= 1 and not result.summary.dry_run
    assert result.to_dict() == result.summary.to_dict()
    assert result.plan is None  # what it wrote is in the journal
    assert {e.key for e in api.journal() if e.kind == "intent"} == {a.key for a in plan.actions}
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.plan = plan  # type: ignore[misc]
    dry = api.sync(dry_run=True)
    assert dry.summary.dry_run and dry.plan is not None and not dry.plan.actions  # all written: nothing left to do

    links = api.links()
    assert links and all(isinstance(link, Link) for link in links)
    listed = json.loads(local(bridge, "--json", "links", "list").output)
    assert listed == [dataclasses.asdict(link) for link in links]
    status = api.status()
    assert status.links == len({link.key for link in links}) and not status.quarantined and not status.run_errors
    assert status.last_run is not None and status.last_run.run_id == result.summary.run_id
    assert json.loads(local(bridge, "--json", "status").output) == json.loads(json.dumps(status.to_dict()))

    details = api.key(links[0].key)
    assert details.shadow is not None and {"servicenow", "jira"} <= {r.platform for r in details.links}
    assert [e.kind for e in details.journal][:2] == ["intent", "outcome"]
    assert json.loads(local(bridge, "--json", "links", "show", details.key).output) == details.to_dict()


def test_a_saved_plan_applies_through_the_api_and_is_journaled(bridge, tmp_path):
    api = Bridge(bridge.config)
    bridge.sandbox.servicenow.insert_incident({"short_description": "api: saved plan", "category": "software"})
    path = tmp_path / "plan.json"
    api.plan().save(path)

    result = api.apply(path)
    assert isinstance(result, RunResult) and result.ok and result.summary.created >= 1
    runs = [e for e in api.journal() if e.kind == "run"]
    assert runs[-1].payload["plan"] and runs[-1].run_id == result.summary.run_id
    assert api.journal(last=1)[0].seq == max(e.seq for e in api.journal())
    assert api.verify_journal(result.summary.journal_head["head"]).ok


def test_doctor_result_carries_the_exit_code_the_cli_exits_with(bridge, monkeypatch):
    api = Bridge(bridge.config_path)
    healthy = api.doctor()
    assert isinstance(healthy, DoctorResult) and healthy.ok and healthy.exit_code == 0

    monkeypatch.setenv("ITSM_SANDBOX_JIRA_TOKEN", "wrong-token")
    broken = api.doctor()
    assert not broken.ok and "jira" in {c.platform for c in broken.checks if not c.ok}
    cli = in_process(bridge.config_path, {**bridge.env, "ITSM_SANDBOX_JIRA_TOKEN": "wrong-token"}, "--json", "doctor")
    assert cli.exit_code == broken.exit_code == 4
    assert json.loads(cli.output) == broken.to_dict()


def test_a_bad_config_raises_config_error_naming_the_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[servicenow]\npasword_env = "X"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        Bridge(path)
    assert caught.value.exit_code == 2 and any("pasword_env" in p.key_path for p in caught.value.problems)


def test_a_second_run_while_the_lock_is_held_raises_locked(bridge):
    from itsm_bridge.store import open_from_config

    api = Bridge(bridge.config_path)
    store = open_from_config(api.config)
    try:
        with store.lock("elsewhere"), pytest.raises(Locked) as caught:
            api.sync()
    finally:
        store.close()
    assert isinstance(caught.value, StoreError) and isinstance(caught.value, BridgeError)
    assert caught.value.exit_code == 3
