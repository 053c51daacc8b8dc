"""Which incident a Jira issue says it belongs to, and how far to believe it.

The bridge marks each issue it creates twice: the label `itsm-bridge-<key>` (which people see,
search and copy: Jira's Clone copies labels) and the issue entity property PROPERTY_KEY = {"key":
...}, set in the create body's `properties` list (POST /rest/api/3/issue, IssueUpdateDetails in
jira-platform-v3.openapi.json). A property is not a field: it is on no screen, Clone does not copy
it, and only an API call can set it. So:

- the property, when the issue has one, names the key, and the key is proven (`proven_key`);
- a label alone names a key that is not proven: a search aid for a lost create, no more;
- searches, bulk fetches and reads by id ask for the property (`properties` in the request; at
  most 5 keys per search, per the spec), so it costs no call of its own.
"""

from __future__ import annotations

from typing import Any

from itsm_bridge import correlation

PROPERTIES = [correlation.PROPERTY_KEY]
"""The entity properties every issue read asks for."""


def property_key(issue: dict[str, Any]) -> str | None:
    """The key the issue's entity property names, when the answer carries one."""
    prop = (issue.get("properties") or {}).get(correlation.PROPERTY_KEY)
    if isinstance(prop, dict) and isinstance(prop.get("key"), str) and prop["key"]:
        return str(prop["key"])
    return None


def label_key(issue: dict[str, Any]) -> str | None:
    """The key the issue's first `itsm-bridge-<key>` label names."""
    for label in (issue.get("fields") or {}).get("labels") or []:
        key = correlation.key_from_label(str(label))
        if key:
            return key
    return None


def carried_key(issue: dict[str, Any]) -> tuple[str | None, bool]:
    """(the key the issue carries, whether it is proven): the property's, else the label's."""
    proven = property_key(issue)
    return (proven, True) if proven else (label_key(issue), False)


def author_ids(user: dict[str, Any]) -> frozenset[str]:
    """The names Jira gives a user (Cloud: accountId; Data Center: name and key), to compare a
    comment's author with the API user (`GET myself`)."""
    return frozenset(str(user[k]) for k in ("accountId", "name", "key") if user.get(k))


def best_for(issues: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """Of the issues a search by label found for `key`, the one that is its record: the oldest
    whose property names `key`; else the oldest with no property (made before properties were
    set); never one whose property names another key."""
    proven = [i for i in issues if property_key(i) == key]
    unproven = [i for i in issues if property_key(i) is None]
    for group in (proven, unproven):
        if group:
            return min(group, key=lambda i: int(str(i.get("id") or 0)))
    return None
