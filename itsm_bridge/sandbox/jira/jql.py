"""A JQL subset for the Jira sandbox: tokenizer, parser and evaluator.

Supported: `field op value` with `=`, `!=`, `>`, `>=`, `<`, `<=`, `~`, `!~`; `in (...)`, `not in (...)`;
`is [not] EMPTY|NULL`; `AND`, `OR`, `NOT`, parentheses; `issue.property[key].path = value`;
`ORDER BY field [ASC|DESC], ...`. Values are bare words, numbers, or quoted strings (single or double
quotes, backslash escapes).

Dates follow Jira: `"yyyy/MM/dd HH:mm"`, `"yyyy-MM-dd HH:mm"`, `"yyyy/MM/dd"`, `"yyyy-MM-dd"` or a
relative `-15m` / `2h` / `-1d` / `1w`, read in the user's time zone (UTC in the sandbox). A bound has
minute precision (there is no way to write seconds) and is compared against the record's full
timestamp, so `updated >= "2024/01/01 12:34"` includes an issue updated at 12:34:59.

Records are mappings from the record names in `FIELDS` to plain values: strings, datetimes,
lists of strings (labels, components), and `properties` (entity property key -> JSON value).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]

# JQL name (lower case) -> record name.
FIELDS: dict[str, str] = {
    "project": "project",
    "key": "key",
    "issuekey": "key",
    "id": "id",
    "labels": "labels",
    "status": "status",
    "priority": "priority",
    "resolution": "resolution",
    "summary": "summary",
    "updated": "updated",
    "updateddate": "updated",
    "created": "created",
    "createddate": "created",
    "resolved": "resolutiondate",
    "resolutiondate": "resolutiondate",
    "issuetype": "issuetype",
    "type": "issuetype",
    "assignee": "assignee",
    "reporter": "reporter",
    "component": "components",
    "statuscategory": "statusCategory",
    "text": "summary",
    "cf[10050]": "customfield_10050",
    "customfield_10050": "customfield_10050",
    "cf[10051]": "customfield_10051",
    "customfield_10051": "customfield_10051",
}
DATE_FIELDS = frozenset({"updated", "created", "resolutiondate"})
LIST_FIELDS = frozenset({"labels", "components"})
CASE_SENSITIVE = frozenset({"labels"})
ORDERABLE = frozenset({"updated", "created", "key", "id", "status", "priority", "summary", "resolutiondate"})
_OPERATORS = ("!=", ">=", "<=", "!~", "=", ">", "<", "~")
_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_RELATIVE = re.compile(r"^([+-]?)(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>!=|>=|<=|!~|[=<>~(),\[\]])"""
    r"""|(?P<word>[^\s"'=!<>~(),\[\]]+)|(?P<bad>\S))"""
)


class JQLError(ValueError):
    """A query Jira would refuse; `str(err)` is Jira's message without the common prefix."""


@dataclass(frozen=True)
class Token:
    kind: str  # "str" | "op" | "word"
    text: str
    pos: int

    def word(self, *names: str) -> bool:
        return self.kind == "word" and self.text.lower() in names


@dataclass(frozen=True)
class Query:
    """A parsed query: `matches(record)` and the ORDER BY terms as (record name, descending)."""

    predicate: Predicate | None
    order: tuple[tuple[str, bool], ...]
    clauses: tuple[tuple[str, tuple[str, ...]], ...]  # (record name, literal values) for value checks

    def matches(self, record: Record) -> bool:
        return self.predicate is None or self.predicate(record)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        if m.group("bad") is not None:
            char = m.group("bad")
            if char in "\"'":
                raise JQLError(
                    f"The quoted string {text[m.start('bad') :]} has not been completed. (line 1, character {m.start('bad') + 1})"
                )
            raise JQLError(
                f"The character '{char}' is a reserved JQL character. (line 1, character {m.start('bad') + 1})"
            )
        kind = m.lastgroup or "word"
        raw = m.group(kind)
        value = _unescape(raw[1:-1]) if kind == "str" else raw
        tokens.append(Token(kind, value, m.start(kind) + 1))
    return tokens


def _unescape(body: str) -> str:
    escapes = {"n": "\n", "t": "\t", "r": "\r"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), body)


def parse(text: str, now: datetime | None = None) -> Query:
    """Parse `text`; raise `JQLError` with Jira's wording on anything outside the subset."""
    return _Parser(tokenize(text), now or datetime.now(UTC)).query()


class _Parser:
    def __init__(self, tokens: list[Token], now: datetime) -> None:
        self.tokens = tokens
        self.i = 0
        self.now = now
        self.clauses: list[tuple[str, tuple[str, ...]]] = []

    # --- token helpers
    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise JQLError("Expecting more input at the end of the query.")
        self.i += 1
        return tok

    def expect_op(self, op: str) -> None:
        tok = self.take()
        if tok.kind != "op" or tok.text != op:
            raise JQLError(f"Expecting '{op}' but got '{tok.text}'. (line 1, character {tok.pos})")

    # --- grammar
    def query(self) -> Query:
        predicate = None
        tok = self.peek()
        if tok is not None and not tok.word("order"):
            predicate = self.or_expr()
        order = self.order_by()
        tok = self.peek()
        if tok is not None:
            raise JQLError(f"Expecting either 'OR' or 'AND' but got '{tok.text}'. (line 1, character {tok.pos})")
        return Query(predicate, order, tuple(self.clauses))

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.word("or"):
            self.i += 1
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def and_expr(self) -> Predicate:
        parts = [self.not_expr()]
        while (tok := self.peek()) is not None and tok.word("and"):
            self.i += 1
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def not_expr(self) -> Predicate:
        tok = self.peek()
        if tok is not None and tok.word("not"):
            self.i += 1
            inner = self.not_expr()
            return lambda r: not inner(r)
        if tok is not None and tok.kind == "op" and tok.text == "(":
            self.i += 1
            inner = self.or_expr()
            self.expect_op(")")
            return inner
        return self.clause()

    def field(self) -> tuple[str, Callable[[Record], Any]]:
        tok = self.take()
        if tok.kind == "op":
            raise JQLError(f"Expecting a field name but got '{tok.text}'. (line 1, character {tok.pos})")
        name = tok.text.lower()
        if name == "issue.property":
            return self.property_path()
        if name == "cf":  # cf[10050]
            self.expect_op("[")
            number = self.take().text
            self.expect_op("]")
            name = f"cf[{number}]"
        if name not in FIELDS:
            raise JQLError(f"Field '{tok.text}' does not exist or you do not have permission to view it.")
        record_name = FIELDS[name]
        return record_name, lambda r: r.get(record_name)

    def property_path(self) -> tuple[str, Callable[[Record], Any]]:
        self.expect_op("[")
        key = self.take().text
        self.expect_op("]")
        path: list[str] = []
        tok = self.peek()
        if tok is not None and tok.kind == "word" and tok.text.startswith("."):
            self.i += 1
            path = [p for p in tok.text.split(".") if p]

        def get(record: Record) -> Any:
            value = (record.get("properties") or {}).get(key)
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            return value

        return "property", get

    def clause(self) -> Predicate:
        name, get = self.field()
        tok = self.take()
        if tok.word("is"):
            negate = False
            if (nxt := self.peek()) is not None and nxt.word("not"):
                self.i += 1
                negate = True
            empty = self.take()
            if not empty.word("empty", "null"):
                raise JQLError(f"Expecting 'EMPTY' or 'NULL' but got '{empty.text}'. (line 1, character {empty.pos})")
            return lambda r: _is_empty(get(r)) != negate
        if tok.word("in") or (tok.word("not") and (nxt := self.peek()) is not None and nxt.word("in")):
            negate = tok.word("not")
            if negate:
                self.i += 1
            values = self.value_list()
            self.clauses.append((name, tuple(v for v in values if v is not None)))
            tests = [self.comparison(name, get, "=", v) for v in values]
            return lambda r: any(t(r) for t in tests) != negate
        if tok.kind != "op" or tok.text not in _OPERATORS:
            raise JQLError(
                f"Expecting operator but got '{tok.text}'. The valid operators are '=', '!=', '<', '>', '<=', '>=', "
                f"'~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. (line 1, character {tok.pos})"
            )
        value = self.value()
        if value is not None:
            self.clauses.append((name, (value,)))
        return self.comparison(name, get, tok.text, value)

    def value(self) -> str | None:
        tok = self.take()
        if tok.kind == "op":
            raise JQLError(f"Expecting a value but got '{tok.text}'. (line 1, character {tok.pos})")
        if tok.kind == "word" and tok.text.lower() in ("empty", "null"):
            return None
        return tok.text

    def value_list(self) -> list[str | None]:
        self.expect_op("(")
        values = [self.value()]
        while (tok := self.take()).kind == "op" and tok.text == ",":
            values.append(self.value())
        if tok.text != ")":
            raise JQLError(f"Expecting ')' but got '{tok.text}'. (line 1, character {tok.pos})")
        return values

    def comparison(self, name: str, get: Callable[[Record], Any], op: str, value: str | None) -> Predicate:
        if value is None:
            if op not in ("=", "!="):
                raise JQLError(f"The operator '{op}' does not support the value 'EMPTY'.")
            return lambda r: _is_empty(get(r)) == (op == "=")
        if name in DATE_FIELDS:
            return _date_test(get, op, parse_date(value, self.now, name))
        if op in ("~", "!~"):
            needle = value.casefold()
            return lambda r: (needle in str(get(r) or "").casefold()) == (op == "~")
        if op in (">", ">=", "<", "<="):
            if name != "id":
                raise JQLError(f"The operator '{op}' is not supported by the '{name}' field.")
            return _ordered_test(lambda r: int(get(r)), op, int(value))
        want = value if name in CASE_SENSITIVE else value.casefold()
        sensitive = name in CASE_SENSITIVE

        def fold(v: object) -> str:
            return str(v) if sensitive else str(v).casefold()

        def equal(record: Record) -> bool:
            actual = get(record)
            if isinstance(actual, (list, tuple)):
                return any(fold(a) == want for a in actual)
            return actual is not None and fold(actual) == want

        return equal if op == "=" else (lambda r: not equal(r))

    def order_by(self) -> tuple[tuple[str, bool], ...]:
        tok = self.peek()
        if tok is None:
            return ()
        if not tok.word("order"):
            return ()
        self.i += 1
        by = self.take()
        if not by.word("by"):
            raise JQLError(f"Expecting 'by' but got '{by.text}'. (line 1, character {by.pos})")
        terms: list[tuple[str, bool]] = []
        while True:
            tok = self.take()
            name = FIELDS.get(tok.text.lower())
            if name is None or name not in ORDERABLE:
                raise JQLError(f"Not able to sort using field '{tok.text}'.")
            desc = False
            nxt = self.peek()
            if nxt is not None and nxt.word("asc", "desc"):
                desc = self.take().word("desc")
            terms.append((name, desc))
            nxt = self.peek()
            if nxt is None or nxt.text != ",":
                return tuple(terms)
            self.i += 1


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, (list, tuple, dict)) and not value)


def _ordered_test(get: Callable[[Record], Any], op: str, bound: Any) -> Predicate:
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
    }
    test = compare[op]

    def check(record: Record) -> bool:
        actual = get(record)
        return actual is not None and test(actual, bound)

    return check


def _date_test(get: Callable[[Record], Any], op: str, bound: datetime) -> Predicate:
    if op in ("~", "!~"):
        raise JQLError(f"The operator '{op}' is not supported by the date fields.")
    return _ordered_test(get, op, bound)


def parse_date(value: str, now: datetime, field: str = "updated") -> datetime:
    """A JQL date value as an aware UTC datetime, truncated to the minute."""
    m = _RELATIVE.match(value.strip())
    if m:
        delta = timedelta(**{_UNITS[m.group(3)]: int(m.group(2))})
        moment = now - delta if m.group(1) == "-" else now + delta
        return moment.replace(second=0, microsecond=0)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise JQLError(
        f"Date value '{value}' for field '{field}' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
    )


def sort_key(name: str, value: Any) -> Any:
    """A sortable form of a record value: keys numeric-aware (OPS-2 < OPS-10), empty values last."""
    if value is None:
        return (1, 0)
    if name == "key":
        project, _, number = str(value).rpartition("-")
        return (0, (project, int(number) if number.isdigit() else 0))
    if name == "id":
        return (0, int(value))
    if isinstance(value, str):
        return (0, value.casefold())
    return (0, value)


R = TypeVar("R", bound=Record)


def order_records(
    records: list[R], order: tuple[tuple[str, bool], ...], default: tuple[tuple[str, bool], ...]
) -> list[R]:
    """Sort by the ORDER BY terms (or `default`), ties broken by id ascending, so pages are stable."""
    ordered = sorted(records, key=lambda r: sort_key("id", r.get("id")))
    for name, desc in reversed(order or default):
        ordered.sort(key=lambda r: sort_key(name, r.get(name)), reverse=desc)  # sorts now: no late binding
    return ordered
