"""Jira's wire formats: JQL text, issue fields to request, issues and comments read into records.

Vendor formats end here: times become UTC datetimes, ADF becomes plain text, and category and
service fields (components, labels or a select custom field) become plain lists of names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from itsm_bridge import correlation
from itsm_bridge.config_schema import JiraSettings
from itsm_bridge.connectors.jira.adf import adf_to_text, text_to_adf_within
from itsm_bridge.connectors.jira.identity import author_ids, carried_key
from itsm_bridge.errors import RemoteValidation
from itsm_bridge.model import Comment, RemoteRef, Visibility
from itsm_bridge.records import RemoteRecord

PLATFORM = "jira"
INTERNAL_PROPERTY = "sd.public.comment"
BASE_FIELDS = (
    "summary",
    "description",
    "status",
    "priority",
    "resolution",
    "labels",
    "created",
    "updated",
    "resolutiondate",
    "assignee",
    "reporter",
    "comment",
)


def jql_value(value: str) -> str:
    """`value` as one quoted JQL string: the only way any value enters a JQL query."""
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


def jql_time(when: datetime, zone: tzinfo) -> str:
    """A JQL date literal, minute precision, in the searching user's time zone (JQL's zone)."""
    return when.astimezone(zone).strftime("%Y/%m/%d %H:%M")


def user_zone(myself: dict[str, Any]) -> tzinfo:
    try:
        return ZoneInfo(str(myself.get("timeZone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def search_fields(settings: JiraSettings) -> list[str]:
    """The issue fields a record is built from (the search API returns only ids by default)."""
    fields = list(BASE_FIELDS)
    for extra in (
        settings.category_field,
        settings.service_field,
        settings.group_field,
        settings.communication_owner_field,
    ):
        if extra and extra not in fields:
            fields.append(extra)
    return fields


def server_time(value: str | None) -> datetime | None:
    """An HTTP `Date` header (Jira's clock, to the second) as an aware UTC datetime."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def written_offset(value: str) -> timedelta | None:
    """The UTC offset a Jira time was written with (`...+1100`): the user's zone at that moment."""
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(value, fmt).utcoffset()
        except ValueError:
            continue
    return None


def parse_time(value: str | None) -> datetime | None:
    """Jira's `2024-05-01T10:00:00.000+0000` (or ISO 8601) as an aware UTC datetime."""
    if not value:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(value, fmt).astimezone(UTC)
        except ValueError:
            continue
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def names(value: Any) -> list[str]:
    """Components, labels, or a (cascading / multi) select option, as a list of names."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [n for item in value for n in names(item)]
    if isinstance(value, dict):
        own = value.get("name") or value.get("value")
        out = [str(own)] if own else []
        return out + names(value.get("child"))
    return [str(value)]


def _name(value: Any) -> str | None:
    return str(value.get("name")) if isinstance(value, dict) and value.get("name") else None


def is_internal(comment: dict[str, Any]) -> bool:
    """JSM marks internal comments with `jsdPublic: false` or the `sd.public.comment` property."""
    for prop in comment.get("properties") or []:
        if prop.get("key") == INTERNAL_PROPERTY and isinstance(prop.get("value"), dict):
            return bool(prop["value"].get("internal"))
    return comment.get("jsdPublic") is False


def comments(
    raw: Iterable[dict[str, Any]], account: Callable[[], frozenset[str]] | None = None
) -> tuple[tuple[Comment, ...], tuple[str, ...]]:
    """Comments people wrote, and the ids of the notes the bridge's own copies name. A comment is
    the bridge's copy when it carries the marker and its author is the API user (`account`, asked
    only when a comment carries the marker); a person's comment starting with the marker is a
    person's comment."""
    out, copied = [], []
    for c in raw:
        body = adf_to_text(c.get("body"))
        if body.lstrip().startswith(correlation.NOTE_MARKER):
            copy = correlation.bridge_copy(body, author_ids(c.get("author") or {}), account() if account else None)
            if copy is not None:
                copied += [copy.note_id] if copy.note_id else []
                continue
        created = parse_time(c.get("created")) or datetime.now(UTC)
        author = (c.get("author") or {}).get("displayName") or (c.get("author") or {}).get("accountId") or ""
        visibility = Visibility.INTERNAL if is_internal(c) else Visibility.PUBLIC
        out.append(
            Comment(
                author=author,
                body=body,
                created=created,
                visibility=visibility,
                origin=PLATFORM,
                id=str(c.get("id") or ""),
            )
        )
    return tuple(out), tuple(copied)


def to_record(
    issue: dict[str, Any],
    settings: JiraSettings,
    all_comments: list[dict[str, Any]] | None = None,
    account: Callable[[], frozenset[str]] | None = None,
    teams: frozenset[str] = frozenset(),
) -> RemoteRecord:
    """A RemoteRecord from an issue as search or GET issue returns it. `teams` are Team fields:
    their value is read as the team's id (the object's `id`, not its name)."""
    f = issue.get("fields") or {}
    updated_raw = str(f.get("updated") or "")
    updated = parse_time(updated_raw) or datetime.now(UTC)
    people = {k: (f.get(k) or {}) for k in ("assignee", "reporter")}
    fields: dict[str, Any] = {
        "summary": f.get("summary") or "",
        "description": adf_to_text(f.get("description")),
        "status": _name(f.get("status")),
        "priority": _name(f.get("priority")),
        "resolution": _name(f.get("resolution")),
        "labels": list(f.get("labels") or []),
        "created": parse_time(f.get("created")),
        "updated": updated,
        "resolutiondate": parse_time(f.get("resolutiondate")),
        "assignee": people["assignee"].get("accountId"),
        "assignee.email": people["assignee"].get("emailAddress"),  # null when the user's profile hides it
        "reporter": people["reporter"].get("accountId"),
    }
    for extra in (settings.category_field, settings.service_field, settings.group_field):
        if extra in teams:  # team-field-in-jira-rest-api: {"id": <team id>, "name": ..., "title": ...}
            fields[extra] = [str(f[extra]["id"])] if isinstance(f.get(extra), dict) else names(f.get(extra))
        elif extra is not None and extra != "labels":
            fields[extra] = names(f.get(extra))
    if settings.communication_owner_field:  # a user picker's object or a text, as Jira gives it
        fields[settings.communication_owner_field] = f.get(settings.communication_owner_field)
    display = {k: str(v.get("displayName")) for k, v in people.items() if v.get("displayName")}
    if fields["status"]:
        display["status"] = fields["status"]
    raw_comments = all_comments if all_comments is not None else (f.get("comment") or {}).get("comments") or []
    people_notes, copied = comments(raw_comments, account)
    key, proven = carried_key(issue)  # the entity property's key when the answer carries one, else the label's
    return RemoteRecord(
        ref=RemoteRef(PLATFORM, str(issue["id"]), str(issue.get("key") or "")),
        fields=fields,
        version=updated_raw,
        updated=updated,
        correlation_key=key,
        proven_key=proven,
        display=display,
        comments=people_notes,
        copied=copied,
    )


def comments_incomplete(issue: dict[str, Any]) -> bool:
    """True when the issue's embedded comment page does not hold all its comments."""
    page = (issue.get("fields") or {}).get("comment")
    if not isinstance(page, dict):
        return False
    return int(page.get("total") or 0) > len(page.get("comments") or [])


def checked_key(key: str) -> str:
    """`key`, when it can go into a label and a JQL string; else RemoteValidation (nothing sent)."""
    if not correlation.valid_key(key):
        raise RemoteValidation(f"correlation key {key!r} is not usable in a label", platform=PLATFORM)
    return key


def note_body(comment: Comment) -> str:
    """The text itsm-bridge writes for a note: marked as ours (never imported back)."""
    return correlation.mark(comment.body, comment.origin or "itsm-bridge", comment.id)


def comment_json(comment: Comment) -> dict[str, Any]:
    """A Comment as Jira takes it, alone or riding a create's `update`; internal ones carry
    `sd.public.comment` internal=true."""
    out: dict[str, Any] = {"body": text_to_adf_within(note_body(comment))}  # a long note is cut, with a note saying so
    if Visibility(comment.visibility) is Visibility.INTERNAL:
        out["properties"] = [{"key": INTERNAL_PROPERTY, "value": {"internal": True}}]
    return out
