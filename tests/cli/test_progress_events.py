"""What the engine reports to `itsm_bridge.progress` during a real sync over the sandbox (in this
process, through the public API), and how the terminal renderer keeps stdout out of its display."""

from __future__ import annotations

import io
import threading
from collections import Counter

from rich.console import Console

from itsm_bridge import Bridge, progress
from itsm_bridge.progress_view import TerminalProgress
from tests.cli.conftest import bridge, sandbox  # noqa: F401  (fixtures)


class Recorder(progress.Observer):
    """Every event, as (kind, line key, number)."""

    showing = True

    def __init__(self) -> None:
        self.events: list[tuple[str, str, int | None]] = []
        self._lock = threading.Lock()

    def _add(self, kind: str, key: str, n: int | None) -> None:
        with self._lock:
            self.events.append((kind, key, n))

    def line(self, key: str, label: str, unit: str = "", total: int | None = None) -> None:
        self._add("line", key, total)

    def grow(self, key: str, n: int) -> None:
        self._add("grow", key, n)

    def total(self, key: str, total: int) -> None:
        self._add("total", key, total)

    def advance(self, key: str, n: int = 1) -> None:
        self._add("advance", key, n)

    def done(self, key: str) -> None:
        self._add("done", key, None)

    def sum(self, kind: str) -> Counter[str]:
        counted: Counter[str] = Counter()
        for k, key, n in self.events:
            if k == kind:
                counted[key] += n or 0
        return counted


def test_a_sync_reports_each_read_with_the_vendors_total_and_each_write_on_its_line(bridge):
    recorder = Recorder()
    bridge.sandbox.seed(12)  # two of them already on Jira
    with progress.observing(recorder):
        result = Bridge(bridge.config_path).sync()
    asked = sum(1 for c in bridge.sandbox.calls("jira") if c.path.endswith("/search/approximate-count"))
    summary = result.summary
    totals = {key: n for kind, key, n in recorder.events if kind == "total"}
    advanced = recorder.sum("advance")
    assert totals["read:servicenow"] == advanced["read:servicenow"] == summary.read["servicenow"] == 12
    assert totals["read:jira"] == advanced["read:jira"] == summary.read["jira"] == 2 and asked == 1
    grown = recorder.sum("grow")
    assert grown["publish:statuspage"] == advanced["publish:statuspage"] == summary.published > 0
    writes = summary.created + summary.updated + summary.transitioned + summary.commented
    lines = [key for key in grown if key.startswith("write:")]
    assert "write:jira" in lines and all(grown[key] == advanced[key] for key in lines)
    assert sum(grown[key] for key in lines) == writes > 0  # each write attempted once, none failed
    assert summary.failed == 0
    assert ("done", "read:servicenow", None) in recorder.events


def test_nothing_is_reported_and_no_count_is_asked_when_nobody_shows_progress(bridge):
    bridge.sandbox.seed(12)
    assert Bridge(bridge.config_path).sync().summary.read["jira"] == 2
    assert not any(c.path.endswith("/search/approximate-count") for c in bridge.sandbox.calls("jira"))
    assert progress.current().showing is False


def test_pausing_the_display_leaves_its_last_state_and_the_next_event_starts_a_new_one():
    screen = io.StringIO()
    shown = TerminalProgress(Console(file=screen, force_terminal=True, width=100))
    with progress.observing(shown):
        for _ in progress.reading("servicenow", range(3)):
            pass
        shown.pause()
        after_pause = screen.getvalue()
        progress.planned([("publish", "statuspage")])
        shown.pause()
    assert "reading servicenow" in after_pause and "3 · " in after_pause
    assert "publishing statuspage" not in after_pause  # drawn only once the display started again
    assert "publishing statuspage" in screen.getvalue()[len(after_pause) :]
    assert "reading servicenow" not in screen.getvalue()[len(after_pause) :]  # the paused lines are not drawn twice


def test_doctor_reports_a_line_per_platform_and_counts_the_links_it_checks(bridge):
    bridge.sandbox.seed(3)
    api = Bridge(bridge.config_path)
    assert api.sync().ok
    links = Counter(link.platform for link in api.links())
    recorder = Recorder()
    with progress.observing(recorder):
        assert api.doctor().ok
    lines = {key for kind, key, _ in recorder.events if kind == "line"}
    assert {"check:servicenow", "check:jira", "check:statuspage"} <= lines
    totals = {key: n for kind, key, n in recorder.events if kind == "line" and key.startswith("links:")}
    assert totals == {f"links:{p}": n for p, n in links.items()}
    assert recorder.sum("advance")["links:jira"] == links["jira"]  # Jira's read in bulk, counted per link
