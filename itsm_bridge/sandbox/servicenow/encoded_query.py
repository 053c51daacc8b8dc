"""ServiceNow encoded queries as the sandbox understands them: parse `sysparm_query`, then filter
and order rows.

    query     := part ("^" part)*
    part      := condition | "OR" condition | "NQ" condition | "ORDERBY" field | "ORDERBYDESC" field | "EQ"
    condition := field operator value

`^` ANDs conditions; `^OR` ORs a condition with the one before it (OR binds tighter than AND);
`^NQ` starts a new query whose matches are added to the result (an OR of whole groups).

Faithful to a default instance (glide.invalid_query.returns_no_rows is false): a condition on a
field the table does not have is dropped, so `bogus=1` matches every row. Nothing in a value can
be escaped, so a value holding `^NQ` starts a new query and widens the result: the vendor's
behaviour, and the reason the connector refuses such values.

String comparisons ignore case, as on the vendor's database collation. Ordering comparisons
(`>`, `>=`, `<`, `<=`, `BETWEEN`) never match an empty value; `YYYY-MM-DD HH:MM:SS` times compare
as text, which orders them correctly; integer columns compare as numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Row = dict[str, str]
Getter = Callable[[Row], str]

OPERATORS = (
    "ISNOTEMPTY",
    "ISEMPTY",
    "STARTSWITH",
    "ENDSWITH",
    "NOT LIKE",
    "NOTLIKE",
    "NOT IN",
    "NOTIN",
    "BETWEEN",
    "LIKE",
    "IN",
    "!=",
    ">=",
    "<=",
    "=",
    ">",
    "<",
)
_CONDITION = re.compile(
    r"^(?P<field>[a-z0-9_.]+)(?P<op>" + "|".join(re.escape(o) for o in OPERATORS) + r")(?P<value>.*)$", re.S
)
_DATE_GENERATE = re.compile(r"^javascript:\s*gs\.dateGenerate\(\s*'([^']*)'\s*,\s*'([^']*)'\s*\)\s*;?$")
_NAMED_TIMES = {"start": "00:00:00", "end": "23:59:59"}


@dataclass(frozen=True)
class Condition:
    """One `field operator value` term; `value` is the raw text after the operator."""

    field: str
    op: str
    value: str = ""


@dataclass
class EncodedQuery:
    """`groups` are the `^NQ` alternatives; each is an AND of clauses, each clause an OR of conditions."""

    groups: list[list[list[Condition]]] = field(default_factory=lambda: [[]])
    orders: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)

    @property
    def matches_all(self) -> bool:
        return any(not group for group in self.groups)


def parse_condition(text: str) -> Condition | None:
    """A condition, or None when the text names no operator the sandbox knows."""
    m = _CONDITION.match(text)
    if not m:
        return None
    op = {"NOTIN": "NOT IN", "NOTLIKE": "NOT LIKE"}.get(m["op"], m["op"])
    return Condition(m["field"], op, m["value"])


def parse(text: str, known: Callable[[str], bool]) -> EncodedQuery:
    """Parse `text`; conditions and orderings on fields `known` rejects are dropped."""
    query = EncodedQuery()
    dropped_last = False
    for part in (text or "").split("^"):
        if not part or part == "EQ":
            continue
        if part.startswith("ORDERBY"):
            descending = part.startswith("ORDERBYDESC")
            name = part[len("ORDERBYDESC") :] if descending else part[len("ORDERBY") :]
            if known(name):
                query.orders.append((name, descending))
            continue
        alternative = part.startswith("OR")
        if part.startswith("NQ"):
            query.groups.append([])
            part = part[2:]
        elif alternative:
            part = part[2:]
        cond = parse_condition(part)
        if cond is None or not known(cond.field):
            dropped_last = True
            continue
        group = query.groups[-1]
        if alternative and group and not dropped_last:
            group[-1].append(cond)
        else:
            group.append([cond])
        dropped_last = False
    return query


def query_value(raw: str) -> str:
    """The literal a value stands for: `javascript:gs.dateGenerate('2024-01-01','00:00:00')`
    gives `2024-01-01 00:00:00` (also 'start' and 'end' of the day); anything else is itself."""
    m = _DATE_GENERATE.match(raw.strip())
    if not m:
        return raw
    return f"{m[1]} {_NAMED_TIMES.get(m[2], m[2])}"


def _sort_key(numeric: bool) -> Callable[[str], Any]:
    if not numeric:
        return str.casefold

    def key(value: str) -> Any:
        try:
            return float(value)
        except ValueError:
            return float("-inf")

    return key


def _ordered(op: str, target: str, get: Getter, numeric: bool) -> Callable[[Row], bool]:
    key = _sort_key(numeric)
    bound = key(target)
    compare: Callable[[Any, Any], bool] = {
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
    }[op]

    def test(row: Row) -> bool:
        value = get(row)
        return bool(value) and compare(key(value), bound)

    return test


def condition_predicate(cond: Condition, get: Getter, numeric: bool = False) -> Callable[[Row], bool]:
    """A test of one row against `cond`; `get` reads the condition's field from a row."""
    op, raw = cond.op, query_value(cond.value)
    target = raw.casefold()
    if op == "ISEMPTY":
        return lambda row: not get(row)
    if op == "ISNOTEMPTY":
        return lambda row: bool(get(row))
    if op in ("IN", "NOT IN"):
        items = {query_value(v).casefold() for v in raw.split(",")}
        if op == "IN":
            return lambda row: get(row).casefold() in items
        return lambda row: get(row).casefold() not in items
    if op == "=":
        if numeric:
            key = _sort_key(True)
            bound = key(raw)
            return lambda row: (key(v) == bound) if (v := get(row)) else not raw
        return lambda row: get(row).casefold() == target
    if op == "!=":
        return lambda row: get(row).casefold() != target
    if op == "STARTSWITH":
        return lambda row: get(row).casefold().startswith(target)
    if op == "ENDSWITH":
        return lambda row: get(row).casefold().endswith(target)
    if op == "LIKE":
        return lambda row: target in get(row).casefold()
    if op == "NOT LIKE":
        return lambda row: target not in get(row).casefold()
    if op == "BETWEEN":
        low, _, high = raw.partition("@")
        above, below = _ordered(">=", query_value(low), get, numeric), _ordered("<=", query_value(high), get, numeric)
        return lambda row: above(row) and below(row)
    return _ordered(op, raw, get, numeric)


def compile_filter(
    query: EncodedQuery, getter: Callable[[str], Getter], numeric: Callable[[str], bool]
) -> Callable[[Row], bool] | None:
    """One predicate for the whole query, or None when every row matches."""
    if query.matches_all:
        return None
    groups = [
        [[condition_predicate(c, getter(c.field), numeric(c.field)) for c in clause] for clause in group]
        for group in query.groups
    ]

    def test(row: Row) -> bool:
        return any(all(any(p(row) for p in clause) for clause in group) for group in groups)

    return test


def order_rows(
    rows: list[Row], orders: list[tuple[str, bool]], getter: Callable[[str], Getter], numeric: Callable[[str], bool]
) -> list[Row]:
    """`rows` sorted by each (field, descending), first field first; ties keep the given order."""
    out = list(rows)
    for name, descending in reversed(orders):
        get, key = getter(name), _sort_key(numeric(name))
        out.sort(key=lambda row: key(get(row)), reverse=descending)  # stable, also reversed
    return out


def run(
    rows: list[Row],
    text: str,
    known: Callable[[str], bool],
    getter: Callable[[str], Getter],
    numeric: Callable[[str], bool],
) -> list[Row]:
    """The rows `text` selects, in its order (the given order where it names none)."""
    query = parse(text, known)
    test = compile_filter(query, getter, numeric)
    selected = rows if test is None else [row for row in rows if test(row)]
    return order_rows(selected, query.orders, getter, numeric) if query.orders else list(selected)
