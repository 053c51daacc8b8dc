"""Invariant 4 at the engine level: 2,500 ServiceNow incidents sharing one `sys_updated_on` second,
or spread over one minute, synced through the CLI: each gets exactly one Jira issue. Records edited
(or inserted) while the sync is paging through them are picked up by that cycle or the next: with
the vendor clock stopped (the edit changes only `sys_mod_count`: the record keeps its place in the
order) and running (the edit moves the record to the end of the order, behind the read).

The connector's paging is tested in tests/connectors/servicenow/test_servicenow.py; this runs the whole cycle
(read, reconcile, apply, cursor) over three pages of 1,000, where a page edge falls inside the
second. The 2,500-record runs are slow; the fast subset plays the same shapes at a tenth of the
size with pages of 100.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from itsm_bridge.correlation import label_for
from itsm_bridge.sandbox.app import Sandbox
from itsm_bridge.sandbox.config_writer import write_config
from itsm_bridge.sandbox.core import Request, Response

ROOT = Path(__file__).resolve().parents[2]
LIST = "/api/now/table/incident"


@dataclass
class MidRead:
    """After the first incident page is served, edits records on pages already read and on pages
    still to come, and inserts one, all at the vendor's time (stopped or running)."""

    sandbox: Sandbox
    ids: list[str]
    edited: dict[str, str] = field(default_factory=dict)  # sys_id -> its new title
    inserted: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def install(self) -> None:
        platform = self.sandbox.servicenow
        dispatch = platform.dispatch

        def hooked(req: Request) -> Response:
            resp = dispatch(req)
            if req.method == "GET" and req.path == LIST and resp.status == 200 and not self.done.is_set():
                self.done.set()
                self.edit(
                    [r["sys_id"] if isinstance(r["sys_id"], str) else r["sys_id"]["value"] for r in resp.body["result"]]
                )
            return resp

        platform.dispatch = hooked  # type: ignore[method-assign]

    def edit(self, first_page: list[str]) -> None:
        read = set(first_page)
        behind = [i for i in self.ids if i in read][:4]
        ahead = [i for i in reversed(self.ids) if i not in read][:4]
        for n, sys_id in enumerate(behind + ahead):
            title = f"edited during the read {n}"
            self.sandbox.servicenow.update_incident(sys_id, {"short_description": title})
            self.edited[sys_id] = title
        row = self.sandbox.servicenow.insert_incident(
            {"short_description": "inserted during the read", "impact": "3", "urgency": "3", "category": "software"}
        )
        self.inserted.append(row["sys_id"])


def configure(sb: Sandbox, tmp: Path, page_size: int) -> tuple[Path, dict[str, str]]:
    info = sb.info()
    cfg = write_config(info, tmp / "bridge.toml")
    fast = "requests_per_second = 100000.0"
    text = cfg.read_text().replace("requests_per_second = 1.0", "requests_per_second = 100.0")
    text = text.replace("search_lag_s = 10.0", f"search_lag_s = 0.0\n{fast}")
    text = text.replace("page_size = 1000", f"page_size = {page_size}\n{fast}")
    cfg.write_text(text)
    return cfg, {**os.environ, **info["env"]}


def sync(cfg: Path, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "itsm_bridge.cli", "--config", str(cfg), "--json", "sync"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def insert(sb: Sandbox, n: int, when: Callable[[int], datetime]) -> list[str]:
    """n P5 incidents (Jira only: no page incident, no transition: one create each)."""
    return [
        sb.servicenow.insert_incident(
            {"short_description": f"boundary {i}", "impact": "3", "urgency": "3", "category": "software", "state": "1"},
            updated_on=when(i),
        )["sys_id"]
        for i in range(n)
    ]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(seed=4)
    sb.jira.search_lag_s = 0.0
    with sb:
        yield sb


def play(sb: Sandbox, tmp: Path, n: int, page_size: int, spread_s: int, stopped: bool) -> None:
    """`stopped`: the vendor clock stays at the last second of the spread for the whole test (every
    later write lands in it); else it runs, and the edits made during the read are newer."""
    start = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    sb.servicenow.clock.freeze(start + timedelta(seconds=spread_s) if stopped else None)
    ids = insert(sb, n, lambda i: start + timedelta(seconds=spread_s * i // n))
    mid = MidRead(sb, ids)
    mid.install()
    cfg, env = configure(sb, tmp, page_size)
    first = sync(cfg, env)
    assert mid.done.is_set() and len(mid.edited) == 8
    second_cycle = sync(cfg, env)
    every = ids + mid.inserted
    numbers = {sb.servicenow.incident(i)["number"]: i for i in every}
    per_label: dict[str, list[dict[str, Any]]] = {}
    for issue in sb.jira.issues():
        for label in issue["fields"].get("labels", []):
            per_label.setdefault(label, []).append(issue)
    counts = {number: len(per_label.get(label_for(number), [])) for number in numbers}
    assert [n for n, c in counts.items() if c != 1] == [], "incidents without exactly one Jira issue"
    assert len(sb.jira.issues()) == len(every)
    for sys_id, title in mid.edited.items():
        number = sb.servicenow.incident(sys_id)["number"]
        assert per_label[label_for(number)][0]["fields"]["summary"] == title, (
            f"{number}: the edit made during the read was lost"
        )
    assert first["failed"] == second_cycle["failed"] == 0


SHAPES = [(0, True), (60, False)]
SHAPE_IDS = ["one second, vendor clock stopped", "one minute, vendor clock running"]
MORE_SHAPES = [(0, False), (60, True)]
MORE_IDS = ["one second, vendor clock running", "one minute, vendor clock stopped"]


@pytest.mark.parametrize(("spread_s", "stopped"), SHAPES, ids=SHAPE_IDS)
def test_250_incidents_in_one_second_or_minute_with_edits_mid_read_each_get_one_jira_issue(
    sandbox: Sandbox, tmp_path: Path, spread_s: int, stopped: bool
) -> None:
    play(sandbox, tmp_path, 250, 100, spread_s, stopped)


@pytest.mark.slow
@pytest.mark.parametrize(("spread_s", "stopped"), SHAPES + MORE_SHAPES, ids=SHAPE_IDS + MORE_IDS)
def test_2500_incidents_in_one_second_or_minute_with_edits_mid_read_each_get_one_jira_issue(
    sandbox: Sandbox, tmp_path: Path, spread_s: int, stopped: bool
) -> None:
    play(sandbox, tmp_path, 2500, 1000, spread_s, stopped)
