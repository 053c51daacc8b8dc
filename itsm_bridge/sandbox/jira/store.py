"""Issues, comments and properties of the Jira sandbox, with Jira's validation and a lagging search index.

An issue's fields live in one dict (its record): plain values (names, account ids, datetimes) that
JQL reads directly and `JiraPlatform` renders into REST shapes. Writes replace the dict (copy on
write), so the search index can keep pointing at an older version: each issue has a `visible`
record and at most one `pending` record that becomes visible `search_lag_s` seconds after its
write. A new issue has no visible record until then. Lag is measured on `time.monotonic()`, the
real clock, independent of the platform's skewable `Clock` (skew changes timestamps, not latency).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from itsm_bridge.sandbox.core import Clock
from itsm_bridge.sandbox.jira import jql
from itsm_bridge.sandbox.jira.schema import (
    COMPONENTS,
    FIELDS,
    ISSUE_TYPES,
    PRIORITIES,
    RESOLUTIONS,
    TEAM_FIELD,
    TEXT_LIMIT,
    TEXT_TOO_LONG,
    JiraConfig,
    jira_time,
    parse_jira_time,
)

Record = dict[str, Any]
DATE_KEYS = ("created", "updated", "resolutiondate")
CHANGELOG_FIELDS = frozenset({"status", "assignee", "resolution", "priority"})
"""Fields whose changes the sandbox keeps in an issue's changelog. Jira logs every field; the
sandbox keeps those the audit reads and a few more, so large seeded projects stay small."""
REQUIRED_MESSAGES = {
    "summary": "You must specify a summary of the issue.",
    "project": "Specify a valid project ID or key",
    "issuetype": "Specify an issue type",
}


def not_on_screen(fid: str) -> str:
    """Jira's answer for a field the screen of the operation does not hold."""
    return f"Field '{fid}' cannot be set. It is not on the appropriate screen, or unknown."


def too_long(doc: Any) -> bool:
    """Whether a description or comment document is over Jira's 32,767-character limit."""
    return len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False)) > TEXT_LIMIT


class FieldErrors(Exception):
    """A write Jira refuses: `errors` per field and `messages` overall, answered as 400."""

    def __init__(
        self, errors: dict[str, str] | None = None, messages: list[str] | None = None, status: int = 400
    ) -> None:
        super().__init__(errors or messages)
        self.errors = errors or {}
        self.messages = messages or []
        self.status = status


class Issue:
    """One issue: its current record, comments, and the search index's view of it."""

    __slots__ = ("id", "key", "fields", "comments", "visible", "pending", "pending_at", "changelog")

    def __init__(self, issue_id: int, key: str, fields: Record) -> None:
        self.id = issue_id
        self.key = key
        self.fields = fields
        self.comments: list[dict[str, Any]] = []
        self.changelog: list[tuple[datetime, tuple[tuple[str, Any, Any], ...]]] = []  # (when, (field, from, to)...)
        self.visible: Record | None = None
        self.pending: Record | None = None
        self.pending_at = 0.0


def adf_problem(doc: Any) -> str | None:
    """Why `doc` is not an Atlassian Document Format document, or None when it is one."""
    if not isinstance(doc, dict) or doc.get("type") != "doc" or doc.get("version") != 1:
        return "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
    stack = [doc]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            return "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
        if node["type"] == "text" and not isinstance(node.get("text"), str):
            return "Text nodes must have a text attribute."
        content = node.get("content", [])
        if not isinstance(content, list):
            return "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
        stack.extend(content)
    return None


def adf_text(doc: Any) -> str:
    """The plain text of an ADF document: paragraphs separated by blank lines."""
    if not isinstance(doc, dict):
        return ""
    if doc.get("type") == "text":
        return str(doc.get("text", ""))
    if doc.get("type") == "hardBreak":
        return "\n"
    parts = [adf_text(c) for c in doc.get("content", [])]
    return ("\n\n" if doc.get("type") == "doc" else "").join(parts)


def text_adf(text: str) -> dict[str, Any]:
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n")]
    content = [{"type": "paragraph", "content": [{"type": "text", "text": b}] if b else []} for b in blocks]
    return {"type": "doc", "version": 1, "content": content}


class JiraStore:
    """The issues of one Jira site. Not thread-safe by itself: the platform's lock guards it."""

    def __init__(self, config: JiraConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.search_lag_s = 2.0
        # Called on each change a webhook reports: (webhookEvent, issue, detail), detail holding
        # "changes" [(field, old, new)], "event_type" and "comment" as they apply; set by the
        # sandbox's webhooks.
        self.notify: Callable[[str, Issue, dict[str, Any]], None] | None = None
        self.clear()

    def clear(self) -> None:
        self.by_key: dict[str, Issue] = {}
        self.by_id: dict[int, Issue] = {}
        self.next_number = 1
        self.next_id = 10000
        self.next_comment_id = 10000

    # --- lookup
    def get(self, key_or_id: str) -> Issue | None:
        if key_or_id.isdigit():
            return self.by_id.get(int(key_or_id))
        return self.by_key.get(key_or_id.upper())

    def __iter__(self) -> Iterator[Issue]:
        return iter(self.by_id.values())

    # --- validation of REST input
    def normalize(self, fid: str, value: Any) -> Any:
        """A REST field value as stored; raise `ValueError(Jira's message)` when Jira would refuse it."""
        if fid == "summary":
            if value is not None and not isinstance(value, str):
                raise ValueError("Summary must be a string.")
            value = (value or "").strip()
            if len(value) > 255:
                raise ValueError("Summary must be less than 255 characters.")
            return value or None
        if fid == "description":
            if value is None:
                return None
            problem = adf_problem(value)
            if problem:
                raise ValueError(problem)
            if too_long(value):
                raise ValueError(TEXT_TOO_LONG)
            return value
        if fid == "project":
            ref = value.get("key") or value.get("id") if isinstance(value, dict) else value
            if str(ref) not in (self.config.project_key, self.config.project_id):
                raise ValueError("Specify a valid project ID or key")
            return self.config.project_key
        if fid == "issuetype":
            return _pick(ISSUE_TYPES, value, "Specify a valid issue type")
        if fid == "priority":
            return None if value is None else _pick(PRIORITIES, value, "The priority selected is invalid.")
        if fid == "resolution":
            return None if value is None else _pick(RESOLUTIONS, value, f"Resolution '{_ref(value)}' is not valid.")
        if fid == "labels":
            return self._labels(value)
        if fid == "components":
            if not isinstance(value, list):
                raise ValueError("Components must be given as a list.")
            return tuple(_pick(COMPONENTS, c, _component_message(c)) for c in value)
        if fid in self.config.options:
            return self._option(fid, value)
        if fid == TEAM_FIELD:
            return self._team(value)
        if fid in ("reporter", "assignee"):
            return self._user(fid, value)
        raise ValueError(not_on_screen(fid))

    def _labels(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("Labels must be given as a list of strings.")
        for label in value:
            if " " in label or not label:
                raise ValueError(f"The label '{label}' contains spaces which is invalid.")
            if len(label) > 255:
                raise ValueError("The label must not exceed 255 characters.")
        return tuple(dict.fromkeys(value))

    def _option(self, fid: str, value: Any) -> str | None:
        if value is None:
            return None
        options = self.config.options[fid]
        if not isinstance(value, dict):
            raise ValueError(f"Specify a valid value for {FIELDS[fid][0]}")
        if "id" in value:
            match = [v for v in options if self.config.option_id(fid, v) == str(value["id"])]
            if not match:
                raise ValueError(f"Option id '{value['id']}' is not valid")
            return match[0]
        if value.get("value") not in options:
            raise ValueError(f"Option value '{value.get('value')}' is not valid")
        return str(value["value"])

    def _team(self, value: Any) -> str | None:
        # Create and edit take the team id as a plain string (team-field-in-jira-rest-api); an object
        # or an unknown id is refused: "Team Id '...' is not valid" (getsentry/sentry#73671).
        if value is None:
            return None
        if not isinstance(value, str) or value not in self.config.teams:
            raise ValueError(f"Team Id '{value}' is not valid")
        return value

    def _user(self, fid: str, value: Any) -> str | None:
        if value is None:
            return None
        acc = value.get("accountId") or value.get("id") if isinstance(value, dict) else None
        if acc not in self.config.users:
            raise ValueError(f"Specify a valid value for {fid}" if acc is None else f"User '{acc}' does not exist.")
        return str(acc)

    def check_fields(self, fields: Any, screen: tuple[str, ...]) -> tuple[Record, dict[str, str]]:
        """Normalize the fields a request sets; collect every error, as Jira does, rather than the first."""
        if not isinstance(fields, dict):
            raise FieldErrors(messages=["Field 'fields' must be an object."])
        values: Record = {}
        errors: dict[str, str] = {}
        for fid, raw in fields.items():
            if fid not in screen:
                errors[fid] = not_on_screen(fid)
                continue
            try:
                values[fid] = self.normalize(fid, raw)
            except ValueError as exc:
                errors[fid] = str(exc)
        return values, errors

    def validate_create(self, fields: Any) -> Record:
        values, errors = self.check_fields(fields, self.config.create_screen)
        for fid in sorted(self.config.createmeta_required):
            if fid not in errors and values.get(fid) in (None, (), ""):
                errors[fid] = REQUIRED_MESSAGES.get(fid, f"{FIELDS.get(fid, (fid,))[0]} is required.")
        if errors:
            raise FieldErrors(errors)
        return values

    # --- writes
    def create(self, values: Record, *, updated: datetime | None = None, reporter: str | None = None) -> Issue:
        now = updated or self.clock.now()
        key = f"{self.config.project_key}-{self.next_number}"
        record: Record = {
            "id": self.next_id,
            "key": key,
            "project": self.config.project_key,
            "properties": {},
            "summary": None,
            "description": None,
            "issuetype": ISSUE_TYPES[0][1],
            "priority": "Medium",
            "status": self.config.workflow.initial,
            "resolution": None,
            "resolutiondate": None,
            "labels": (),
            "components": (),
            "customfield_10050": None,
            "customfield_10051": None,
            "created": now,
            "updated": now,
            "reporter": reporter or self.config.api_account,
            "assignee": None,
        }
        record.update(values)
        issue = Issue(self.next_id, key, record)
        self.next_number += 1
        self.next_id += 1
        self.by_key[key] = issue
        self.by_id[issue.id] = issue
        self._index(issue)
        self._notify("jira:issue_created", issue)
        return issue

    def write(self, issue: Issue, changes: Record, *, updated: datetime | None = None) -> None:
        """Replace the issue's record with `changes` applied and `updated` moved on."""
        before, record = issue.fields, {**issue.fields, **changes}
        record["updated"] = updated or self.clock.now()
        issue.fields = record
        self._index(issue)
        changed = [(f, before.get(f), v) for f, v in changes.items() if f != "updated" and before.get(f) != v]
        logged = tuple(c for c in changed if c[0] in CHANGELOG_FIELDS)
        if logged:
            issue.changelog.append((record["updated"], logged))
        if changed:
            kind = "issue_generic" if any(f == "status" for f, _, _ in changed) else "issue_updated"
            self._notify("jira:issue_updated", issue, changes=changed, event_type=kind)

    def delete(self, issue: Issue) -> None:
        """Remove the issue (ids and keys are never handed out again)."""
        del self.by_key[issue.key], self.by_id[issue.id]
        self._notify("jira:issue_deleted", issue)

    def edit_comment(self, issue: Issue, comment: dict[str, Any], body: Any, editor: str) -> dict[str, Any]:
        """Replace a comment's body (ADF, checked as on add); its `updated` moves on."""
        self._check_comment(body)
        comment.update(body=body, updated=self.clock.now(), update_author=editor)
        self._notify("comment_updated", issue, comment=comment)
        self._notify("jira:issue_updated", issue, comment=comment, event_type="issue_comment_edited")
        return comment

    def _notify(self, event: str, issue: Issue, **detail: Any) -> None:
        if self.notify is not None:
            self.notify(event, issue, detail)

    def apply_update(
        self, current: Record, update: Any, screen: tuple[str, ...]
    ) -> tuple[Record, list[tuple[Any, dict[str, Any]]]]:
        """Jira's `update` verbs (set, add, remove) as field changes, plus comments to add
        (body, properties)."""
        if not isinstance(update, dict):
            raise FieldErrors(messages=["Field 'update' must be an object."])
        changes: Record = {}
        comments: list[Any] = []
        errors: dict[str, str] = {}
        for fid, operations in update.items():
            if fid not in screen:  # `comment` too: never on a create screen
                errors[fid] = not_on_screen(fid)
                continue
            if fid == "comment":  # a Comment: its body and, optionally, its properties
                comments += [_comment_add(op.get("add") or {}) for op in operations if isinstance(op, dict)]
                continue
            try:
                changes[fid] = self._operate(fid, current.get(fid), operations)
            except ValueError as exc:
                errors[fid] = str(exc)
        if errors:
            raise FieldErrors(errors)
        return changes, comments

    def _operate(self, fid: str, current: Any, operations: Any) -> Any:
        if not isinstance(operations, list):
            raise ValueError(f"Operations on '{fid}' must be a list.")
        for op in operations:
            ((verb, arg),) = op.items() if isinstance(op, dict) and len(op) == 1 else [("?", None)]
            if verb == "set":
                current = self.normalize(fid, arg)
            elif verb in ("add", "remove") and fid in ("labels", "components"):
                items = self.normalize(fid, [arg])
                kept = [v for v in (current or ()) if v not in items]
                current = tuple(kept + list(items)) if verb == "add" else tuple(kept)
            else:
                raise ValueError(f"Field '{fid}' does not support operation '{verb}'.")
        return current

    def set_status(self, issue: Issue, status: str, resolution: str | None = None) -> None:
        """Move to `status`. A done status keeps the resolution given (by the transition screen)
        or the one the issue had, and never invents one: real Jira sets `resolution` only through
        a transition screen or a post-function, so a done issue may be Unresolved. Leaving the done
        category clears it (the workflow's "clear resolution" post-function on reopen). Source:
        https://confluence.atlassian.com/cloudkb/best-practices-on-using-the-resolution-field-968660796.html ."""
        target = self.config.workflow.status(status)
        if target is None:
            raise ValueError(f"unknown status {status!r}")
        changes: Record = {"status": target.name}
        if target.category == "done":
            changes["resolution"] = resolution or issue.fields.get("resolution")
            if issue.fields.get("resolutiondate") is None and changes["resolution"]:
                changes["resolutiondate"] = self.clock.now()
        else:
            changes["resolution"] = None
            changes["resolutiondate"] = None
        self.write(issue, changes)

    def add_comment(self, issue: Issue, body: Any, properties: dict[str, Any], author: str) -> dict[str, Any]:
        self._check_comment(body)
        now = self.clock.now()
        comment = {
            "id": str(self.next_comment_id),
            "author": author,
            "body": body,
            "created": now,
            "updated": now,
            "properties": dict(properties),
        }
        self.next_comment_id += 1
        issue.comments.append(comment)
        self.write(issue, {}, updated=now)
        self._notify("comment_created", issue, comment=comment)
        self._notify("jira:issue_updated", issue, comment=comment, event_type="issue_commented")
        return comment

    @staticmethod
    def _check_comment(body: Any) -> None:
        problem = adf_problem(body)
        if problem:
            raise FieldErrors({"comment": problem})
        if too_long(body):
            raise FieldErrors({"comment": TEXT_TOO_LONG})
        if not adf_text(body).strip() and not body.get("content"):
            raise FieldErrors({"comment": "Comment body can not be empty!"})

    # --- the search index
    def _index(self, issue: Issue) -> None:
        if self.search_lag_s <= 0:
            issue.visible, issue.pending = issue.fields, None
            return
        self._mature(issue, time.monotonic())
        issue.pending, issue.pending_at = issue.fields, time.monotonic() + self.search_lag_s

    @staticmethod
    def _mature(issue: Issue, now: float) -> Record | None:
        if issue.pending is not None and now >= issue.pending_at:
            issue.visible, issue.pending = issue.pending, None
        return issue.visible

    def reindex(self) -> None:
        """Make every write visible to search now (for seeding)."""
        for issue in self:
            issue.visible, issue.pending = issue.fields, None

    def search(self, query: jql.Query, reconcile: set[int]) -> list[Record]:
        """Records matching `query` as the index sees them; `reconcile` ids are read fresh."""
        now = time.monotonic()
        found: list[Record] = []
        for issue in self.by_id.values():
            record = issue.fields if issue.id in reconcile else self._mature(issue, now)
            if record is not None and query.matches(record):
                found.append(record)
        return jql.order_records(found, query.order, (("created", True), ("id", True)))

    # --- persistence
    def to_state(self) -> dict[str, Any]:
        issues = []
        for issue in self:
            fields = {k: (jira_time(v) if k in DATE_KEYS and v is not None else v) for k, v in issue.fields.items()}
            fields["labels"], fields["components"] = list(fields["labels"]), list(fields["components"])
            comments = [
                {**c, "created": jira_time(c["created"]), "updated": jira_time(c["updated"])} for c in issue.comments
            ]
            changelog = [[jira_time(at), [list(c) for c in items]] for at, items in issue.changelog]
            issues.append({"fields": fields, "comments": comments, "changelog": changelog})
        return {
            "issues": issues,
            "next_number": self.next_number,
            "next_id": self.next_id,
            "next_comment_id": self.next_comment_id,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.clear()
        for item in state.get("issues", []):
            fields: Record = {
                k: (parse_jira_time(v) if k in DATE_KEYS and v is not None else v) for k, v in item["fields"].items()
            }
            fields["labels"], fields["components"] = tuple(fields["labels"]), tuple(fields["components"])
            issue = Issue(fields["id"], fields["key"], fields)
            issue.comments = [
                {**c, "created": parse_jira_time(c["created"]), "updated": parse_jira_time(c["updated"])}
                for c in item["comments"]
            ]
            issue.changelog = [
                (parse_jira_time(at), tuple((f, a, b) for f, a, b in items)) for at, items in item.get("changelog", [])
            ]
            issue.visible = fields
            self.by_key[issue.key] = issue
            self.by_id[issue.id] = issue
        self.next_number = state.get("next_number", 1)
        self.next_id = state.get("next_id", 10000)
        self.next_comment_id = state.get("next_comment_id", 10000)


def _ref(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name") or value.get("id") or value.get("value") or "")
    return str(value)


def _component_message(value: Any) -> str:
    if isinstance(value, dict) and "id" in value:
        return f"Component with id '{value['id']}' does not exist."
    return f"Component name '{_ref(value)}' is not valid"


def _pick(table: list[tuple[str, str]], value: Any, message: str) -> str:
    """The name in an (id, name) table that `value` ({"id"} or {"name"}) refers to."""
    if isinstance(value, dict):
        for item_id, name in table:
            if str(value.get("id")) == item_id or value.get("name") == name:
                return name
    raise ValueError(message)


def _comment_add(add: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    props = {p["key"]: p.get("value") for p in add.get("properties") or [] if isinstance(p, dict) and "key" in p}
    return add.get("body"), props
