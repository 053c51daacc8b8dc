"""Cachet as the vendor ships it, through the CLI: app time zones, 2.3 without incident updates,
an unsupported release, and a lost create answer found by the key in the incident's meta."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from itsm_bridge.sandbox.app import Sandbox
from itsm_bridge.sandbox.config_writer import write_config
from itsm_bridge.sandbox.core import Request, Response
from tests.integration.conftest import Bridge
from tests.integration.test_sync import add_incident


@pytest.fixture
def cachet_bridge(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bridge:
    info = sandbox.info()
    for name, value in info["env"].items():
        monkeypatch.setenv(name, value)
    path = write_config(info, tmp_path / "itsm-bridge.toml", provider="cachet")
    text = path.read_text().replace("requests_per_second = 1.0", "requests_per_second = 50.0")
    text = text.replace("search_lag_s = 10.0", "search_lag_s = 0.5\nrequests_per_second = 500.0")
    path.write_text(text.replace("page_size = 1000", "page_size = 1000\nrequests_per_second = 500.0"))
    return Bridge(path, sandbox, {**os.environ, **info["env"]})


def page_settings(bridge: Bridge, **values: Any) -> None:
    """Set keys of [statuspage] in the bridge's config file."""
    text = bridge.config_path.read_text()
    lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())
    for key in values:
        text = "\n".join(line for line in text.splitlines() if not line.startswith(f"{key} =")) + "\n"
    bridge.config_path.write_text(text.replace("[statuspage]\n", "[statuspage]\n" + lines, 1))


def ours(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [i for i in sandbox.cachet.incidents() if i.get("meta", {}).get("itsm_bridge_key")]


def test_east_of_utc_a_due_page_update_is_not_deferred_by_the_zone_offset(cachet_bridge: Bridge) -> None:
    from datetime import timedelta

    sb = cachet_bridge.sandbox
    sb.cachet.app_timezone = "Australia/Lord_Howe"
    page_settings(cachet_bridge, timezone="Australia/Lord_Howe", min_update_interval_s=60.0)
    sb.cachet.clock.skew = timedelta(minutes=-3)  # the page's last update will look three minutes old
    record = add_incident(sb, impact="1", urgency="1")
    code, summary = cachet_bridge.sync_json()
    assert code == 0 and summary["published"] == 1, summary
    (made,) = sb.cachet.incidents()
    sb.servicenow.update_incident(record["sys_id"], {"state": "3"})
    code, summary = cachet_bridge.sync_json()
    assert code == 0 and summary["deferred"] == 0 and summary["published"] == 1, summary
    assert sb.cachet.incident(made["id"])["status"] == 3  # watching


def test_west_of_utc_the_update_cadence_still_holds(cachet_bridge: Bridge) -> None:
    sb = cachet_bridge.sandbox
    sb.cachet.app_timezone = "America/Los_Angeles"
    page_settings(cachet_bridge, timezone="America/Los_Angeles", min_update_interval_s=300.0)
    record = add_incident(sb, impact="1", urgency="1")
    assert cachet_bridge.sync_json()[0] == 0
    sb.servicenow.update_incident(record["sys_id"], {"state": "3"})
    code, summary = cachet_bridge.sync_json()  # a minute later at most: inside the 300 s cadence
    assert code == 0 and summary["deferred"] == 1 and summary["published"] == 0, summary
    assert [i["status"] for i in sb.cachet.incidents()] == [2]
    journal = json.loads(cachet_bridge.run("--json", "journal", "show").stdout)
    assert any("deferred" in json.dumps(e) for e in journal)


def test_cachet_23_is_kept_up_to_date_by_putting_the_incident(cachet_bridge: Bridge) -> None:
    sb = cachet_bridge.sandbox
    sb.cachet.version = "2.3.18"
    doctor = cachet_bridge.run("--json", "doctor")
    checks = {c["check"]: c for c in json.loads(doctor.stdout)["checks"] if c["platform"] == "statuspage"}
    assert doctor.returncode == 0 and checks["version"]["ok"] and "2.3" in checks["version"]["detail"], doctor.stdout
    record = add_incident(sb, impact="1", urgency="1")
    assert cachet_bridge.sync_json()[0] == 0
    sb.servicenow.update_incident(
        record["sys_id"], {"state": "6", "close_code": "Solved (Permanently)", "close_notes": "Queue drained."}
    )
    code, summary = cachet_bridge.sync_json()
    assert code == 0 and summary["failed"] == 0, summary
    (made,) = sb.cachet.incidents()
    assert made["status"] == 4 and all(c["status"] == 1 for c in sb.cachet.components())
    assert not [c for c in sb.calls("cachet") if "/updates" in c.path]


def test_an_unsupported_cachet_release_is_refused_at_start_before_any_write(cachet_bridge: Bridge) -> None:
    sb = cachet_bridge.sandbox
    sb.cachet.version = "2.2.4"
    doctor = cachet_bridge.run("doctor")
    assert doctor.returncode == 4 and "Cachet 2.2.4" in doctor.stdout and "not supported" in doctor.stdout
    add_incident(sb, impact="1", urgency="1")
    result = cachet_bridge.run("sync")
    assert result.returncode == 4 and "Cachet 2.2.4" in result.stderr and "supported: 2.3 and 2.4" in result.stderr
    assert cachet_bridge.writes() == []


def test_a_lost_create_answer_is_found_by_the_key_in_meta_beside_a_same_named_incident(cachet_bridge: Bridge) -> None:
    sb = cachet_bridge.sandbox
    original = sb.cachet.dispatch

    def with_twin(req: Request) -> Response:
        resp = original(req)
        if req.method == "POST" and req.path == "/api/v1/incidents" and resp.status == 200:
            # A person opens an incident of the same name at that moment: content alone is ambiguous.
            sb.cachet.create_incident({"name": json.loads(req.body)["name"], "status": 1, "message": "Looking."})
        return resp

    sb.cachet.dispatch = with_twin  # type: ignore[method-assign]
    sb.cachet.faults.inject("drop_after_commit", count=1, method="POST", path=r"/api/v1/incidents$")
    record = add_incident(sb, impact="1", urgency="1")
    code, summary = cachet_bridge.sync_json()
    assert code == 0 and summary["failed"] == 0 and summary["published"] == 1, summary
    assert [i["meta"]["itsm_bridge_key"] for i in ours(sb)] == [record["number"]]
    assert len(sb.cachet.incidents()) == 2  # ours and the person's, nothing made twice
    code, summary = cachet_bridge.sync_json()
    assert code == 0 and len(sb.cachet.incidents()) == 2
