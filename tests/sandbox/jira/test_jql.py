"""The sandbox's JQL subset: parsing, evaluation against records, ordering, and Jira's error wording."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from itsm_bridge.sandbox.jira import jql

NOW = datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC)


def record(key: str, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "key": key,
        "id": int(key.split("-")[1]) + 10000,
        "project": "OPS",
        "status": "Open",
        "labels": (),
        "updated": NOW,
        "properties": {},
    }
    return {**base, **fields}


def matches(text: str, rec: dict[str, object]) -> bool:
    return jql.parse(text, now=NOW).matches(rec)


def test_and_binds_tighter_than_or_and_parentheses_override() -> None:
    rec = record("OPS-1", status="Pending", labels=("db",))
    assert matches("status = Open AND labels = x OR labels = db", rec)
    assert not matches("status = Open AND (labels = x OR labels = db)", rec)
    assert matches("NOT status = Open", rec)


def test_in_and_not_in_lists_with_keys_and_quoted_values() -> None:
    rec = record("OPS-2", status="Work in progress")
    assert matches("key in (OPS-1, OPS-2)", rec)
    assert matches('status in ("Work in progress", Pending)', rec)
    assert matches("key not in (OPS-1)", rec)
    assert not matches("key = OPS-20", rec)


def test_status_compares_case_insensitively_but_labels_exactly() -> None:
    rec = record("OPS-1", labels=("Prod",))
    assert matches('status = "open"', rec)
    assert matches('labels = "Prod"', rec) and not matches('labels = "prod"', rec)


def test_quoted_strings_take_backslash_escapes() -> None:
    rec = record("OPS-1", summary='say "hi" \\ bye')
    assert matches(r'summary ~ "say \"hi\" \\ bye"', rec)
    assert matches("summary ~ 'say \"hi\"'", rec)


def test_date_bounds_truncate_to_the_minute_in_every_format() -> None:
    rec = record("OPS-1", updated=datetime(2024, 1, 1, 12, 34, 59, tzinfo=UTC))
    for bound in ('"2024/01/01 12:34"', '"2024-01-01 12:34"'):
        assert matches(f"updated >= {bound}", rec)
        assert matches(f"updated > {bound}", rec)
        assert not matches(f"updated <= {bound}", rec)
    assert matches('updated >= "2024/01/01"', rec) and matches('updated < "2024-01-02"', rec)


def test_relative_dates_count_back_from_now() -> None:
    assert matches("updated >= -5m", record("OPS-1", updated=datetime(2024, 5, 1, 11, 56, tzinfo=UTC)))
    assert not matches("updated >= -5m", record("OPS-1", updated=datetime(2024, 5, 1, 11, 54, tzinfo=UTC)))


def test_is_empty_and_entity_property_paths() -> None:
    rec = record("OPS-1", resolution=None, properties={"sync": {"ref": {"id": "INC0001"}}})
    assert matches("resolution is EMPTY", rec) and not matches("resolution is not empty", rec)
    assert matches('issue.property[sync].ref.id = "INC0001"', rec)
    assert not matches('issue.property[other].ref = "INC0001"', rec)


def test_order_by_sorts_keys_numerically_and_breaks_ties_by_id() -> None:
    records = [record(f"OPS-{n}", updated=datetime(2024, 1, 1, tzinfo=UTC)) for n in (10, 2, 1)]
    query = jql.parse("project = OPS ORDER BY key ASC")
    assert [r["key"] for r in jql.order_records(records, query.order, ())] == ["OPS-1", "OPS-2", "OPS-10"]
    by_updated = jql.parse("project = OPS ORDER BY updated DESC")
    assert [r["key"] for r in jql.order_records(records, by_updated.order, ())] == ["OPS-1", "OPS-2", "OPS-10"]
    assert by_updated.order == (("updated", True),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('project = "OPS', 'The quoted string "OPS has not been completed. (line 1, character 11)'),
        ("project OPS", "Expecting operator but got 'OPS'."),
        ("foo = 1", "Field 'foo' does not exist or you do not have permission to view it."),
        ("key in (OPS-1, OPS-2", "Expecting more input at the end of the query."),
        ("status = a b", "Expecting either 'OR' or 'AND' but got 'b'."),
        ("project = OPS ORDER BY colour", "Not able to sort using field 'colour'."),
        ('updated > "yesterday"', "Date value 'yesterday' for field 'updated' is invalid."),
        ("(project = OPS", "Expecting more input at the end of the query."),
    ],
)
def test_malformed_queries_raise_with_jira_wording(text: str, message: str) -> None:
    with pytest.raises(jql.JQLError) as raised:
        jql.parse(text, now=NOW)
    assert str(raised.value).startswith(message)


def test_clauses_expose_literal_values_for_existence_checks() -> None:
    query = jql.parse('project = OPS AND status in (Open, "Pending")')
    assert query.clauses == (("project", ("OPS",)), ("status", ("Open", "Pending")))
