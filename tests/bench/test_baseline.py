"""The hand-written baseline (bench/baseline/admin_sync.py) does the sync it stands for.

Slow ones: building its venv (pysnow, python-jira) needs the package index the first time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.baseline.runner import run_baseline, shape, shapes
from bench.baseline.venv import ensure_venv
from itsm_bridge.sandbox.app import Sandbox
from itsm_bridge.sandbox.jira.store import adf_text

N = 20
STATUS = {"1": "Open", "2": "Work in progress", "3": "Pending", "6": "Resolved", "7": "Closed", "8": "Canceled"}
PRIORITY = {"1": "Highest", "2": "High", "3": "Medium", "4": "Low", "5": "Lowest"}


@pytest.fixture(scope="module")
def python() -> Path:
    return ensure_venv()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=4) as sb:
        sb.seed(N)
        yield sb


def by_label(sb: Sandbox) -> dict[str, list[dict[str, Any]]]:
    issues: dict[str, list[dict[str, Any]]] = {}
    for issue in sb.jira.issues():
        for label in issue["fields"]["labels"]:
            issues.setdefault(label, []).append(issue)
    return issues


def jira_state(sb: Sandbox) -> dict[str, tuple[str, int]]:
    """Issue key -> (status, number of comments)."""
    return {i["key"]: (i["fields"]["status"]["name"], len(sb.jira.comments(i["key"]))) for i in sb.jira.issues()}


@pytest.mark.slow
def test_first_run_creates_one_issue_per_incident_with_label_notes_and_status(sandbox: Sandbox, python: Path) -> None:
    linked_before = set(by_label(sandbox))  # the seed links a few incidents to Jira already
    result = run_baseline(sandbox, python=python)

    incidents = sandbox.servicenow.incidents()
    assert result["incidents"] == N
    assert result["created"] == N - len(linked_before) and result["updated"] == len(linked_before)
    issues = by_label(sandbox)
    assert len(sandbox.jira.issues()) == N
    for inc in incidents:
        found = issues.get(f"itsm-bridge-{inc['number']}", [])
        assert len(found) == 1, inc["number"]
        fields = found[0]["fields"]
        assert fields["summary"] == inc["short_description"]
        assert fields["priority"]["name"] == PRIORITY[inc["priority"]]
        assert fields["status"]["name"] == STATUS[inc["state"]], inc["number"]
        if inc["state"] in ("6", "7"):
            assert fields["resolution"] is not None
        comments = sandbox.jira.comments(found[0]["key"])
        got = Counter((adf_text(c["body"]), not c["jsdPublic"]) for c in comments)
        want = Counter(
            (n["value"], n["element"] == "work_notes")
            for n in sandbox.servicenow.journal(inc["sys_id"])
            if n["element"] in ("work_notes", "comments")
        )
        assert got == want, inc["number"]
    assert result["comments"] == sum(len(sandbox.jira.comments(i["key"])) for i in sandbox.jira.issues())


@pytest.mark.slow
def test_second_run_updates_every_issue_and_creates_nothing(sandbox: Sandbox, python: Path) -> None:
    run_baseline(sandbox, python=python)
    before = jira_state(sandbox)
    sandbox.jira.reindex()  # later, once Jira's search index has caught up
    sandbox.clear_calls()

    result = run_baseline(sandbox, python=python)

    assert result | {"seconds": 0} == {
        "incidents": N,
        "created": 0,
        "updated": N,
        "comments": 0,
        "transitions": 0,
        "seconds": 0,
    }
    assert jira_state(sandbox) == before
    counted = shapes(sandbox.calls())
    assert counted[("jira", "PUT", "/rest/api/3/issue/{id}")] == N
    assert counted[("jira", "POST", "/rest/api/3/issue")] == 0


@pytest.mark.slow
def test_limit_takes_the_first_incidents_by_number(sandbox: Sandbox, python: Path) -> None:
    result = run_baseline(sandbox, limit=5, python=python)

    first = sorted(i["number"] for i in sandbox.servicenow.incidents())[:5]
    assert result["incidents"] == 5
    assert all(f"itsm-bridge-{number}" in by_label(sandbox) for number in first)
    assert len(sandbox.jira.issues()) == result["created"] + len(sandbox.manifest["priority_off_matrix"]) + len(
        sandbox.manifest["status_disagree"]
    )


@pytest.mark.slow
def test_servicenow_429s_are_waited_out_not_fatal(sandbox: Sandbox, python: Path) -> None:
    sandbox.servicenow.rate_limit = (5, 1.0)

    result = run_baseline(sandbox, python=python)

    assert result["incidents"] == N and len(sandbox.jira.issues()) == N
    assert any(c.status == 429 for c in sandbox.calls("servicenow"))


@pytest.mark.slow
def test_ensure_venv_is_idempotent(python: Path) -> None:
    stamp = python.parents[1] / ".requirements.sha256"
    built = stamp.stat().st_mtime_ns
    assert ensure_venv() == python
    assert stamp.stat().st_mtime_ns == built


@pytest.mark.slow
def test_ensure_venv_rebuilds_when_the_requirements_change(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# nothing\n")
    python = ensure_venv(tmp_path / "venv", requirements)
    marker = python.parents[1] / "left-by-the-first-build"
    marker.touch()
    assert ensure_venv(tmp_path / "venv", requirements) == python and marker.exists()

    requirements.write_text("# nothing, changed\n")
    assert ensure_venv(tmp_path / "venv", requirements) == python
    assert not marker.exists() and python.exists()


def test_path_shapes_hide_ids_but_not_the_api_version() -> None:
    assert shape("/rest/api/3/issue/OPS-12/transitions") == "/rest/api/3/issue/{id}/transitions"
    assert shape("/rest/api/3/issue/10023") == "/rest/api/3/issue/{id}"
    assert shape("/api/now/table/incident/" + "a" * 32) == "/api/now/table/incident/{id}"
