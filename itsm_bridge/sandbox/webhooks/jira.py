"""Jira Cloud's admin webhooks, as the sandbox's Jira sends them.

Sources:
- https://developer.atlassian.com/cloud/jira/platform/webhooks/ : the events (`jira:issue_created`,
  `jira:issue_updated`, `jira:issue_deleted`, `comment_created`, `comment_updated`), the callback
  body (`timestamp` in ms, `webhookEvent`, `issue_event_type_name`, `issue`, `changelog` with its
  `items`, `comment`), the "Secure admin webhooks" section (a webhook registered with a secret is
  signed: `X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`, the WebSub method) and
  the retry policy (retried on 408, 409, 425, 429, 5xx and on a failed or timed-out connection,
  `X-Atlassian-Webhook-Retry` carrying the retry count; `X-Atlassian-Webhook-Identifier` is unique
  per delivery and unchanged across retries, so a webhook may arrive more than once).
  The retry announcement: https://community.developer.atlassian.com/t/new-jira-cloud-webhook-retry-policy/30554
- Jira Data Center says the same of the secret and header:
  https://confluence.atlassian.com/adminjiraserver/managing-webhooks-938846912.html
A comment also raises `jira:issue_updated` (`issue_commented`, `issue_comment_edited`) carrying
it, as Jira does; the comment events' `issue` holds a few fields only.
Jira waits up to 30 minutes between retries; the sandbox keeps the count (5) and scales the waits
down to seconds (`BACKOFF_S`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import uuid
from typing import TYPE_CHECKING, Any

from itsm_bridge.sandbox.jira.schema import FIELDS
from itsm_bridge.sandbox.jira.store import Issue, adf_text
from itsm_bridge.sandbox.webhooks.sender import Delivery, WebhookSender

if TYPE_CHECKING:
    from itsm_bridge.sandbox.jira.api import JiraPlatform

PATH = "/webhooks/jira"
RETRY_STATUSES = frozenset({0, 408, 409, 425, 429, *range(500, 600)})
BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 4.0)
COMMENT_EVENT_FIELDS = ["summary", "issuetype", "project", "assignee", "priority", "status"]


def signature(secret: str, body: bytes) -> str:
    """`X-Hub-Signature` of a body: `sha256=` and the lower-case hex HMAC-SHA256 under the secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class JiraWebhooks:
    """Turns the Jira sandbox's changes into signed deliveries to `base_url` + `/webhooks/jira`."""

    def __init__(self, platform: JiraPlatform, base_url: str, secret: str, sender: WebhookSender) -> None:
        self.platform = platform
        self.url = base_url.rstrip("/") + PATH
        self._secret = secret
        self.sender = sender
        self._changelog_ids = itertools.count(10000)
        platform.store.notify = self.changed

    def detach(self) -> None:
        self.platform.store.notify = None

    def changed(self, event: str, issue: Issue, detail: dict[str, Any]) -> None:
        """Called by the store, under the platform's lock: render now, send later."""
        body = json.dumps(self.payload(event, issue, detail), ensure_ascii=False, separators=(",", ":")).encode()
        delivery_id = str(uuid.uuid4())
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "User-Agent": "Atlassian Webhook HTTP Client",
            "X-Atlassian-Webhook-Identifier": delivery_id,
            "X-Atlassian-Webhook-Flow": "Primary",
            "X-Hub-Signature": signature(self._secret, body),
        }
        self.sender.submit(
            Delivery(
                "jira",
                event,
                issue.key,
                self.url,
                body,
                headers,
                delivery_id,
                retry_statuses=RETRY_STATUSES,
                backoff_s=BACKOFF_S,
                retry_header="X-Atlassian-Webhook-Retry",
            )
        )

    def payload(self, event: str, issue: Issue, detail: dict[str, Any]) -> dict[str, Any]:
        views = self.platform.views
        moment = self.platform.clock.now()
        body: dict[str, Any] = {"timestamp": int(moment.timestamp() * 1000), "webhookEvent": event}
        comment = detail.get("comment")
        if event.startswith("comment_"):
            body["issue"] = views.issue(issue, issue.fields, COMMENT_EVENT_FIELDS)
        else:
            body["issue_event_type_name"] = detail.get("event_type") or event.split(":")[-1]
            body["issue"] = views.issue(issue, issue.fields, ["*navigable", "-comment"])
        body["issue"].pop("expand", None)
        if comment is not None:
            body["comment"] = views.comment(comment, False)
        if detail.get("changes"):
            items = [_item(fid, old, new) for fid, old, new in detail["changes"]]
            body["changelog"] = {"id": str(next(self._changelog_ids)), "items": items}
        return body


def _item(fid: str, old: Any, new: Any) -> dict[str, Any]:
    """One changelog item: the field and its values before and after, as ids and as text."""
    custom = fid.startswith("customfield_")
    name = FIELDS[fid][0] if custom and fid in FIELDS else fid
    return {
        "field": name,
        "fieldtype": "custom" if custom else "jira",
        "fieldId": fid,
        "from": _raw(old),
        "fromString": _text(old),
        "to": _raw(new),
        "toString": _text(new),
    }


def _raw(value: Any) -> str | None:
    return None if value is None or isinstance(value, dict | tuple | list) else str(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return adf_text(value)
    if isinstance(value, tuple | list):
        return " ".join(str(v) for v in value)
    return str(value)
