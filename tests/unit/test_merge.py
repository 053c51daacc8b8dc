from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from itsm_bridge.sync.merge import merge

FIELDS = ["state", "priority", "title"]
OWNERS = {"priority": "servicenow", "state": "jira"}


def test_quiet_when_nothing_changed_and_echo_is_not_a_change():
    shadow = {"state": "new", "priority": "P2", "title": "Mail"}
    r = merge(shadow, {"servicenow": dict(shadow), "jira": dict(shadow)}, FIELDS, OWNERS, "servicenow")
    assert r.quiet and r.conflicts == []


def test_change_on_one_side_is_carried_to_the_others():
    shadow = {"state": "new", "priority": "P2", "title": "Mail"}
    r = merge(
        shadow, {"servicenow": dict(shadow), "jira": {**shadow, "state": "resolved"}}, FIELDS, OWNERS, "servicenow"
    )
    assert r.changes == {"servicenow": {"state": ("new", "resolved")}}
    assert r.merged["state"] == "resolved" and r.origin == {"state": "jira"}


def test_same_change_on_both_sides_is_no_change_and_no_conflict():
    shadow = {"state": "new", "priority": "P2", "title": "Mail"}
    both = {**shadow, "priority": "P1"}
    r = merge(shadow, {"servicenow": dict(both), "jira": dict(both)}, FIELDS, OWNERS, "servicenow")
    assert r.quiet and r.conflicts == [] and r.merged["priority"] == "P1"


def test_conflict_is_settled_by_the_owner():
    shadow = {"state": "new", "priority": "P2", "title": "Mail"}
    sides = {
        "servicenow": {**shadow, "state": "on_hold", "priority": "P1"},
        "jira": {**shadow, "state": "resolved", "priority": "P3"},
    }
    r = merge(shadow, sides, FIELDS, OWNERS, "servicenow")
    won = {c.field: (c.winner, c.rule) for c in r.conflicts}
    assert won == {"state": ("jira", "owner"), "priority": ("servicenow", "owner")}
    assert r.changes == {"servicenow": {"state": ("on_hold", "resolved")}, "jira": {"priority": ("P3", "P1")}}


def test_conflict_on_unowned_field_goes_to_the_source():
    shadow = {"title": "Mail"}
    r = merge(shadow, {"servicenow": {"title": "A"}, "jira": {"title": "B"}}, ["title"], OWNERS, "servicenow")
    assert r.conflicts[0].winner == "servicenow" and r.conflicts[0].rule == "source"


def test_platform_that_does_not_carry_a_field_is_left_alone():
    shadow = {"state": "new", "title": "Mail"}
    r = merge(
        shadow,
        {"servicenow": {"state": "resolved", "title": "Mail"}, "statuspage": {"title": "Mail"}},
        ["state", "title"],
        OWNERS,
        "servicenow",
    )
    assert r.quiet and r.merged["state"] == "resolved"


values = st.sampled_from(["a", "b", "c"])
side = st.fixed_dictionaries({"f": values})


@given(values, side, side, side)
def test_merge_converges_and_a_second_merge_is_quiet(base, a, b, c):
    sides = {"servicenow": a, "jira": b, "statuspage": c}
    r = merge({"f": base}, sides, ["f"], {"f": "jira"}, "servicenow")
    applied = {p: {**v, **{k: new for k, (_, new) in r.changes.get(p, {}).items()}} for p, v in sides.items()}
    assert len({v["f"] for v in applied.values()}) == 1  # every side agrees after applying
    again = merge(r.merged, applied, ["f"], {"f": "jira"}, "servicenow")
    assert again.quiet and again.conflicts == []  # no echo: the next cycle writes nothing


def test_a_lossy_platform_is_neither_a_change_nor_rewritten_each_cycle():
    # Jira cannot hold the subcategory: it shows None where the canonical value is "Email".
    shadow = {"subcategory": "Email", "title": "Mail"}
    sides = {"servicenow": {"subcategory": "Email", "title": "Mail"}, "jira": {"subcategory": None, "title": "Mail"}}
    r = merge(
        shadow, sides, ["subcategory", "title"], OWNERS, "servicenow", side_shadows={"jira": {"subcategory": None}}
    )
    assert r.quiet and r.merged["subcategory"] == "Email"


def test_a_real_edit_on_a_lossy_platform_still_counts():
    shadow = {"subcategory": "Email"}
    sides = {"servicenow": {"subcategory": "Email"}, "jira": {"subcategory": "VPN"}}
    r = merge(shadow, sides, ["subcategory"], OWNERS, "servicenow", side_shadows={"jira": {"subcategory": None}})
    assert r.changes == {"servicenow": {"subcategory": ("Email", "VPN")}}


def test_a_canonical_change_is_still_sent_to_a_lossy_platform():
    shadow = {"subcategory": "Email"}
    sides = {"servicenow": {"subcategory": "VPN"}, "jira": {"subcategory": None}}
    r = merge(shadow, sides, ["subcategory"], OWNERS, "servicenow", side_shadows={"jira": {"subcategory": None}})
    assert r.changes == {"jira": {"subcategory": (None, "VPN")}}


def test_a_field_a_platform_newly_carries_is_taken_from_the_side_that_carried_it_before():
    # after an upgrade Jira carries the group: its empty value is no change, the source's is carried to it
    shadow = {"assignment_group": "Network", "assignee": "Ana Lima"}
    known = {"servicenow": {"assignment_group": "Network"}, "jira": {"title": "Mail"}}
    sides = {
        "servicenow": {"assignment_group": "Network", "assignee": "ana.lima@example.com"},
        "jira": {"assignment_group": None, "assignee": None},
    }
    r = merge(shadow, sides, ["assignment_group", "assignee"], {}, "servicenow", known)
    assert r.conflicts == [] and "servicenow" not in r.changes
    assert r.changes["jira"] == {
        "assignment_group": (None, "Network"),
        "assignee": (None, "ana.lima@example.com"),  # no side carried it before: the source's value stands
    }
    assert r.merged["assignment_group"] == "Network" and r.merged["assignee"] == "ana.lima@example.com"
