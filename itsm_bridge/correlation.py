"""How itsm-bridge marks what it links and what it wrote, the same on every platform.

- The canonical key travels with each copy: ServiceNow `correlation_id` (with
  `correlation_display` = CORRELATION_DISPLAY), a Jira label `itsm-bridge-<key>` and the issue
  entity property PROPERTY_KEY, a status-page incident's metadata.
- Notes and comments itsm-bridge writes start with NOTE_MARKER and name the note they copy
  (`[itsm-bridge] (servicenow:<note id>) ...`). A note is the bridge's own copy only when it
  starts with the marker AND its author is the integration user: a person's note that starts
  with the marker text is still a person's note, and syncs. The copied note's id lets a fresh
  store see which notes are already on a platform, so a reset copies nothing twice.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

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


_MARKED = re.compile(r"^\s*\[itsm-bridge\] \((?P<origin>[A-Za-z][\w.-]*)(?::(?P<id>[^\s()]+))?\) ")


@dataclass(frozen=True)
class NoteCopy:
    """A note itsm-bridge wrote: the platform it copied it from and that note's id ("" when
    written before copies named their note)."""

    origin: str
    note_id: str


def mark(body: str, origin: str, note_id: str = "") -> str:
    """A note body as itsm-bridge writes it: marker, where it came from (and the note's id), then the text."""
    return f"{NOTE_MARKER} ({origin}:{note_id}) {body}" if note_id else f"{NOTE_MARKER} ({origin}) {body}"


def bridge_copy(body: str, author: Collection[str], integration: Collection[str] | None) -> NoteCopy | None:
    """The copy itsm-bridge wrote, when `body` carries its marker and `author` (the names a
    platform gives the note's author) is the integration user; None for a person's note.

    `integration` None: the platform does not say who the bridge is (a ServiceNow token whose
    user is not configured); then only a marker naming a note id counts."""
    if not body.lstrip().startswith(NOTE_MARKER):
        return None
    found = _MARKED.match(body)
    if integration is None:
        return NoteCopy(found["origin"], found["id"]) if found and found["id"] else None
    if not set(author) & set(integration):
        return None
    return NoteCopy(found["origin"], found["id"] or "") if found else NoteCopy("", "")
