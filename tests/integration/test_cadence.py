"""Major-incident communication on the sandbox: while a published incident is open, `sync` posts a
scheduled public update when none has gone out within its cadence, through the one plan/apply path.

Time is a fake clock: the engine's now (`Bridge(clock=...)`) and every sandbox platform's clock
move together, starting hours in the past, so a test can let half an hour pass at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import itsm_bridge
from itsm_bridge.connectors import build
from itsm_bridge.model import Incident, RemoteRef, State
from itsm_bridge.sandbox.app import Sandbox
from tests.integration.conftest import Bridge as Cli
from tests.integration.test_cachet_vendor import cachet_bridge  # noqa: F401  (fixture)
from tests.integration.test_sync import add_incident, page_incidents_for

CADENCE = '\n[communication.cadence]\nP1 = "30m"\nP2 = 60\n'
P1 = {"impact": "1", "urgency": "1"}


class FakeClock:
    """The engine's now and the sandbox platforms' clocks, moved together; starts `behind` real time."""

    def __init__(self, sandbox: Sandbox, behind: timedelta = timedelta(hours=3)) -> None:
        self.sandbox = sandbox
        self.offset = timedelta(0)
        self.advance(-behind)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta
        for platform in self.sandbox.platforms.values():
            platform.clock.skew = self.offset


@pytest.fixture
def cli(bridge: Cli) -> Cli:
    """The CLI over a config with a cadence: P1 every 30 minutes, P2 every hour."""
    bridge.config_path.write_text(bridge.config_path.read_text() + CADENCE)
    return bridge


@pytest.fixture
def clock(bridge: Cli) -> Iterator[FakeClock]:
    fake = FakeClock(bridge.sandbox)
    yield fake
    fake.advance(-fake.offset)


def api(cli: Cli, clock: FakeClock) -> itsm_bridge.Bridge:
    return itsm_bridge.Bridge(cli.config_path, clock=clock.now)


def updates(sandbox: Sandbox, key: str) -> list[dict[str, Any]]:
    """The public timeline of the key's page incident, newest first."""
    (page,) = page_incidents_for(sandbox, key)
    return list(page["incident_updates"])


def silent_p1(cli: Cli, clock: FakeClock) -> tuple[dict[str, str], itsm_bridge.Bridge, itsm_bridge.SyncResult]:
    """A P1 published, then 31 minutes of silence, then a sync: its incident, bridge and result."""
    record = add_incident(cli.sandbox, **P1)
    bridge = api(cli, clock)
    assert bridge.sync().ok
    clock.advance(timedelta(minutes=31))
    return record, bridge, bridge.sync()


def minute_names(start: datetime, end: datetime) -> set[str]:
    """`HH:MM UTC` of every minute from `start` to `end` (a time computed in between is one of them)."""
    at = start.replace(second=0, microsecond=0)
    names = set()
    while at <= end:
        names.add(at.strftime("%H:%M UTC"))
        at += timedelta(minutes=1)
    return names


def test_a_silent_p1_gets_one_templated_update_naming_the_next_and_none_within_the_cadence(
    cli: Cli, clock: FakeClock
) -> None:
    record = add_incident(cli.sandbox, **P1)
    bridge = api(cli, clock)
    assert bridge.sync().ok
    assert len(updates(cli.sandbox, record["number"])) == 1  # the page incident's first post

    clock.advance(timedelta(minutes=20))  # within the cadence: nothing to say
    result = bridge.sync()
    assert result.ok and result.summary.published == 0
    assert len(updates(cli.sandbox, record["number"])) == 1

    clock.advance(timedelta(minutes=11))  # 31 minutes of silence
    before = clock.now()
    result = bridge.sync()
    after = clock.now()
    assert result.ok and result.summary.published == 1, result.to_dict()
    newest, *older = updates(cli.sandbox, record["number"])
    assert len(older) == 1
    due = minute_names(before + timedelta(minutes=30), after + timedelta(minutes=30))
    said = re.search(r"Next update by (\d\d:\d\d UTC)", newest["body"])
    assert said and said.group(1) in due, newest["body"]
    assert newest["body"].startswith("We are continuing to investigate the issue affecting Email.")
    assert newest["status"] == older[0]["status"]  # the update keeps the page's status

    clock.advance(timedelta(minutes=10))  # the update just posted restarts the cadence
    result = bridge.sync()
    assert result.ok and result.summary.published == 0
    assert len(updates(cli.sandbox, record["number"])) == 2


def test_the_last_update_is_the_pages_own_so_a_post_made_by_hand_counts(cli: Cli, clock: FakeClock) -> None:
    record = add_incident(cli.sandbox, **P1)
    bridge = api(cli, clock)
    assert bridge.sync().ok
    (page,) = page_incidents_for(cli.sandbox, record["number"])
    clock.advance(timedelta(minutes=25))
    cli.sandbox.statuspage.update_incident(page["id"], {"body": "Engineers are rolling back the change."})
    clock.advance(timedelta(minutes=10))  # 35 minutes since ours, 10 since the person's
    result = bridge.sync()
    assert result.ok and result.summary.published == 0
    assert len(updates(cli.sandbox, record["number"])) == 2


def test_a_p2_is_held_to_its_own_cadence_and_a_p3_to_none(cli: Cli, clock: FakeClock) -> None:
    p2 = add_incident(cli.sandbox, impact="1", urgency="2")
    p3 = add_incident(cli.sandbox, impact="2", urgency="2", short_description="Slow portal search")
    cli.sandbox.servicenow.update_incident(p3["sys_id"], {"major_incident_state": "accepted"})  # published: major
    bridge = api(cli, clock)
    assert bridge.sync().ok
    clock.advance(timedelta(minutes=45))
    assert bridge.sync().summary.published == 0  # P2: an hour; the major P3: no cadence configured
    clock.advance(timedelta(minutes=16))
    result = bridge.sync()
    assert result.summary.published == 1
    assert len(updates(cli.sandbox, p2["number"])) == 2
    assert len(updates(cli.sandbox, p3["number"])) == 1


def test_a_resolved_incident_gets_no_scheduled_update(cli: Cli, clock: FakeClock) -> None:
    record = add_incident(cli.sandbox, **P1)
    bridge = api(cli, clock)
    assert bridge.sync().ok
    clock.advance(timedelta(minutes=5))
    cli.sandbox.servicenow.update_incident(
        record["sys_id"], {"state": "6", "close_code": "Solved (Permanently)", "close_notes": "Queue drained."}
    )
    assert bridge.sync().ok
    (page,) = page_incidents_for(cli.sandbox, record["number"])
    assert page["status"] == "resolved"
    posted = len(page["incident_updates"])
    for _ in range(2):
        clock.advance(timedelta(minutes=40))
        result = bridge.sync()
        assert result.ok and result.summary.published == 0
    assert len(updates(cli.sandbox, record["number"])) == posted


def test_the_leak_guard_stops_a_scheduled_update_whose_template_names_an_internal_host(
    cli: Cli, clock: FakeClock
) -> None:
    text = cli.config_path.read_text().replace(
        "[communication.cadence]",
        '[communication]\nupdate_template = "Still working on it, see wiki.corp. Next update by {{ next_update_at }}."'
        "\n\n[communication.cadence]",
    )
    cli.config_path.write_text(text)
    record, bridge, result = silent_p1(cli, clock)
    assert result.exit_code == 1 and result.summary.published == 0
    assert len(updates(cli.sandbox, record["number"])) == 1  # nothing reached the page
    (held,) = bridge.status().quarantined
    assert held.key == record["number"] and held.platform == "statuspage"
    assert "internal" in json.dumps(held.findings)


def test_plan_shows_the_scheduled_update_and_apply_posts_exactly_it(cli: Cli, tmp_path: Path) -> None:
    # The CLI runs on the system clock: the page's clock is put 40 minutes behind for the first
    # post, so by the system clock that post is 40 minutes old.
    record = add_incident(cli.sandbox, **P1)
    cli.sandbox.statuspage.clock.skew = timedelta(minutes=-40)
    assert cli.sync_json()[0] == 0
    cli.sandbox.statuspage.clock.skew = timedelta(0)
    plan_file = tmp_path / "plan.json"
    before_plan = datetime.now(UTC)
    shown = cli.run("plan", "--out", str(plan_file))
    assert shown.returncode == 0, shown.stderr
    assert re.search(
        r"~ publish statuspage .+  # communication cadence P1 30 min: no public update for 4\d min", shown.stdout
    )
    assert re.search(r"next_update_at: \(empty\) -> \S+", shown.stdout), shown.stdout
    assert "Plan: 0 to create, 0 to update, 0 to transition, 0 to comment, 1 to publish." in shown.stdout
    saved = json.loads(plan_file.read_text())
    (action,) = saved["actions"]
    assert action["kind"] == "publish" and action["key"] == record["number"]
    next_at = datetime.fromisoformat(action["changes"]["next_update_at"][1])
    assert before_plan + timedelta(minutes=30) <= next_at <= datetime.now(UTC) + timedelta(minutes=30)

    writes = len(cli.writes())
    applied = cli.run("--json", "apply", str(plan_file))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert json.loads(applied.stdout)["published"] == 1
    (patch,) = cli.writes()[writes:]
    assert patch.method == "PATCH"
    newest = updates(cli.sandbox, record["number"])[0]
    assert newest["body"].endswith(f"Next update by {next_at:%H:%M} UTC.")
    again = cli.run("plan")  # the update just posted restarts the cadence
    assert "0 to publish" in again.stdout, again.stdout


def test_the_audit_reads_the_pages_timeline_and_reports_the_silence_as_a_cadence_breach(
    cli: Cli, clock: FakeClock
) -> None:
    record = add_incident(cli.sandbox, **P1)
    bridge = api(cli, clock)
    assert bridge.sync().ok
    clock.advance(timedelta(minutes=31))
    assert bridge.sync().summary.published == 1  # kept to the cadence so far
    clock.advance(-clock.offset)  # no sync since: by now the page has been silent for hours
    r = cli.run("audit", "--format", "json")
    report = json.loads(r.stdout)
    (breach,) = [f for f in report["findings"] if f["kind"] == "cadence_breach"]
    assert breach["key"] == record["number"] and breach["expected"] == "30"
    assert int(breach["value"]) >= 140
    (row,) = report["metrics"]["communication"]["incidents"]
    assert row["key"] == record["number"] and row["breached"] and row["cadence_minutes"] == 30
    assert row["first_post_minutes"] is not None


def test_the_pages_update_interval_holds_back_a_scheduled_update_as_any_update(cli: Cli, clock: FakeClock) -> None:
    # The page's own rate rule (statuspage.min_update_interval_s, on the system clock): a day.
    text = cli.config_path.read_text().replace("min_update_interval_s = 0.0", "min_update_interval_s = 86400.0")
    cli.config_path.write_text(text)
    record, bridge, result = silent_p1(cli, clock)
    assert result.summary.published == 0 and result.summary.deferred == 1, result.to_dict()
    assert len(updates(cli.sandbox, record["number"])) == 1


@pytest.fixture
def cachet(cachet_bridge: Cli) -> Cli:
    cachet_bridge.config_path.write_text(cachet_bridge.config_path.read_text() + CADENCE)
    return cachet_bridge


def test_on_cachet_a_scheduled_update_is_an_incident_update_keeping_its_status(cachet: Cli) -> None:
    clock = FakeClock(cachet.sandbox)
    record = add_incident(cachet.sandbox, **P1)
    bridge = api(cachet, clock)
    assert bridge.sync().ok
    (made,) = cachet.sandbox.cachet.incidents()
    clock.advance(timedelta(minutes=20))
    assert bridge.sync().summary.published == 0
    clock.advance(timedelta(minutes=11))
    before = clock.now()
    result = bridge.sync()
    assert result.ok and result.summary.published == 1, result.to_dict()
    (posted,) = cachet.sandbox.cachet.updates(made["id"])
    due = minute_names(before + timedelta(minutes=30), clock.now() + timedelta(minutes=30))
    said = re.search(r"Next update by (\d\d:\d\d UTC)", posted["message"])
    assert said and said.group(1) in due, posted["message"]
    assert posted["status"] == made["status"] == cachet.sandbox.cachet.incident(made["id"])["status"]
    clock.advance(timedelta(minutes=10))
    assert bridge.sync().summary.published == 0  # the update moved the incident: the cadence restarts
    assert record["number"] in json.dumps(cachet.sandbox.cachet.incident(made["id"]).get("meta"))


def test_a_scheduled_update_never_reopens_a_page_incident_a_person_resolved_after_the_page_was_read(
    cli: Cli, clock: FakeClock
) -> None:
    # A long-lived connector (serve's) read the page's open incidents before a person resolved one.
    record = add_incident(cli.sandbox, **P1)
    assert api(cli, clock).sync().ok
    (page,) = page_incidents_for(cli.sandbox, record["number"])
    connector = build("statuspage", cli.config)
    assert record["number"] in connector.open_keys()  # the snapshot: still open
    cli.sandbox.statuspage.update_incident(page["id"], {"status": "resolved", "body": "Fixed, says the on-call."})
    incident = Incident(record["number"], "Mail delivery delayed", state=State.IN_PROGRESS, service="Email")
    writes = len(cli.writes())
    result = connector.publish(incident, RemoteRef("statuspage", page["id"]), next_update_at=clock.now())
    assert result.action == "unchanged" and cli.writes()[writes:] == []
    (page,) = page_incidents_for(cli.sandbox, record["number"])
    assert page["status"] == "resolved"
