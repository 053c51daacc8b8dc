"""What a platform hands over, whatever the vendor: a record in its own fields, and a read of them.

The ground floor under connectors, mapping and sync: a connector produces these, a mapper turns
them into the canonical model, the engine reads them. Nothing here imports any of the three.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from itsm_bridge.model import Comment, RemoteRef


@dataclass(frozen=True)
class RemoteRecord:
    """One vendor record: its own field values (values, not display values, for logic), its own
    version, and its ref."""

    ref: RemoteRef
    fields: dict[str, Any]  # vendor field -> value (choice values, sys_ids, names)
    version: str  # sys_mod_count, Jira `updated`, page incident `updated_at`
    updated: datetime  # UTC; the watermark a cursor advances by
    correlation_key: str | None = None  # the canonical key stored on the record, if any
    display: dict[str, str] = field(default_factory=dict)  # display values, for people only
    comments: tuple[Comment, ...] = ()  # notes not written by itsm-bridge itself
    copied: tuple[str, ...] = ()  # ids of other platforms' notes itsm-bridge has copied onto this record
    proven_key: bool = False  # the key comes from a mark a copy cannot carry (a Jira entity property)


Written = RemoteRecord | RemoteRef
"""What a write returns: the record when the vendor's answer carries it, else just its ref (the
engine then fetches what it wrote in bulk, where the connector offers `fetch_many`)."""


def ref_of(written: Written) -> RemoteRef:
    """The ref of what a write returned."""
    return written.ref if isinstance(written, RemoteRecord) else written


Pages = Generator[RemoteRecord, None, datetime | None]
"""A connector's read: yields records, returns how far the read is complete (or None)."""


class ChangeRead:
    """The records a `changed_since` read yields, oldest first, streamed page by page.

    Once iterated to the end, `complete_to` says the read saw every change made before that
    moment (the platform's clock), so a cursor may move there though no record is that new;
    None when the read promises nothing of the kind, or was not read to the end.

    `expected()` is how many records the read will yield as far as the vendor says (None when
    it does not): known from a page's count while reading, or asked once with a call of its own
    (so only ask to show it)."""

    def __init__(self, pages: Pages, expected: Callable[[], int | None] | None = None) -> None:
        self._pages = pages
        self._expected = expected
        self.complete_to: datetime | None = None
        self._started = False

    def expected(self) -> int | None:
        """How many records the read yields in all, as far as the vendor says (an estimate)."""
        return self._expected() if self._expected is not None else None

    def __iter__(self) -> Iterator[RemoteRecord]:
        if self._started:
            raise RuntimeError("a read is iterated once")
        self._started = True
        self.complete_to = yield from self._pages
