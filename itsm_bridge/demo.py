"""`itsm-bridge demo`: the whole product on the embedded default, with no account and no network.

Starts the sandbox in-process with seeded incidents, writes a config for it, then:
1. syncs ServiceNow -> Jira and the status page;
2. syncs again, which must write nothing (no echo);
3. resolves one issue on the Jira side, as an engineer would, and syncs it back to ServiceNow;
4. audits the platforms and writes the HTML report into the workdir;
and prints what each step did and where the state, journal and config are.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itsm_bridge.api import Bridge
from itsm_bridge.demo_story import seed_explanation
from itsm_bridge.output import counts
from itsm_bridge.sandbox.app import Sandbox
from itsm_bridge.sandbox.config_writer import write_config
from itsm_bridge.stopping import Interrupted
from itsm_bridge.sync.summary import RunSummary


@dataclass
class DemoResult:
    workdir: Path
    config_path: Path
    state_path: Path
    steps: list[dict[str, Any]] = field(default_factory=list)
    resolved: dict[str, Any] = field(default_factory=dict)
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    report_path: Path | None = None
    audit: dict[str, Any] = field(default_factory=dict)
    previous_state: Path | None = None  # an earlier demo's state, set aside
    deliberate: dict[str, list[str]] = field(default_factory=dict)  # seeded inconsistencies: kind -> keys

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "workdir": str(self.workdir),
            "config": str(self.config_path),
            "state": str(self.state_path),
            "steps": self.steps,
            "resolved": self.resolved,
            "problems": self.problems,
            "report": str(self.report_path) if self.report_path else None,
            "audit": self.audit,
            "previous_state": str(self.previous_state) if self.previous_state else None,
            "deliberate": self.deliberate,
        }


def run_demo(incidents: int = 20, workdir: str | None = None, echo: Callable[[str], None] = print) -> DemoResult:
    root = Path(workdir or tempfile.mkdtemp(prefix="itsm-bridge-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(seed=7)
    sandbox.jira.search_lag_s = 0.5  # short, so the demo does not sit waiting for search
    sandbox.statuspage.rate_limit = (600, 60.0)
    with sandbox:
        echo(f"Seeding the sandbox with {incidents} incident(s) ...")
        sandbox.seed(incidents)
        info = sandbox.info()
        os.environ.update(info["env"])
        config_path = write_config(info, root / "itsm-bridge.toml")
        text = config_path.read_text(encoding="utf-8").replace(
            "requests_per_second = 1.0", "requests_per_second = 10.0"
        )
        config_path.write_text(text.replace("search_lag_s = 10.0", "search_lag_s = 1.0"), encoding="utf-8")
        bridge = Bridge(config_path)
        result = DemoResult(root, config_path, Path(bridge.config.state_url[len("sqlite:///") :]))
        result.previous_state = _set_aside(result.state_path)
        if result.previous_state:
            echo(f"An earlier demo's state (its sandbox is gone) was moved to {result.previous_state}")
        result.deliberate = dict(sandbox.manifest)
        for line in seed_explanation(result.deliberate):
            echo(line)

        first = _step(result, "initial sync: ServiceNow -> Jira and the status page", bridge, echo)
        if first.created == 0:
            result.problems.append("the first sync created nothing")
        time.sleep(sandbox.jira.search_lag_s + 0.1)  # let Jira search see our own writes
        second = _step(result, "second sync: nothing changed, so nothing is written", bridge, echo)
        if second.writes:
            result.problems.append(f"the second sync wrote {second.writes} time(s); it must write nothing")

        resolved = _resolve_one_in_jira(sandbox, bridge)
        result.resolved = resolved
        echo(f"\nResolved {resolved.get('jira')} in Jira (resolution Done), linked to {resolved.get('key')}")
        time.sleep(sandbox.jira.search_lag_s + 0.1)
        _step(result, "sync back: the Jira resolve reaches ServiceNow", bridge, echo)
        incident = sandbox.servicenow.incident(resolved["servicenow_id"]) if resolved else {}
        resolved["servicenow_state"] = incident.get("state")
        resolved["close_code"] = incident.get("close_code")
        if incident.get("state") != "6":
            result.problems.append(
                f"ServiceNow {resolved.get('key')} is in state {incident.get('state')}, not 6 (Resolved)"
            )
        _audit(result, bridge, root, echo)
    result.ok = not result.problems
    return result


def _set_aside(state: Path) -> Path | None:
    """Move an earlier demo's state out of the way: it links records of a sandbox that lived only
    in that run's memory, so every one of them would be gone. Kept (not deleted) for a look."""
    if not state.exists():
        return None
    aside = state.with_name(state.name + ".previous")
    for suffix in ("", "-wal", "-shm"):
        old = Path(f"{state}{suffix}")
        if old.exists():
            old.replace(Path(f"{aside}{suffix}"))
        else:
            Path(f"{aside}{suffix}").unlink(missing_ok=True)  # no stale WAL beside the moved file
    return aside


def _step(result: DemoResult, title: str, bridge: Bridge, echo: Callable[[str], None]) -> RunSummary:
    """One sync of the demo: its title as it starts (the sync may take a while), its counts after."""
    echo(f"\n{title}")
    summary = bridge.sync().summary
    data = summary.to_dict()
    result.steps.append({"step": title, **data})
    echo(
        f"  created {data['created']}, updated {data['updated']}, transitioned {data['transitioned']}, "
        f"commented {data['commented']}, published {data['published']}, quarantined {data['quarantined']}, "
        f"conflicts {data['conflicts']}, failed {data['failed']}"
    )
    echo(f"  API calls: {counts(data['api_calls'])}")
    if summary.interrupted:  # the run stopped on a signal: so does the demo
        raise Interrupted(f"demo interrupted by {summary.interrupted} during: {title}")
    return summary


def _resolve_one_in_jira(sandbox: Sandbox, bridge: Bridge) -> dict[str, Any]:
    """Pick a linked incident still open on both sides and resolve its Jira issue."""
    links = bridge.links()
    snow = {link.key: link.id for link in links if link.platform == "servicenow"}
    for link in links:
        if link.platform != "jira" or link.key not in snow:
            continue
        issue = sandbox.jira.issue(link.display or link.id)
        status = issue["fields"]["status"]["name"]
        if status in ("Open", "Work in progress"):
            if status == "Open":
                sandbox.jira.transition_to(issue["key"], "Work in progress")
            sandbox.jira.transition_to(issue["key"], "Resolved", resolution="Done")
            return {"key": link.key, "jira": issue["key"], "servicenow_id": snow[link.key]}
    return {}


def _audit(result: DemoResult, bridge: Bridge, root: Path, echo: Callable[[str], None]) -> None:
    """Audit the platforms as they now stand and write the HTML report next to the state."""
    from itsm_bridge.errors import BridgeError
    from itsm_bridge.reports.render_html import render

    echo("\naudit: reading every platform and the state store")
    try:
        report = bridge.audit()
    except BridgeError as exc:
        result.problems.append(f"the audit failed: {exc}")
        return
    path = root / "audit.html"
    path.write_text(render(report), encoding="utf-8")
    result.report_path = path
    result.audit = report.to_dict()["summary"]
    echo(f"audit: {result.audit['findings']} finding(s)")
    for kind, n in result.audit["by_kind"].items():
        echo(f"  {kind}: {n}")
    echo(f"Audit report: {path}")
