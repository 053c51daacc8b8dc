"""ServiceNow's outbound REST from a business rule, as docs/servicenow/ sets it up, sent by the sandbox.

ServiceNow signs nothing by itself: the business rule (after insert/update on incident, after insert
on sys_journal_field) builds the body, takes the instance's time and a GUID, computes
`GlideCertificateEncryption.generateMac(key, "HmacSHA256", timestamp + "." + body)` (base64) and
posts with RESTMessageV2; docs/servicenow/README.md cites both APIs. The headers and body are the
bridge's contract (X-Bridge-Timestamp, X-Bridge-Delivery, X-Bridge-Signature). A business rule's
call is made once: a refused or failed delivery is not retried (the serve sweep catches it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import TYPE_CHECKING, Any

from itsm_bridge.sandbox.servicenow.encoded_query import Row
from itsm_bridge.sandbox.webhooks.sender import Delivery, WebhookSender

if TYPE_CHECKING:
    from itsm_bridge.sandbox.servicenow.api import ServiceNowPlatform

PATH = "/webhooks/servicenow"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`X-Bridge-Signature`: `sha256=` and the base64 HMAC-SHA256 of "<timestamp>.<raw body>"."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(mac).decode("ascii")


class ServiceNowWebhooks:
    """Turns the ServiceNow sandbox's incident and journal changes into deliveries to `/webhooks/servicenow`."""

    def __init__(self, platform: ServiceNowPlatform, base_url: str, secret: str, sender: WebhookSender) -> None:
        self.platform = platform
        self.url = base_url.rstrip("/") + PATH
        self._secret = secret
        self.sender = sender
        platform.store.notify = self.changed

    def detach(self) -> None:
        self.platform.store.notify = None

    def changed(self, table: str, row: Row, operation: str) -> None:
        """Called by the store, under the platform's lock, as the business rule runs after the write."""
        payload = self.payload(table, row, operation)
        if payload is None:
            return
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(self.platform.clock.now().timestamp()))  # the instance's clock
        delivery_id = uuid.uuid4().hex  # gs.generateGUID(): 32 hex characters
        headers = {
            "Content-Type": "application/json",
            "X-Bridge-Timestamp": timestamp,
            "X-Bridge-Delivery": delivery_id,
            "X-Bridge-Signature": signature(self._secret, timestamp, body),
        }
        subject = str(payload.get("element_id") or payload["sys_id"])
        self.sender.submit(
            Delivery("servicenow", f"{table}.{operation}", subject, self.url, body, headers, delivery_id)
        )

    def payload(self, table: str, row: Row, operation: str) -> dict[str, Any] | None:
        tables = self.platform.store.tables
        if table == "incident":
            incident = tables["incident"]
            return {
                "table": "incident",
                "sys_id": row["sys_id"],
                "number": incident.value(row, "number"),
                "operation": operation,
                "sys_updated_on": incident.value(row, "sys_updated_on"),
            }
        journal = tables["sys_journal_field"]
        if journal.value(row, "name") != "incident":  # the rule's condition: notes on incidents only
            return None
        return {
            "table": "sys_journal_field",
            "sys_id": row["sys_id"],
            "element_id": journal.value(row, "element_id"),
            "element": journal.value(row, "element"),
            "operation": "insert",
        }
