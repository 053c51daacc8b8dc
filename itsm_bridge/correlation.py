"""How itsm-bridge marks what it links and what it wrote, the same on every platform.

- The canonical key travels with each copy: ServiceNow `correlation_id` (with
  `correlation_display` = CORRELATION_DISPLAY), a Jira label `itsm-bridge-<key>` and the issue
  entity property PROPERTY_KEY, a status-page incident's metadata.
- Notes and comments itsm-bridge writes start with NOTE_MARKER, so reading them back never
  imports them again (no echo).
"""

from __future__ import annotations

import re

CORRELATION_DISPLAY = "itsm-bridge"
LABEL_PREFIX = "itsm-bridge-"
PROPERTY_KEY = "itsm-bridge"
NOTE_MARKER = "[itsm-bridge]"

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")


def valid_key(key: str) -> bool:
    """Keys go into labels, queries and URLs: letters, digits and . _ : - only."""
    return bool(_KEY.match(key))


def label_for(key: str) -> str:
    return f"{LABEL_PREFIX}{key}"


def key_from_label(label: str) -> str | None:
    return label[len(LABEL_PREFIX) :] if label.startswith(LABEL_PREFIX) else None


def mark(body: str, origin: str) -> str:
    """A note body as itsm-bridge writes it: marker, where it came from, then the text."""
    return f"{NOTE_MARKER} ({origin}) {body}"


def is_ours(body: str) -> bool:
    return body.lstrip().startswith(NOTE_MARKER)
