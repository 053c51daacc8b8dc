from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from itsm_bridge.config_schema import default_states
from itsm_bridge.mapping.fields import StateMap
from itsm_bridge.mapping.rules import VENDOR_RULES, RequiredRule, check, check_steps, steps_for
from itsm_bridge.model import Incident, State


def test_servicenow_resolve_needs_close_code_and_notes_all_reported():
    inc = Incident(key="K", title="t", state=State.RESOLVED)
    findings = check(inc, "resolve", "servicenow")
    assert [f.field for f in findings] == ["resolution_code", "resolution_notes"]
    assert all(f.blocking for f in findings)
    assert "close_code" in findings[0].message and "close_notes" in findings[1].message


def test_filled_fields_pass():
    inc = Incident(key="K", title="t", state=State.RESOLVED, resolution_code="Solved", resolution_notes="fixed")
    assert check(inc, "resolve", "servicenow") == []


def test_administrator_rules_apply_per_platform_and_severity():
    rules = VENDOR_RULES + (RequiredRule("create", ("category", "service"), ("jira",), "warn"),)
    inc = Incident(key="K", title="t")
    jira = check(inc, "create", "jira", rules)
    assert [(f.field, f.severity) for f in jira] == [("category", "warn"), ("service", "warn")]
    assert check(inc, "create", "servicenow", rules) == []


def test_whitespace_only_counts_as_empty():
    inc = Incident(key="K", title="   ")
    assert [f.field for f in check(inc, "create", "jira")] == ["title"]


def test_steps_follow_the_lifecycle():
    closed = Incident(key="K", title="t", state=State.CLOSED)
    assert steps_for(closed, creating=True) == ["create", "resolve", "close"]
    assert steps_for(closed.replace(state=State.IN_PROGRESS), creating=False) == []
    assert len(check_steps(closed, "servicenow", creating=False)) == 2  # resolve; close repeats no field


@given(st.sampled_from(["servicenow", "jira"]), st.sampled_from(list(State)))
def test_state_maps_round_trip(platform, state):
    m = StateMap.from_names(platform, default_states(platform))
    assert m.from_vendor(m.to_vendor(state)) is state
