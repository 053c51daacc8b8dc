"""Checks and metrics on hand-built views: thresholds from [audit], what is and is not a finding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from itsm_bridge import config as config_module
from itsm_bridge.config_schema import duration_minutes
from itsm_bridge.errors import ConfigError
from itsm_bridge.model import Incident, Level, Priority, PublicStatus, RemoteRef, State
from itsm_bridge.reports import metrics
from itsm_bridge.reports.collect import Copy, Snapshot, View
from itsm_bridge.reports.findings import AuditFinding, reaches
from itsm_bridge.reports.report import build

EXAMPLE = config_module.Path(__file__).resolve().parents[2] / "config.example.toml"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def cfg(extra: str = ""):
    return config_module.parse(EXAMPLE.read_text() + extra)


def copy(platform: str, key: str = "INC1", **fields) -> Copy:
    base = dict(
        title="Mail down",
        impact=Level.HIGH,
        urgency=Level.MEDIUM,
        priority=Priority.P2,
        category="Software",
        service="Email",
        opened=NOW - timedelta(hours=5),
        assignment_group="Messaging",
    )
    page_impact = fields.pop("page_impact", None)
    inc = Incident(key=key, **{**base, **fields})
    return Copy(
        platform, RemoteRef(platform, f"{platform}-{key}", f"{platform}-{key}"), inc, (), inc.updated, page_impact
    )


def snap(*copies: Copy) -> Snapshot:
    view = View(copies[0].incident.key)
    for c in copies:
        view.copies.setdefault(c.platform, []).append(c)
    return Snapshot("servicenow", ["jira", "statuspage"], {view.key: view})


def kinds(report) -> list[tuple[str, str]]:
    return [(f.kind, f.platform) for f in report.findings]


def resolved_snow(minutes_ago: int) -> Copy:
    at = NOW - timedelta(minutes=minutes_ago)
    return copy(
        "servicenow", state=State.RESOLVED, resolved=at, resolution_code="Solved Permanently", resolution_notes="fixed"
    )


def page(status: PublicStatus = PublicStatus.INVESTIGATING, impact: str = "major") -> Copy:
    state = State.RESOLVED if status is PublicStatus.RESOLVED else State.NEW
    return copy("statuspage", state=state, public_status=status, category=None, page_impact=impact)


def test_page_open_longer_than_page_stale_minutes_after_resolve_is_stale():
    assert kinds(build(snap(resolved_snow(45), page()), cfg(), NOW)) == [("page_stale", "statuspage")]


def test_page_within_the_grace_period_is_not_stale_and_the_threshold_is_configurable():
    assert kinds(build(snap(resolved_snow(20), page()), cfg(), NOW)) == []
    strict = cfg().settings.model_copy(
        update={"audit": cfg().settings.audit.model_copy(update={"page_stale_minutes": 10})}
    )
    assert kinds(build(snap(resolved_snow(20), page()), config_module.Config(strict), NOW)) == [
        ("page_stale", "statuspage")
    ]


def test_page_impact_against_priority():
    report = build(snap(copy("servicenow", state=State.IN_PROGRESS), page(impact="minor")), cfg(), NOW)
    assert [(f.kind, f.value, f.expected) for f in report.findings] == [("page_impact_mismatch", "minor", "major")]


def test_a_value_a_platform_does_not_state_is_no_mismatch_but_a_different_one_is():
    quiet = build(
        snap(copy("servicenow"), copy("jira", category=None, service=None, impact=Level.MEDIUM, urgency=Level.HIGH)),
        cfg(),
        NOW,
    )
    assert [k for k in kinds(quiet) if k[0].endswith("_mismatch")] == []  # (the example's Jira rules still want them)
    loud = build(snap(copy("servicenow"), copy("jira", category="Network", service="VPN")), cfg(), NOW)
    assert sorted(kinds(loud)) == [("category_mismatch", "jira"), ("service_mismatch", "jira")]


def test_servicenow_off_its_own_matrix_is_named_not_jira_matching_the_matrix():
    report = build(snap(copy("servicenow", priority=Priority.P4), copy("jira")), cfg(), NOW)
    assert [(f.kind, f.platform, f.value, f.expected) for f in report.findings] == [
        ("priority_off_matrix", "servicenow", "P4", "P2")
    ]


def test_each_platform_is_checked_and_counted_on_its_linked_copy_when_it_has_duplicates():
    source, linked = copy("servicenow"), copy("jira", category="Network", state=State.RESOLVED)
    stray = copy("jira", category=None)  # read first: the one kept, were none linked
    stray = Copy("jira", RemoteRef("jira", "jira-stray", "OPS-9"), stray.incident)
    view = View("INC1", {"servicenow": [source], "jira": [stray, linked]}, {"jira": linked.ref})
    report = build(Snapshot("servicenow", ["jira", "statuspage"], {"INC1": view}), cfg(), NOW)
    assert report.categories["jira"] == {"Network": 1}
    rows = {(r["platform"], r["step"]): (r["checked"], r["incomplete"]) for r in report.completeness}
    assert rows[("jira", "create")] == (1, 0) and rows[("jira", "resolve")] == (1, 1)  # the linked copy's state
    assert ("duplicate", "jira", "OPS-9") in {(f.kind, f.platform, f.ref) for f in report.findings}
    missing = {(f.field, f.ref) for f in report.findings if f.kind == "required_missing"}
    assert missing == {("resolution_code", "jira-INC1")}  # not the stray's missing category


def test_blank_required_fields_and_major_only_rules_are_found_per_copy_and_tallied_once_per_copy():
    major_rule = '\n[[rules.required]]\nstep = "create"\nfields = ["communication_owner"]\nmajor_only = true\n'
    blank = resolved_snow(60)
    blank = Copy("servicenow", blank.ref, blank.incident.replace(resolution_notes="  "))  # its only gap
    views = {}
    for key, snow in (("INC1", blank), ("INC2", resolved_snow(60)), ("INC3", copy("servicenow", major=True))):
        snow = Copy("servicenow", RemoteRef("servicenow", key, key), snow.incident.replace(key=key))
        views[key] = View(key, {"servicenow": [snow]})
    report = build(Snapshot("servicenow", ["jira", "statuspage"], views), cfg(major_rule), NOW)
    assert sorted((f.key, f.field, f.expected) for f in report.findings if f.kind == "required_missing") == [
        ("INC1", "resolution_notes", "resolve"),
        ("INC3", "communication_owner", "create"),
    ]
    rows = {r["step"]: (r["checked"], r["incomplete"]) for r in report.completeness if r["platform"] == "servicenow"}
    assert rows == {"create": (3, 1), "resolve": (2, 1)}


def test_required_fields_are_checked_per_platform_on_fields_it_holds_and_tallied_per_group():
    # the example config requires category and service to create on Jira; resolution_code to resolve there (warn)
    report = build(snap(copy("servicenow"), copy("jira", category=None, state=State.RESOLVED)), cfg(), NOW)
    assert sorted((f.kind, f.platform, f.field, f.severity) for f in report.findings) == [
        ("required_missing", "jira", "category", "block"),
        ("required_missing", "jira", "resolution_code", "warn"),
        ("status_disagree", "jira", "state", "warn"),
    ]
    rows = {
        (r["platform"], r["assignment_group"], r["step"]): (r["checked"], r["incomplete"]) for r in report.completeness
    }
    assert rows == {
        ("servicenow", "Messaging", "create"): (1, 0),
        ("jira", "Messaging", "create"): (1, 1),
        ("jira", "Messaging", "resolve"): (1, 1),
    }


def test_fail_on_thresholds():
    warn = AuditFinding("page_stale", "warn", "K", "statuspage")
    block = AuditFinding("duplicate", "block", "K", "jira")
    assert reaches([warn], "warn") and not reaches([warn], "block") and reaches([warn, block], "block")
    assert not reaches([], "warn")
    with pytest.raises(ValueError):
        AuditFinding("nonsense", "warn", "K", "jira")


def test_metrics_mttr_sla_recurrence_and_weekly_volume():
    def inc(key, hours, service="Email", days_ago=3.0, priority="P1"):
        opened = NOW - timedelta(days=days_ago)
        return Incident(
            key=key,
            title="t",
            state=State.RESOLVED,
            priority=priority,
            category="Software",
            service=service,
            opened=opened,
            resolved=opened + timedelta(hours=hours),
        )

    incidents = [
        inc("A", 2, days_ago=10),
        inc("B", 6, days_ago=8),
        inc("C", 1, service="VPN"),
        Incident(key="D", title="open", priority="P1", opened=NOW - timedelta(hours=9)),
    ]
    m = metrics.compute(incidents, {"P1": 240}, 7, NOW)
    assert m["mttr"]["by_priority"]["P1"] == {"count": 3, "mean_minutes": 180.0, "median_minutes": 120.0}
    assert m["sla"] == [
        {"priority": "P1", "target_minutes": 240, "met": 2, "breached": 1, "open_breached": 1, "compliance_pct": 50.0}
    ]
    assert m["recurrence"]["recurrences"] == 1 and m["recurrence"]["groups"][0]["keys"] == ["B"]
    assert sum(w["opened"] for w in m["weekly_volume"]) == 4 and m["mtta"]["without_ack"] == 1


def test_audit_config_durations_and_unknown_keys():
    assert [duration_minutes(v) for v in (90, "30m", "4h", "2d")] == [90, 30, 240, 2880]
    assert cfg().settings.audit.sla.minutes() == {"P1": 240, "P2": 480, "P3": 4320, "P4": 7200, "P5": 14400}
    for bad, path in (
        ("[audit]\npage_stale_mins = 5", "audit.page_stale_mins"),
        ('[audit.sla]\nP1 = "soon"', "audit.sla.P1"),
    ):
        text = EXAMPLE.read_text().split("[audit]")[0] + bad + "\n"
        with pytest.raises(ConfigError) as err:
            config_module.parse(text)
        assert path in str(err.value)


def test_findings_that_tie_on_record_and_field_come_out_in_one_order_whatever_order_they_came_in():
    from dataclasses import fields
    from itertools import permutations

    from itsm_bridge.reports.findings import FIELDS, AuditFinding, in_order

    def missing(step: str, severity: str = "block") -> AuditFinding:
        return AuditFinding("required_missing", severity, "K-1", "jira", "resolution_code", ref="OPS-1", message=step)  # type: ignore[arg-type]

    tied = [missing("missing at close"), missing("missing at resolve"), missing("missing at resolve", "warn")]
    orders = {tuple(in_order(list(p) + [tied[0]])) for p in permutations(tied)}
    assert len(orders) == 1 and len(next(iter(orders))) == 3
    assert set(FIELDS) == {f.name for f in fields(AuditFinding)}  # the sort key takes every field from FIELDS
