from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itsm_bridge.mapping.priority import CELL_KEYS, DEFAULT_CELLS, PriorityMatrix, matrix_problems
from itsm_bridge.model import Incident, Level, Priority

levels = st.sampled_from(list(Level))


def test_default_matrix_is_servicenows_default_lookup():
    m = PriorityMatrix()
    assert m.rows() == [["P1", "P2", "P3"], ["P2", "P3", "P4"], ["P3", "P4", "P5"]]


@given(levels, levels, st.dictionaries(st.sampled_from(CELL_KEYS), st.sampled_from([p.value for p in Priority])))
def test_matrix_is_total_for_any_complete_override(impact, urgency, overrides):
    m = PriorityMatrix({**DEFAULT_CELLS, **overrides})
    assert isinstance(m.priority(impact, urgency), Priority)


@given(levels, levels)
def test_priority_never_rises_when_impact_or_urgency_drops(impact, urgency):
    m = PriorityMatrix()
    p = m.priority(impact, urgency).rank
    if impact < 3:
        assert m.priority(impact + 1, urgency).rank >= p
    if urgency < 3:
        assert m.priority(impact, urgency + 1).rank >= p


def test_missing_cell_is_named():
    cells = dict(DEFAULT_CELLS)
    del cells["2x3"]
    assert matrix_problems(cells) == [("2x3", "cell missing: impact 2 x urgency 3 needs a priority P1-P5")]
    with pytest.raises(ValueError, match="2x3"):
        PriorityMatrix(cells)


def test_invalid_priority_value_is_named():
    problems = matrix_problems({**DEFAULT_CELLS, "1x1": "P0"})
    assert problems == [("1x1", "priority must be one of P1, P2, P3, P4, P5, got 'P0'")]


def test_conformance_flags_priority_off_the_matrix():
    m = PriorityMatrix()
    ok = Incident(key="K", title="t", impact=1, urgency=1, priority="P1")
    off = ok.replace(priority=Priority.P4)
    assert m.conformance(ok) is None
    finding = m.conformance(off, "jira")
    assert finding is not None and finding.rule_id == "priority.off_matrix" and finding.platform == "jira"
    assert "gives P1" in finding.message and finding.severity == "warn"
