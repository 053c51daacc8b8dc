"""Verifying a vendor's webhook and reading the one thing serve takes from it: which record.

A webhook is only a hint. Whatever its body says about a record's state is never used: serve
takes the platform and the record's id from it, and the worker reads that record again through
the API before anything is planned. So a forged body could at most ask for a sync of a record
that then says what it really says.

Jira (Cloud admin webhooks saved with a secret; https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks):
`X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>` (the WebSub method=signature form),
the delivery id in `X-Atlassian-Webhook-Identifier` (unchanged across Jira's retries).

ServiceNow (outbound REST from a business rule, which signs with
GlideCertificateEncryption.generateMac, base64): `X-Bridge-Timestamp: <unix seconds>`,
`X-Bridge-Delivery: <id>`, `X-Bridge-Signature: sha256=<base64 HMAC-SHA256(secret,
"<timestamp>.<raw body>")>`; a timestamp more than five minutes away from now is refused, so a
captured request cannot be replayed later.

Every comparison is `hmac.compare_digest`. A secret whose variable is unset refuses every
delivery: nothing is ever accepted unsigned.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from itsm_bridge.connectors.jira.adf import adf_to_text
from itsm_bridge.connectors.jira.identity import author_ids

MAX_SKEW_S = 300  # ServiceNow: a timestamp further than this from now is refused


class Rejected(Exception):
    """A delivery refused: `status` is what the sender gets (no detail), `reason` what is logged
    and counted."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Note:
    """The one note an event is about, when adding it is all the event says: its author's ids
    and its text (to tell the bridge's own copy, `serve.echoes`)."""

    author: frozenset[str]
    text: str


@dataclass(frozen=True)
class Hint:
    """The record a verified webhook names: its platform and remote id (the key when the payload
    names one the store already links, else found by the worker)."""

    platform: str
    remote_id: str
    event: str
    note: Note | None = None


@dataclass(frozen=True)
class Delivery:
    """A verified delivery: its id (for dedupe) and the record it hints at (None: an event serve
    does not act on, answered and counted)."""

    platform: str
    delivery_id: str
    hint: Hint | None


def _digest(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def _signature(headers: Mapping[str, str], name: str) -> str:
    """The value after `sha256=` of a signature header; Rejected when absent or of another method."""
    value = headers.get(name)
    if not value:
        raise Rejected(401, "signature_missing")
    method, _, sig = value.strip().partition("=")
    if method.lower() != "sha256" or not sig:
        raise Rejected(401, "signature_invalid")
    return sig


def verify_jira(headers: Mapping[str, str], body: bytes, secret: str | None) -> str:
    """Check a Jira delivery's signature; return its delivery id."""
    if not secret:
        raise Rejected(401, "secret_unset")
    sig = _signature(headers, "x-hub-signature")
    expected = _digest(secret, body).hex()
    if not hmac.compare_digest(expected.encode(), sig.lower().encode("ascii", "replace")):
        raise Rejected(401, "signature_invalid")
    delivery = headers.get("x-atlassian-webhook-identifier", "").strip()
    if not delivery:
        raise Rejected(400, "delivery_missing")
    return delivery


def verify_servicenow(
    headers: Mapping[str, str], body: bytes, secret: str | None, now: Callable[[], float] = time.time
) -> str:
    """Check a ServiceNow delivery's signature and timestamp; return its delivery id."""
    if not secret:
        raise Rejected(401, "secret_unset")
    sig = _signature(headers, "x-bridge-signature")
    stamp = headers.get("x-bridge-timestamp", "").strip()
    if not stamp:
        raise Rejected(401, "signature_missing")
    try:
        given = base64.b64decode(sig, validate=True)
    except (binascii.Error, ValueError):
        raise Rejected(401, "signature_invalid") from None
    if not hmac.compare_digest(_digest(secret, stamp.encode("utf-8") + b"." + body), given):
        raise Rejected(401, "signature_invalid")
    try:
        sent = int(stamp)
    except ValueError:
        raise Rejected(401, "timestamp_invalid") from None
    if abs(now() - sent) > MAX_SKEW_S:
        raise Rejected(401, "timestamp_stale")
    delivery = headers.get("x-bridge-delivery", "").strip()
    if not delivery:
        raise Rejected(400, "delivery_missing")
    return delivery


def _payload(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Rejected(400, "payload_invalid") from None
    if not isinstance(data, dict):
        raise Rejected(400, "payload_invalid")
    return data


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


JIRA_EVENTS = {"jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created", "comment_updated"}


def jira_hint(body: bytes) -> Hint | None:
    """The issue a verified Jira delivery names (its id), or None for an event serve ignores."""
    data = _payload(body)
    event = _text(data.get("webhookEvent")) or ""
    issue = data.get("issue")
    if event not in JIRA_EVENTS or not isinstance(issue, dict):
        return None
    issue_id = _text(issue.get("id"))
    if issue_id is None:
        raise Rejected(400, "payload_invalid")
    return Hint("jira", issue_id, event, _added_note(event, data))


def _added_note(event: str, data: dict[str, Any]) -> Note | None:
    """The comment a Jira event only adds: `comment_created`, or `jira:issue_updated` of type
    `issue_commented` with no changelog (Jira raises both for one new comment). None for any
    event that may say more (an edit, a transition with a comment)."""
    comment = data.get("comment")
    only_added = event == "comment_created" or (
        event == "jira:issue_updated"
        and data.get("issue_event_type_name") == "issue_commented"
        and not data.get("changelog")
    )
    if not only_added or not isinstance(comment, dict):
        return None
    author = comment.get("author")
    body = comment.get("body")
    # a body given as wiki markup (the v2 form) may escape the marker's brackets
    text = body.replace("\\[", "[").replace("\\]", "]") if isinstance(body, str) else adf_to_text(body)
    return Note(author_ids(author) if isinstance(author, dict) else frozenset(), text)


def servicenow_hint(body: bytes) -> Hint | None:
    """The incident a verified ServiceNow delivery names (its sys_id; a note's incident for a
    journal entry), or None for a table serve ignores."""
    data = _payload(body)
    table = _text(data.get("table"))
    operation = _text(data.get("operation")) or ""
    if table == "incident":
        sys_id = _text(data.get("sys_id"))
    elif table == "sys_journal_field" and data.get("element") in ("comments", "work_notes"):
        sys_id = _text(data.get("element_id"))
    else:
        return None
    if sys_id is None:
        raise Rejected(400, "payload_invalid")
    return Hint("servicenow", sys_id, f"{table}:{operation}")


VERIFIERS: dict[str, tuple[Callable[[Mapping[str, str], bytes, str | None], str], Callable[[bytes], Hint | None]]] = {
    "jira": (verify_jira, jira_hint),
    "servicenow": (verify_servicenow, servicenow_hint),
}


def verified(platform: str, headers: Mapping[str, str], body: bytes, secret: str | None) -> Delivery:
    """A delivery to `/webhooks/<platform>` checked and read; Rejected otherwise. `headers` with
    lower-case names."""
    verify, hint = VERIFIERS[platform]
    delivery_id = verify(headers, body, secret)
    return Delivery(platform, delivery_id, hint(body))
