"""The audit's communication figures on hand-built timelines: time to first public post, the longest
gap between public updates against [communication.cadence] (`cadence_breach`)."""

from __future__ import annotations

from datetime import timedelta

from itsm_bridge import config as config_module
from itsm_bridge.model import Level, Priority, RemoteRef, State
from itsm_bridge.reports.collect import Copy
from itsm_bridge.reports.report import build
from tests.reports.test_checks import EXAMPLE, NOW, copy, snap

CADENCE = 'P1 = "30m"\nP2 = "1h"\n'


def cfg(cadence: str = CADENCE):
    """The example config with `cadence` as its [communication.cadence] table."""
    text = EXAMPLE.read_text()
    start = text.index("[communication.cadence]")
    end = text.index("\n\n", start)
    return config_module.parse(text[:start] + "[communication.cadence]\n" + cadence + text[end:])


def at(minutes: int):
    return NOW + timedelta(minutes=minutes)


def p1(**fields) -> Copy:
    return copy("servicenow", impact=Level.HIGH, urgency=Level.HIGH, priority=Priority.P1, opened=at(-300), **fields)


def page(*posted: int, **fields) -> Copy:
    base = copy("statuspage", **fields)
    return Copy(
        "statuspage",
        RemoteRef("statuspage", "pg1", "pg1"),
        base.incident,
        public_updates=tuple(at(m) for m in posted),
    )


def communication(report) -> dict:
    return report.to_dict()["metrics"]["communication"]


def test_a_gap_longer_than_the_cadence_while_open_is_a_cadence_breach_with_the_gap_and_the_cadence() -> None:
    # opened 5 h ago; posts 12 min later, then after 25, 75 (the breach) and 20 minutes; resolved
    # 10 min after the last post, then the resolve post.
    resolved = p1(state=State.RESOLVED, resolved=at(-158), resolution_code="Solved Permanently", resolution_notes="x")
    report = build(snap(resolved, page(-288, -263, -188, -168, -157)), cfg(), NOW)
    (finding,) = [f for f in report.findings if f.kind == "cadence_breach"]
    assert (finding.key, finding.platform, finding.value, finding.expected, finding.ref) == (
        "INC1",
        "statuspage",
        "75",
        "30",
        "pg1",
    )
    assert "75 min without a public update" in finding.message and "(P1)" in finding.message
    (row,) = communication(report)["incidents"]
    assert row == {
        "key": "INC1",
        "priority": "P1",
        "major": False,
        "first_post_minutes": 12.0,
        "longest_gap_minutes": 75.0,
        "cadence_minutes": 30,
        "breached": True,
    }
    assert communication(report)["first_post"] == {"count": 1, "mean_minutes": 12.0, "median_minutes": 12.0}


def test_updates_within_the_cadence_are_no_finding_and_the_time_after_the_resolve_does_not_count() -> None:
    resolved = p1(state=State.RESOLVED, resolved=at(-205), resolution_code="Solved Permanently", resolution_notes="x")
    report = build(snap(resolved, page(-290, -262, -235, -210, -204)), cfg(), NOW)
    assert [f for f in report.findings if f.kind == "cadence_breach"] == []
    assert communication(report)["incidents"][0]["longest_gap_minutes"] == 28.0


def test_an_open_incident_silent_since_its_last_post_is_measured_to_now() -> None:
    report = build(snap(p1(state=State.IN_PROGRESS), page(-290, -270, -240)), cfg(), NOW)
    (finding,) = [f for f in report.findings if f.kind == "cadence_breach"]
    assert finding.value == "240"


def test_a_major_incident_is_held_to_the_major_cadence_when_it_is_shorter() -> None:
    major_p2 = copy("servicenow", major=True, opened=at(-300))  # P2: an hour; major: 15 minutes
    report = build(snap(major_p2, page(-290, -270, -245)), cfg('major = 15\nP2 = "1h"\n'), NOW)
    (finding,) = [f for f in report.findings if f.kind == "cadence_breach"]
    assert finding.expected == "15" and "(major incident)" in finding.message


def test_without_a_cadence_or_a_listed_timeline_there_is_no_breach() -> None:
    p3 = copy("servicenow", impact=Level.MEDIUM, urgency=Level.MEDIUM, priority=Priority.P3, opened=at(-300))
    report = build(snap(p3, page(-290, -10)), cfg(), NOW)
    assert [f for f in report.findings if f.kind == "cadence_breach"] == []
    assert communication(report)["incidents"][0]["cadence_minutes"] is None
    unlisted = Copy("statuspage", RemoteRef("statuspage", "c1", "c1"), copy("statuspage").incident)  # Cachet
    report = build(snap(p1(), unlisted), cfg(), NOW)
    assert communication(report) == {
        "published": 0,
        "breaches": 0,
        "first_post": {"count": 0, "mean_minutes": None, "median_minutes": None},
        "incidents": [],
    }
