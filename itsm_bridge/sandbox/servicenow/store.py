"""The ServiceNow sandbox's data and business rules, without HTTP.

- Rows are dicts of only the values that differ from the table's defaults; short repeated values
  (choice values, reference sys_ids, user names) are interned, so 100k incidents stay small.
- Incident writes follow a default instance: priority from the impact x urgency lookup (a written
  priority is ignored), `incident_state`/`active`/`resolved_at`/`closed_at` follow `state`,
  `work_notes`/`comments` become `sys_journal_field` rows, `sys_mod_count` counts real changes (a
  write that changes nothing is not an update), and the data policy asks for a resolution code and
  notes when a write resolves or closes an incident.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from itsm_bridge.sandbox.core import Clock, HTTPFailure, Response
from itsm_bridge.sandbox.people import EMAILS
from itsm_bridge.sandbox.servicenow.encoded_query import Getter, Row
from itsm_bridge.sandbox.servicenow.schema import (
    ADMIN_SYS_ID,
    AUDITED,
    CHOICE_COLUMNS,
    CHOICE_ELEMENT,
    CHOICES,
    CIS,
    CLOSED_STATES,
    GROUPS,
    INTEGER_COLUMNS,
    JOURNAL_COLUMNS,
    KIND_ALIASES,
    POLICY_LABELS,
    PRIORITY,
    ROLES,
    TABLES,
    TIME_COLUMNS,
    USERS,
    WRITE_ONLY,
    TableDef,
)

_UNIQUE = frozenset({"sys_id", "number", "task_effective_number", "correlation_id", "value", "element_id"})


def snow_time(at: datetime) -> str:
    """UTC `YYYY-MM-DD HH:MM:SS`, as the Table API shows times with display values off."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def text_of(value: Any) -> str:
    """A written value as the column stores it (`{"value": ...}` objects are unwrapped)."""
    if isinstance(value, Mapping):
        value = value.get("value", "")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Table:
    """One table's rows by sys_id, in insertion order; `version` moves on every change."""

    def __init__(self, defn: TableDef) -> None:
        self.defn = defn
        self.rows: dict[str, Row] = {}
        self.version = 0

    def value(self, row: Row, column: str) -> str:
        return row.get(column, self.defn.defaults.get(column, ""))

    def put(self, row: Row, column: str, value: str) -> None:
        """Store `value`, or drop the key when it is the default (the reader sees the default)."""
        if value == self.defn.defaults.get(column, ""):
            row.pop(column, None)
        elif column in _UNIQUE or column in TIME_COLUMNS or len(value) > 40:
            row[column] = value
        else:
            row[column] = sys.intern(value)


class SnowStore:
    """Every table of one instance, the choice labels and the reference-name index."""

    def __init__(self, clock: Clock, seed: int = 0) -> None:
        self.clock = clock
        self.seed = seed
        # Called on each change a business rule sees: (table, row, "insert" | "update"), for an
        # incident written and a journal entry inserted; set by the sandbox's webhooks.
        self.notify: Callable[[str, Row, str], None] | None = None
        self.reset()

    def reset(self) -> None:
        """Empty tables, then the default users, groups, CIs, roles and choices."""
        self.tables = {d.name: Table(d) for d in TABLES}
        self.next_number = 10001
        self._rng = random.Random(f"servicenow-{self.seed}")
        self._labels: dict[tuple[str, str, str], str] = {}  # (element, value, dependent) -> label
        self._names: dict[tuple[str, str], str] = {}  # (table, name or user_name) -> sys_id
        self._notes: dict[str, list[Row]] = {}  # incident sys_id -> journal rows
        for user_name, name in USERS:
            sys_id = ADMIN_SYS_ID if user_name == "admin" else None
            self.insert("sys_user", {"sys_id": sys_id, "user_name": user_name, "name": name})
        for name, email in EMAILS.items():  # the people of the sandbox, by their addresses (sandbox.people)
            self.insert("sys_user", {"user_name": email.split("@")[0], "name": name, "email": email})
        self.insert("sys_user_group", {"sys_id": "global", "name": "global"})
        for kind, names in (("sys_user_group", GROUPS), ("cmdb_ci", CIS)):
            for name in names:
                self.add_reference(kind, name)
        for user_name, role in ROLES.items():
            self.insert(
                "sys_user_has_role",
                {"user": self._names[("sys_user", user_name)], "role": self.add_reference("sys_user_role", role)},
            )
        for element, rows in CHOICES.items():
            for value, label, dependent in rows:
                self.add_choice(element, value, label, dependent)

    # --- identities
    def new_sys_id(self) -> str:
        while True:
            sys_id = f"{self._rng.getrandbits(128):032x}"
            if not any(sys_id in t.rows for t in self.tables.values()):
                return sys_id

    def user_sys_id(self, user_name: str) -> str:
        return self._names.get(("sys_user", user_name), ADMIN_SYS_ID)

    # --- reading
    def known(self, table: Table, column: str) -> bool:
        """Whether `column` (or a one-level dot-walk through a reference) exists on `table`."""
        if "." not in column:
            return column in table.defn.columns
        ref, rest = column.split(".", 1)
        target = table.defn.references.get(ref)
        return target is not None and self.known(self.tables[target], rest)

    def getter(self, table: Table, column: str) -> Getter:
        """Reads `column` from a row of `table`, dot-walks included; write-only columns read ""."""
        if column in WRITE_ONLY and table.defn.name == "incident":
            return lambda row: ""
        if "." in column:
            ref, rest = column.split(".", 1)
            target = self.tables[table.defn.references[ref]]
            outer, inner, rows = self.getter(table, ref), self.getter(target, rest), target.rows
            return lambda row: inner(r) if (r := rows.get(outer(row))) is not None else ""
        default = table.defn.defaults.get(column, "")
        return lambda row: row.get(column, default)

    @staticmethod
    def numeric(column: str) -> bool:
        return column.rsplit(".", 1)[-1] in INTEGER_COLUMNS

    def display(self, table: Table, row: Row, column: str) -> str:
        """The display value of one column: a referenced record's name, a choice label, or the value."""
        value = self.getter(table, column)(row)
        target = table.defn.references.get(column)
        if target is not None:
            ref = self.tables[target].rows.get(value)
            return "" if ref is None else self.tables[target].value(ref, self.tables[target].defn.display)
        if table.defn.name == "incident" and column in CHOICE_COLUMNS and value:
            element = CHOICE_ELEMENT.get(column, column)
            dependent = table.value(row, "category") if column == "subcategory" else ""
            return self._labels.get((element, value, dependent)) or self._labels.get((element, value, ""), value)
        return value

    def journal(self, sys_id: str) -> list[Row]:
        return list(self._notes.get(sys_id, ()))

    # --- writing
    def insert(self, table_name: str, values: Mapping[str, Any], user: str = "admin") -> Row:
        """A row of any table but incident (see `write_incident`); unknown columns are ignored."""
        table = self.tables[table_name]
        row: Row = {"sys_id": text_of(values.get("sys_id")) or self.new_sys_id()}
        for column, value in values.items():
            if column in table.defn.columns and column != "sys_id":
                table.put(row, column, self._resolve(table, column, text_of(value)))
        if "sys_created_on" in table.defn.columns and "sys_created_on" not in values:
            row["sys_created_on"] = snow_time(self.clock.now())
            row["sys_created_by"] = sys.intern(user)
        self._add(table, row)
        if table_name == "sys_journal_field" and self.notify is not None:
            self.notify(table_name, row, "insert")
        return row

    def _add(self, table: Table, row: Row) -> None:
        table.rows[row["sys_id"]] = row
        table.version += 1
        name = table.defn.name
        if name == "sys_choice":
            key = (row.get("element", ""), row.get("value", ""), row.get("dependent_value", ""))
            self._labels[key] = row.get("label", "")
        elif name == "sys_journal_field":
            self._notes.setdefault(row.get("element_id", ""), []).append(row)
        elif name in ("sys_user", "sys_user_group", "cmdb_ci", "sys_user_role"):
            for column in ("name", "user_name"):
                if row.get(column):
                    self._names.setdefault((name, row[column]), row["sys_id"])

    def update(self, table_name: str, sys_id: str, values: Mapping[str, Any]) -> Row:
        """Plain update of a row of any table but incident."""
        table = self.tables[table_name]
        row = table.rows[sys_id]
        for column, value in values.items():
            if column in table.defn.columns and column not in table.defn.read_only:
                table.put(row, column, self._resolve(table, column, text_of(value)))
        table.version += 1
        if table_name == "sys_choice":
            self._add(table, row)  # re-index its label
        return row

    def delete(self, table_name: str, sys_id: str) -> None:
        table = self.tables[table_name]
        row = table.rows.pop(sys_id)
        table.version += 1
        if table_name == "sys_journal_field":
            self._notes.get(row.get("element_id", ""), []).remove(row)

    def _resolve(self, table: Table, column: str, value: str) -> str:
        """A reference written by name (or user name) is stored as the sys_id it names."""
        target = table.defn.references.get(column)
        if not value or target is None or value in self.tables[target].rows:
            return value
        return self._names.get((target, value), value)

    def add_column(self, table_name: str, column: str, reference: str | None = None) -> None:
        """A custom column an administrator added (a reference to `reference`'s rows when given).
        Its name starts with `u_`, as the instance names every column made that way: "the u_
        prefix is automatically added to the column name" (docs.servicenow.com, platform
        administration, "Create a field": administer/field-administration/task/t_CreatingNewFields.html)."""
        if not column.startswith("u_"):
            raise ValueError(f"a custom field's name starts with u_, not {column!r}")
        table = self.tables[table_name]
        columns = table.defn.columns if column in table.defn.columns else (*table.defn.columns, column)
        refs = {**table.defn.references, **({column: KIND_ALIASES.get(reference, reference)} if reference else {})}
        table.defn = replace(table.defn, columns=columns, references=refs)

    def add_reference(self, kind: str, display: str) -> str:
        """The sys_id of the `kind` record (table name or user/group/ci) named `display`, created once."""
        table_name = KIND_ALIASES.get(kind, kind)
        if table_name not in ("sys_user", "sys_user_group", "cmdb_ci", "sys_user_role"):
            raise ValueError(f"no reference table {kind!r}")
        found = self._names.get((table_name, display))
        if found:
            return found
        values = {"name": display}
        if table_name == "sys_user":
            values["user_name"] = ".".join(display.casefold().split())
        return self.insert(table_name, values)["sys_id"]

    def add_choice(self, element: str, value: str, label: str, dependent_value: str = "") -> Row:
        """An incident choice (category, subcategory, close_code, state...), replacing its label if present."""
        for row in self.tables["sys_choice"].rows.values():
            if (row.get("element"), row.get("value"), row.get("dependent_value", "")) == (
                element,
                value,
                dependent_value,
            ):
                return self.update("sys_choice", row["sys_id"], {"label": label})
        return self.insert(
            "sys_choice",
            {
                "name": "incident",
                "element": element,
                "value": value,
                "label": label,
                "dependent_value": dependent_value,
            },
        )

    # --- incidents
    def write_incident(
        self, sys_id: str | None, values: Mapping[str, Any], user: str, *, data_policy: bool, at: datetime | None = None
    ) -> Row:
        """Create (sys_id None) or update an incident by the instance's rules; HTTPFailure(403) when
        the data policy refuses it."""
        table = self.tables["incident"]
        now = snow_time(at or self.clock.now())
        current = table.rows[sys_id] if sys_id else None
        old: Row = current if current is not None else {}
        changes = {
            c: self._resolve(table, c, text_of(v))
            for c, v in values.items()
            if c in table.defn.columns and c not in table.defn.read_only
        }
        notes = [(c, changes.pop(c)) for c in JOURNAL_COLUMNS if c in changes]
        notes = [(c, text) for c, text in notes if text.strip()]

        def value(column: str) -> str:
            return changes[column] if column in changes else table.value(old, column)

        self._derive(table, changes, old, current is None, value, user, now)
        if data_policy and value("state") in ("6", "7") and ({"state", "close_code", "close_notes"} & changes.keys()):
            missing = [label for column, label in POLICY_LABELS.items() if not value(column).strip()]
            if missing:
                raise HTTPFailure(data_policy_refusal(missing))
        if current is not None and not notes and all(table.value(old, c) == v for c, v in changes.items()):
            return current  # nothing changed: not an update, as on the instance
        before = {c: table.value(old, c) for c in AUDITED}
        row = old if current is not None else self._new_incident(table, values, user, now)
        for column, text in changes.items():
            table.put(row, column, text)
        if current is not None:
            table.put(row, "sys_mod_count", str(int(table.value(row, "sys_mod_count")) + 1))
        table.put(row, "sys_updated_on", now)
        table.put(row, "sys_updated_by", user)
        if current is None:
            self._add(table, row)
        else:
            table.version += 1
        if self.notify is not None:
            self.notify("incident", row, "insert" if current is None else "update")
        if current is not None:
            self._audit(row, before, changes, user, now)
        for element, text in notes:
            self.insert(
                "sys_journal_field",
                {
                    "element": element,
                    "element_id": row["sys_id"],
                    "name": "incident",
                    "value": text,
                    "sys_created_on": now,
                    "sys_created_by": user,
                },
            )
        return row

    def _audit(self, row: Row, before: dict[str, str], changes: dict[str, str], user: str, now: str) -> None:
        """sys_audit rows for the audited columns an update changed (values as stored: choice
        values, reference sys_ids; times UTC)."""
        checkpoint = self.tables["incident"].value(row, "sys_mod_count")
        for column in AUDITED:
            if column in changes and changes[column] != before[column]:
                self.insert(
                    "sys_audit",
                    {
                        "tablename": "incident",
                        "documentkey": row["sys_id"],
                        "fieldname": column,
                        "oldvalue": before[column],
                        "newvalue": changes[column],
                        "user": user,
                        "record_checkpoint": checkpoint,
                        "sys_created_on": now,
                        "sys_created_by": user,
                    },
                )

    def _new_incident(self, table: Table, values: Mapping[str, Any], user: str, now: str) -> Row:
        number = f"INC{self.next_number:07d}"
        self.next_number += 1
        row: Row = {"sys_id": self.new_sys_id(), "number": number, "task_effective_number": number}
        created = text_of(values.get("sys_created_on")) or text_of(values.get("opened_at")) or now
        row["sys_created_on"] = min(created, now)
        table.put(row, "sys_created_by", user)
        table.put(row, "opened_by", self.user_sys_id(user))
        return row

    def _derive(
        self,
        table: Table,
        changes: dict[str, str],
        old: Row,
        creating: bool,
        value: Callable[[str], str],
        user: str,
        now: str,
    ) -> None:
        """Fields the instance computes from the written ones (into `changes`)."""
        changes["priority"] = PRIORITY.get((value("impact"), value("urgency")), table.value(old, "priority"))
        group = table.value(old, "assignment_group")
        if not creating and group and value("assignment_group") != group:
            # the task's reassignment counter: a move to another group after the first assignment
            changes["reassignment_count"] = str(int(table.value(old, "reassignment_count")) + 1)
        if creating and not value("opened_at"):
            changes["opened_at"] = now
        before = None if creating else table.value(old, "state")
        state = value("state")
        if state == before:
            return
        changes["incident_state"] = state
        changes["active"] = "false" if state in CLOSED_STATES else "true"
        if state == "6":
            changes.setdefault("resolved_at", now)
            changes.setdefault("resolved_by", self.user_sys_id(user))
        if state == "7":
            changes.setdefault("closed_at", now)
            changes.setdefault("closed_by", self.user_sys_id(user))
            if not value("resolved_at"):
                changes["resolved_at"] = now
        if before in ("6", "7") and state not in CLOSED_STATES:  # reopened
            changes.update(resolved_at="", resolved_by="", closed_at="", closed_by="")
            changes["reopen_count"] = str(int(table.value(old, "reopen_count")) + 1)
            changes["reopened_by"] = self.user_sys_id(user)
            changes["reopened_time"] = now

    # --- persistence
    def to_state(self) -> dict[str, Any]:
        return {
            "tables": {name: list(t.rows.values()) for name, t in self.tables.items()},
            "next_number": self.next_number,
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.tables = {d.name: Table(d) for d in TABLES}
        self._labels, self._names, self._notes = {}, {}, {}
        self.next_number = int(state.get("next_number", 10001))
        for name, rows in state.get("tables", {}).items():
            table = self.tables[name]
            for stored in rows:
                row: Row = {}
                for column, text in stored.items():
                    table.put(row, column, text)
                row["sys_id"] = stored["sys_id"]
                self._add(table, row)

    def rows(self, table_name: str) -> Iterable[Row]:
        return self.tables[table_name].rows.values()


def data_policy_refusal(missing: list[str]) -> Response:
    """The instance's answer when a data policy aborts a write (403, fields by label)."""
    return Response(
        403,
        {
            "error": {
                "message": "Data Policy Exception: \n The following fields are mandatory: " + ", ".join(missing),
                "detail": "Operation against file 'incident' was aborted by Business Rule 'Data Policy Exception'. "
                "Business Rule Stack:Data Policy Exception",
            },
            "status": "failure",
        },
    )
