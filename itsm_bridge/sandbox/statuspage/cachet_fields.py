"""Cachet's answers for the sandbox: its error shape, timestamps, and field rules worded as its
(Laravel's) validator words them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from itsm_bridge.sandbox import local_time
from itsm_bridge.sandbox.core import HTTPFailure, Request, Response

TITLES = {
    400: ("Bad Request", "The request cannot be fulfilled due to bad syntax."),
    401: ("Unauthorized", "Authentication is required and has failed or has not yet been provided."),
    404: ("Not Found", "The requested resource could not be found but may be available again in the future."),
    405: (
        "Method Not Allowed",
        "A request was made of a resource using a request method not supported by that resource.",
    ),
    429: ("Too Many Requests", "The user has sent too many requests in a given amount of time."),
    503: ("Service Unavailable", "The server is currently unavailable. It may be overloaded or down for maintenance."),
}


TIME_COLUMNS = ("occurred_at", "created_at", "updated_at", "deleted_at")


def timestamp(when: datetime) -> str:
    """How a time is stored: `YYYY-MM-DD HH:MM:SS` in UTC (Cachet's `cachet.timezone` default,
    config/cachet.php); answers show it in the app's zone (`in_zone`)."""
    return when.astimezone(UTC).strftime(local_time.TIME_FORMAT)


def in_zone(row: dict[str, Any], zone: str) -> dict[str, Any]:
    """`row` with its times as Cachet 2.x answers them: naive `Y-m-d H:i:s` in the instance's
    `app_timezone` setting, not UTC. Source: CachetHQ/Cachet 2.4
    app/Presenters/Traits/TimestampsTrait.php (`DateFactory::make($t)->toDateTimeString()`),
    app/Services/Dates/DateFactory.php (`setTimezone($this->cachetTimezone)`) and
    app/Providers/ConfigServiceProvider.php (`setting.app_timezone` -> `cachet.timezone`)."""
    if zone == "UTC":
        return row
    return {**row, **{column: local_time.zoned(row[column], zone) for column in TIME_COLUMNS if row.get(column)}}


def cachet_error(status: int, detail: str | None = None, details: list[str] | None = None) -> Response:
    """An answer in Cachet's JSON API error shape."""
    title, default = TITLES.get(status, ("Error", "The request failed."))
    error: dict[str, Any] = {"id": str(uuid.uuid4()), "status": status, "title": title, "detail": detail or default}
    if details:
        error["meta"] = {"details": details}
    return Response(status, {"errors": [error]})


def invalid(*messages: str) -> HTTPFailure:
    """A 400 naming each violated field, in `detail` and in `meta.details`."""
    return HTTPFailure(cachet_error(400, " ".join(messages), list(messages)))


def not_found() -> HTTPFailure:
    """Cachet's 404."""
    return HTTPFailure(cachet_error(404))


def body_of(req: Request) -> dict[str, Any]:
    """The JSON object of the body ({} when empty); anything else is a 400."""
    body = req.json()
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    return body


def text(value: Any, field: str, *, required: bool = False, limit: int | None = None) -> str:
    """A string field (`required`: not blank; `limit`: at most that many characters)."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise invalid(f"The {field} must be a string.")
    if required and not value.strip():
        raise invalid(f"The {field} field is required.")
    if limit is not None and len(value) > limit:
        raise invalid(f"The {field} may not be greater than {limit} characters.")
    return value


def integer(value: Any, field: str, low: int, high: int) -> int:
    """An integer field (a JSON number or digits) within [low, high]."""
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())):
        raise invalid(f"The {field} must be an integer.")
    number = int(value)
    if not low <= number <= high:
        raise invalid(f"The {field} must be between {low} and {high}.")
    return number


def flag(value: Any, field: str) -> bool:
    """A boolean field as Laravel reads one: true/false, 1/0, "1"/"0", "true"/"false"."""
    if value in (True, 1, "1", "true"):
        return True
    if value in (False, 0, "0", "false"):
        return False
    raise invalid(f"The {field} field must be true or false.")


def query_int(req: Request, name: str, default: int) -> int:
    """A non-negative integer query parameter, or `default` when absent."""
    raw = req.arg(name)
    return default if raw in (None, "") else integer(raw, name, 0, 2**31 - 1)


def find(store: dict[int, dict[str, Any]], key: int | str) -> dict[str, Any]:
    """The row with id `key`, or a 404."""
    row = store.get(int(key)) if str(key).isdigit() else None
    if row is None:
        raise not_found()
    return row


def filtered(
    rows: list[dict[str, Any]], req: Request, ints: tuple[str, ...], flags: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Exact-match filters from the query, as Cachet's searchable scope applies them."""
    for key in ints:
        if req.arg(key) not in (None, ""):
            wanted = integer(req.arg(key), key, 0, 2**31 - 1)
            rows = [r for r in rows if int(r[key]) == wanted]
    for key in flags:
        if req.arg(key) not in (None, ""):
            wanted_flag = flag(req.arg(key), key)
            rows = [r for r in rows if bool(r[key]) == wanted_flag]
    return rows


def sorted_rows(rows: list[dict[str, Any]], req: Request, allowed: tuple[str, ...]) -> list[dict[str, Any]]:
    """`sort` and `order` (asc | desc), id breaking ties. A column not in the model's `$sortable`
    list is ignored, `order` with it: the rows come in id order (SortableTrait::scopeSort)."""
    order = req.arg("order", "asc")
    if order not in ("asc", "desc"):
        raise invalid("The selected order is invalid.")
    if req.arg("sort") not in allowed:
        return sorted(rows, key=lambda r: r["id"])
    key = str(req.arg("sort"))
    return sorted(rows, key=lambda r: (r[key], r["id"]), reverse=order == "desc")
