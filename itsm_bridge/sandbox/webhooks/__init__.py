"""The sandbox's vendors send webhooks: Jira's admin webhooks and ServiceNow's business-rule REST calls.

`attach(sandbox, base_url, secret)` makes every later change of the sandbox's Jira (issue created,
updated, deleted; comment created, updated) and ServiceNow (incident insert and update, a journal
entry inserted) post to `base_url` + `/webhooks/jira` or `/webhooks/servicenow`, signed as
WEBHOOKS (see `jira` and `servicenow`), from a background `WebhookSender`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from itsm_bridge.sandbox.faults import DeliveryFaults
from itsm_bridge.sandbox.webhooks.jira import JiraWebhooks
from itsm_bridge.sandbox.webhooks.sender import Attempt, Delivery, WebhookSender
from itsm_bridge.sandbox.webhooks.servicenow import ServiceNowWebhooks

if TYPE_CHECKING:
    from itsm_bridge.sandbox.app import Sandbox

__all__ = ["Attempt", "Delivery", "Webhooks", "WebhookSender", "attach", "check_base_url"]


def check_base_url(base_url: str) -> str:
    """The receiver's base URL without a trailing slash; ValueError when it is not http(s)://host[:port][/path]."""
    split = urlsplit(base_url)
    if split.scheme not in ("http", "https") or not split.hostname or split.query or split.fragment:
        raise ValueError(f"{base_url!r} is not an http(s) URL such as http://127.0.0.1:8080")
    return base_url.rstrip("/")


@dataclass
class Webhooks:
    """The webhooks a sandbox sends: where to, and the sender to flush, fault or inspect."""

    base_url: str
    sender: WebhookSender
    jira: JiraWebhooks
    servicenow: ServiceNowWebhooks

    def stop(self) -> None:
        self.jira.detach()
        self.servicenow.detach()
        self.sender.stop()


def attach(
    sandbox: Sandbox, base_url: str, secret: str, faults: str | DeliveryFaults = "none", seed: int = 0
) -> Webhooks:
    """Start sending webhooks for every later change; `secret` signs them (never logged or shown)."""
    if not secret:
        raise ValueError("the webhook secret is empty")
    base = check_base_url(base_url)
    sender = WebhookSender(faults, seed=seed)
    return Webhooks(
        base,
        sender,
        JiraWebhooks(sandbox.jira, base, secret, sender),
        ServiceNowWebhooks(sandbox.servicenow, base, secret, sender),
    )
