"""Statuspage's rules for the sandbox: ids, timestamps, field checks and paging, worded as its refusals."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import datetime
from typing import Any

from itsm_bridge.sandbox.core import HTTPFailure, Request, Response

REALTIME = ("investigating", "identified", "monitoring", "resolved")
SCHEDULED = ("scheduled", "in_progress", "verifying", "completed")
IMPACTS = ("none", "minor", "major", "critical")
COMPONENT_STATUSES = ("operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage")
# The impact Statuspage derives from the worst component status an incident sets.
STATUS_IMPACT = {"degraded_performance": "minor", "partial_outage": "major", "major_outage": "critical"}
MAX_NAME, MAX_BODY, MAX_PAGE = 255, 25000, 100
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def ident(seed: int, kind: str, n: int) -> str:
    """A 12-character lowercase id like Statuspage's, stable for (seed, kind, n)."""
    value = int(hashlib.sha256(f"{seed}:{kind}:{n}".encode()).hexdigest(), 16)
    chars = []
    for _ in range(12):
        value, r = divmod(value, 36)
        chars.append(_ALPHABET[r])
    return "".join(chars)


def timestamp(when: datetime) -> str:
    """Statuspage's rendering: ISO 8601 UTC with milliseconds, `2024-01-01T12:00:00.000Z`."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def refuse(status: int, message: str) -> HTTPFailure:
    """A refusal in Statuspage's shape, `{"error": "..."}`."""
    return HTTPFailure(Response(status, {"error": message}))


def check_incident(fields: Any, creating: bool, components: Collection[str]) -> dict[str, Any]:
    """The incident fields after Statuspage's checks; the first violation answers 422."""
    if not isinstance(fields, dict):
        raise refuse(400, "param is missing or the value is empty: incident")
    name = fields.get("name")
    if creating and name is None:
        raise refuse(422, "Name can't be blank")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise refuse(422, "Name can't be blank")
    if isinstance(name, str) and len(name) > MAX_NAME:
        raise refuse(422, f"Name is too long (maximum is {MAX_NAME} characters)")
    status = fields.get("status")
    if status in SCHEDULED:
        raise refuse(422, f"Status {status} is only valid for scheduled maintenance")
    if status is not None and status not in REALTIME:
        raise refuse(422, f"Status {status!r} is not included in the list")
    impact = fields.get("impact_override")
    if impact is not None and impact not in IMPACTS:
        raise refuse(422, f"Impact override {impact!r} is not included in the list")
    body = fields.get("body")
    if body is not None and (not isinstance(body, str) or len(body) > MAX_BODY):
        raise refuse(422, f"Body must be a string of at most {MAX_BODY} characters")
    if not isinstance(fields.get("deliver_notifications", True), bool):
        raise refuse(422, "Deliver notifications must be true or false")
    metadata = fields.get("metadata")
    if metadata is not None and not (
        isinstance(metadata, dict) and all(isinstance(v, dict) for v in metadata.values())
    ):
        raise refuse(422, "Metadata must be an object whose top-level values are objects")
    _check_components(fields, components)
    return fields


def _check_components(fields: dict[str, Any], components: Collection[str]) -> None:
    """`component_ids` and `components` name components of this page, with known statuses."""
    ids = fields.get("component_ids")
    statuses = fields.get("components")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(c, str) for c in ids)):
        raise refuse(422, "Component ids must be a list of component ids")
    if statuses is not None and not isinstance(statuses, dict):
        raise refuse(422, "Components must map component ids to statuses")
    for cid in [*(ids or []), *(statuses or {})]:
        if cid not in components:
            raise refuse(422, f"Component {cid} does not exist on this page")
    for cid, status in (statuses or {}).items():
        if status not in ("", *COMPONENT_STATUSES):
            raise refuse(422, f"Component status {status!r} for {cid} is not included in the list")


def check_component(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields of a component PATCH after Statuspage's checks (422 on the first violation)."""
    status = fields.get("status")
    if status not in (None, "", *COMPONENT_STATUSES):
        raise refuse(422, f"Status {status!r} is not included in the list")
    for key in ("name", "description"):
        if key in fields and not isinstance(fields[key], str):
            raise refuse(422, f"{key.capitalize()} must be a string")
    if fields.get("name") == "":
        raise refuse(422, "Name can't be blank")
    return fields


def wrapped(req: Request, key: str) -> dict[str, Any]:
    """`{"<key>": {...}}` from the body; a missing wrapper is Rails' 400."""
    body = req.json()
    inner = body.get(key) if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        raise refuse(400, f"param is missing or the value is empty: {key}")
    return inner


def _int_arg(req: Request, name: str, default: int) -> int:
    raw = req.arg(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise refuse(400, f"{name} must be an integer") from None


def page_of(rows: list[Any], req: Request, size_param: str) -> list[Any]:
    """One page of rows: `page` from 1, size capped at 100 (the documented maximum)."""
    size = min(MAX_PAGE, max(1, _int_arg(req, size_param, MAX_PAGE)))
    page = max(1, _int_arg(req, "page", 1))
    return rows[(page - 1) * size : page * size]


def searchable(inc: dict[str, Any]) -> str:
    """The text `q` searches: name, status and every update's body."""
    return " ".join([inc["name"], inc["status"], *(u["body"] for u in inc["updates"])]).lower()
