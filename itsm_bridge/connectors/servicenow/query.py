"""ServiceNow encoded queries built from (field, operator, value), never by pasting text.

An encoded query separates conditions with `^` (`^OR`, `^NQ` start alternatives) and IN lists
with `,`, and has no escape for either. `^OR` binds tighter than `^`: it ORs one condition with
the single condition just before it, so `a^b^ORc^d` means a AND (b OR c) AND d; `^NQ` ORs whole
groups. So a value from data holding `^`, a newline, or (inside
an IN list) a comma would change what the query means: `x^NQactive=false` would widen a query to
every inactive record. Such values are refused with `UnsafeQueryValue`, never sent.

    Query().where("correlation_id", "=", key).where("correlation_display", "=", "itsm-bridge")
           .order_by("sys_updated_on").encode()
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from itsm_bridge.errors import UnsafeQueryValue
from itsm_bridge.vendor_time import snow_time

FIELD = re.compile(r"^[a-z0-9_.]+$")
OPERATORS = frozenset({"=", "!=", ">", ">=", "<", "<=", "IN", "NOT IN", "STARTSWITH", "ENDSWITH", "LIKE", "NOT LIKE"})
NO_VALUE_OPERATORS = frozenset({"ISEMPTY", "ISNOTEMPTY"})
LIST_OPERATORS = frozenset({"IN", "NOT IN"})

Value = str | int | datetime


def check_field(name: str) -> str:
    """A column name (dot-walks allowed), or UnsafeQueryValue."""
    if not FIELD.match(name):
        raise UnsafeQueryValue("field name", name, "field names are lower-case letters, digits, _ and . only")
    return name


def check_value(field: str, value: Value, in_list: bool = False) -> str:
    """The text of one value, or UnsafeQueryValue when it would change the query's meaning."""
    text = snow_time(value) if isinstance(value, datetime) else str(value)
    if "^" in text:
        raise UnsafeQueryValue(field, text, "'^' separates conditions in an encoded query and cannot be escaped")
    if "\n" in text or "\r" in text:
        raise UnsafeQueryValue(field, text, "a line break cannot be matched in an encoded query")
    if in_list and "," in text:
        raise UnsafeQueryValue(field, text, "',' separates IN list items and cannot be escaped")
    return text


def condition(field: str, op: str, value: Value | Sequence[Value] | None = None) -> str:
    """One `field operator value` term, every part checked. IN / NOT IN take a sequence;
    ISEMPTY / ISNOTEMPTY take no value."""
    check_field(field)
    if op in NO_VALUE_OPERATORS:
        if value is not None:
            raise ValueError(f"{op} takes no value")
        return f"{field}{op}"
    if op not in OPERATORS:
        raise ValueError(f"unknown operator {op!r}; one of {', '.join(sorted(OPERATORS | NO_VALUE_OPERATORS))}")
    if op in LIST_OPERATORS:
        if isinstance(value, (str, bytes, datetime)) or not isinstance(value, Iterable):
            raise ValueError(f"{op} takes a list of values")
        items = [check_value(field, v, in_list=True) for v in value]
        if not items:
            raise ValueError(f"{op} needs at least one value")
        return f"{field}{op}{','.join(items)}"
    if value is None or isinstance(value, (list, tuple, set)):
        raise ValueError(f"{op} takes one value")
    return f"{field}{op}{check_value(field, value)}"  # type: ignore[arg-type]  # not a list, tuple or set: one value


class Query:
    """An encoded query assembled condition by condition; `encode()` gives the `sysparm_query`."""

    def __init__(self) -> None:
        self._conditions: list[str] = []
        self._orders: list[str] = []

    def where(self, field: str, op: str, value: Value | Sequence[Value] | None = None) -> Query:
        """AND one condition. IN / NOT IN take a sequence; ISEMPTY / ISNOTEMPTY take no value."""
        self._conditions.append(condition(field, op, value))
        return self

    def or_where(self, field: str, op: str, value: Value | Sequence[Value] | None = None) -> Query:
        """OR one condition with the condition just before it (`^OR`): `where(a).or_where(b).where(c)`
        selects (a OR b) AND c."""
        if not self._conditions or self._conditions[-1] == "NQ":
            raise ValueError("or_where() needs a condition before it")
        self._conditions.append("OR" + condition(field, op, value))
        return self

    def new_query(self) -> Query:
        """Start an alternative (`^NQ`): records matching the conditions before OR after it."""
        if not self._conditions or self._conditions[-1] == "NQ":
            raise ValueError("new_query() needs conditions on both sides")
        self._conditions.append("NQ")
        return self

    def order_by(self, field: str, descending: bool = False) -> Query:
        self._orders.append(("ORDERBYDESC" if descending else "ORDERBY") + check_field(field))
        return self

    def encode(self) -> str:
        if self._conditions and self._conditions[-1] == "NQ":
            raise ValueError("new_query() needs conditions after it")
        text = "^".join(self._conditions).replace("^NQ^", "^NQ")
        return "^".join(p for p in (text, *self._orders) if p)

    def __str__(self) -> str:
        return self.encode()
