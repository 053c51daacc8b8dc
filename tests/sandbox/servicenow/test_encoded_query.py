"""The sandbox's ServiceNow encoded queries: parsing, each operator, ^OR / ^NQ, ordering, dropped fields."""

from __future__ import annotations

import pytest

from itsm_bridge.sandbox.servicenow import encoded_query

FIELDS = {"id", "name", "state", "count", "updated", "note"}
ROWS = [
    {"id": "1", "name": "Mail down", "state": "1", "count": "9", "updated": "2024-01-01 10:00:00"},
    {"id": "2", "name": "VPN slow", "state": "2", "count": "10", "updated": "2024-01-02 10:00:00", "note": "x"},
    {"id": "3", "name": "mail queue", "state": "6", "count": "2", "updated": "2024-01-03 10:00:00"},
    {"id": "4", "name": "Disk full", "state": "2", "count": "10", "updated": ""},
]


def ids(text: str, rows: list[dict[str, str]] | None = None) -> list[str]:
    selected = encoded_query.run(
        ROWS if rows is None else rows,
        text,
        known=FIELDS.__contains__,
        getter=lambda field: lambda row: row.get(field, ""),
        numeric=lambda field: field == "count",
    )
    return [row["id"] for row in selected]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=2", ["2", "4"]),
        ("state!=2", ["1", "3"]),
        ("updated>2024-01-02 10:00:00", ["3"]),
        ("updated>=2024-01-02 10:00:00", ["2", "3"]),
        ("updated<2024-01-02 10:00:00", ["1"]),
        ("updated<=2024-01-02 10:00:00", ["1", "2"]),
        ("stateIN1,6", ["1", "3"]),
        ("stateNOT IN1,6", ["2", "4"]),
        ("stateNOTIN1,6", ["2", "4"]),
        ("nameSTARTSWITHmail", ["1", "3"]),
        ("nameENDSWITHslow", ["2"]),
        ("nameLIKEquEuE", ["3"]),
        ("nameNOT LIKEmail", ["2", "4"]),
        ("nameNOTLIKEmail", ["2", "4"]),
        ("noteISEMPTY", ["1", "3", "4"]),
        ("noteISNOTEMPTY", ["2"]),
        ("updatedBETWEEN2024-01-02 00:00:00@2024-01-03 23:59:59", ["2", "3"]),
    ],
)
def test_each_operator_selects_its_rows(query: str, expected: list[str]) -> None:
    assert ids(query) == expected


def test_string_comparisons_ignore_case_like_the_instance_collation() -> None:
    assert ids("name=mail DOWN") == ["1"]
    assert ids("nameINvpn slow,DISK FULL") == ["2", "4"]


def test_ordering_comparisons_never_match_an_empty_value() -> None:
    assert "4" not in ids("updated<2099-01-01 00:00:00")
    assert "4" not in ids("updated>0000")


def test_integer_columns_compare_as_numbers_not_text() -> None:
    assert ids("count>9") == ["2", "4"]
    assert ids("count=10.0") == ["2", "4"]


def test_and_joins_conditions_and_or_binds_to_the_condition_before_it() -> None:
    assert ids("state=2^nameLIKEvpn") == ["2"]
    assert ids("state=1^ORstate=6^nameLIKEqueue") == ["3"]  # (1 OR 6) AND queue


def test_nq_adds_the_rows_of_a_whole_new_query() -> None:
    assert ids("state=1^nameLIKEvpn^NQstate=6") == ["3"]
    assert ids("state=2^nameLIKEvpn^NQcount<5") == ["2", "3"]


def test_a_value_holding_nq_starts_a_new_query_and_widens_the_result() -> None:
    assert ids("name=x") == []
    assert ids("name=x^NQstate!=0") == ["1", "2", "3", "4"]


def test_orderby_and_orderbydesc_sort_with_ties_in_the_given_order() -> None:
    assert ids("ORDERBYstate") == ["1", "2", "4", "3"]
    assert ids("ORDERBYDESCstate") == ["3", "2", "4", "1"]
    assert ids("ORDERBYstate^ORDERBYDESCid") == ["1", "4", "2", "3"]
    assert ids("ORDERBYcount") == ["3", "1", "2", "4"]  # numbers, not text ("10" < "2")


def test_without_orderby_rows_keep_their_stored_order() -> None:
    assert ids("") == ["1", "2", "3", "4"]


def test_conditions_and_ordering_on_unknown_fields_are_dropped() -> None:
    assert ids("bogus=1") == ["1", "2", "3", "4"]
    assert ids("bogus=1^state=6") == ["3"]
    assert ids("state=6^ORbogus=1") == ["3"]
    assert ids("ORDERBYbogus^ORDERBYDESCcount") == ["2", "4", "1", "3"]


def test_text_without_a_known_operator_is_dropped() -> None:
    assert ids("stateSAMEASname^state=1") == ["1"]


def test_date_generate_values_stand_for_their_time() -> None:
    assert ids("updated>=javascript:gs.dateGenerate('2024-01-02','00:00:00')") == ["2", "3"]
    assert ids("updated<=javascript:gs.dateGenerate('2024-01-02','end')") == ["1", "2"]
    assert encoded_query.query_value("javascript:gs.dateGenerate('2024-01-02','start')") == "2024-01-02 00:00:00"


def test_parse_keeps_nq_groups_and_or_clauses_apart() -> None:
    query = encoded_query.parse("a=1^ORb=2^c=3^NQd=4^ORDERBYDESCe", lambda f: True)
    assert [[[c.field for c in clause] for clause in group] for group in query.groups] == [[["a", "b"], ["c"]], [["d"]]]
    assert query.orders == [("e", True)]
    assert encoded_query.parse_condition("stateNOTIN1,2") == encoded_query.Condition("state", "NOT IN", "1,2")
    assert encoded_query.parse_condition("no operator here") is None
