"""Issue entity properties of the Jira sandbox, and the Clone action that does not copy them.

As jira-platform-v3.openapi.json describes them (../shared/specs):
- `GET/PUT/DELETE /rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}` and
  `GET .../properties` (the keys, each with its `self` URL). PUT takes "a valid, non-empty JSON
  value" of at most 32768 bytes, a property key of at most 255 characters; it answers 201 when
  the property is created, 200 when updated; GET and DELETE answer 404 for a missing property.
- The create body's `properties` (IssueUpdateDetails): a list of EntityProperty objects, each
  `{key, value}` and nothing else ("additionalProperties": false; key and value "Required on
  create and update"). It is not a field: no create screen governs it.
- Reads return properties only when asked: GET issue `properties` (a list; `*all`, keys, `-key`
  to exclude), bulkfetch and search/jql `properties` ("A maximum of 5 issue property keys can be
  specified").

Clone (a UI action, not a REST endpoint) makes a new issue from the fields of the original:
summary prefixed by the `jira.clone.prefix` advanced setting (default "CLONE -", see the
application-properties description in the same spec), description, priority, labels, components
and custom fields; not its status (a clone starts at the workflow's first step), comments or
entity properties.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from itsm_bridge.sandbox.core import Request, Response
from itsm_bridge.sandbox.jira.store import FieldErrors

if TYPE_CHECKING:
    from itsm_bridge.sandbox.jira.api import JiraPlatform

API = "/rest/api/3"
MAX_VALUE_BYTES = 32768
MAX_KEY_CHARS = 255
MAX_READ_KEYS = 5  # per search/jql or bulkfetch request
CLONE_PREFIX = "CLONE -"
CLONED_FIELDS = (
    "description",
    "priority",
    "labels",
    "components",
    "customfield_10050",
    "customfield_10051",
    "assignee",
)


def add_routes(platform: JiraPlatform) -> None:
    """Register the entity property routes on `platform`."""
    base = f"{API}/issue/{{key}}/properties"
    platform.route("GET", base, lambda req: _keys(platform, req))
    platform.route("GET", base + "/{prop}", lambda req: _get(platform, req))
    platform.route("PUT", base + "/{prop}", lambda req: _put(platform, req))
    platform.route("DELETE", base + "/{prop}", lambda req: _delete(platform, req))


def from_create(raw: Any) -> dict[str, Any]:
    """The `properties` of a create body as {key: value}; FieldErrors when it is not a list of
    `{key, value}` objects (EntityProperty)."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise FieldErrors(messages=["Field 'properties' must be a list of entity properties."])
    out: dict[str, Any] = {}
    for item in raw:
        if not isinstance(item, dict) or set(item) - {"key", "value"}:
            raise FieldErrors(messages=["An entity property has only 'key' and 'value'."])
        key, value = item.get("key"), item.get("value")
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
            raise FieldErrors(messages=[f"The property key must be 1 to {MAX_KEY_CHARS} characters."])
        if value is None or len(json.dumps(value)) > MAX_VALUE_BYTES:
            raise FieldErrors(
                messages=[f"The property value must be non-empty JSON of at most {MAX_VALUE_BYTES} bytes."]
            )
        out[key] = value
    return out


def requested(raw: Any) -> list[str]:
    """The property keys a search or bulkfetch asks for; FieldErrors past the spec's 5."""
    keys = [str(k) for k in raw or []]
    if len(keys) > MAX_READ_KEYS:
        raise FieldErrors(messages=[f"A maximum of {MAX_READ_KEYS} issue property keys can be specified."])
    return keys


def select(props: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    """The properties a `properties` parameter selects: `*all`, keys, and `-key` to exclude."""
    excluded = {w[1:] for w in wanted if w.startswith("-")}
    keys = list(props) if "*all" in wanted else [w for w in wanted if w in props]
    return {k: props[k] for k in keys if k not in excluded}


def clone(platform: JiraPlatform, key: str) -> str:
    """What a person's Clone does: a new issue with the original's fields and a prefixed summary,
    at the first workflow step, without its comments or entity properties. Returns the new key."""
    with platform.lock:
        original = platform._issue(key)
        values = {f: original.fields.get(f) for f in CLONED_FIELDS}
        values["summary"] = f"{CLONE_PREFIX} {original.fields.get('summary') or ''}"
        return platform.store.create(values, reporter=original.fields.get("reporter")).key


def _keys(platform: JiraPlatform, req: Request) -> Response:
    issue = platform._issue(req.params["key"])
    base = f"{platform.base_url}{API}/issue/{issue.id}/properties/"
    return Response(200, {"keys": [{"self": base + k, "key": k} for k in issue.fields["properties"]]})


def _get(platform: JiraPlatform, req: Request) -> Response:
    props = platform._issue(req.params["key"]).fields["properties"]
    if req.params["prop"] not in props:
        return _missing(platform, req.params["prop"])
    return Response(200, {"key": req.params["prop"], "value": props[req.params["prop"]]})


def _put(platform: JiraPlatform, req: Request) -> Response:
    props = platform._issue(req.params["key"]).fields["properties"]
    prop = req.params["prop"]
    if len(prop) > MAX_KEY_CHARS:
        return platform.error(400, f"The property key cannot be longer than {MAX_KEY_CHARS} characters.")
    if len(req.body) > MAX_VALUE_BYTES:
        return platform.error(400, f"The property value is too large: the limit is {MAX_VALUE_BYTES} bytes.")
    try:
        value = json.loads(req.body.decode("utf-8")) if req.body.strip() else None
    except (UnicodeDecodeError, ValueError):
        value = None
    if value is None:
        return platform.error(400, "The property value must be a valid, non-empty JSON value.")
    existed = prop in props
    props[prop] = value
    return Response(200 if existed else 201)


def _delete(platform: JiraPlatform, req: Request) -> Response:
    props = platform._issue(req.params["key"]).fields["properties"]
    if props.pop(req.params["prop"], None) is None:
        return _missing(platform, req.params["prop"])
    return Response(204)


def _missing(platform: JiraPlatform, prop: str) -> Response:
    return platform.error(404, f"The property with key '{prop}' does not exist.")
