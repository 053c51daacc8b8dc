"""Live progress, vendor-blind: what long work reports while it runs, and who listens.

The reader, the writer, the HTTP layer, `audit` and `doctor` report events to the current
`Observer`: a line per phase and platform (reading, writing, publishing, checking) with counts
and, where the vendor says, a total; requests in flight (to show one that takes long); and retry
waits. By default nobody listens (the base `Observer`: every call a no-op, and nothing costs a
call to a vendor). The CLI installs a renderer on a terminal (`itsm_bridge.cli_progress`) with `observing`.

Lines are named by a key (`read:jira`); the label is what a person reads (`reading jira`).
Nothing here imports a library or another layer: any layer may report.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


class Observer:
    """What long work reports; this base shows nothing and costs nothing (the default). A
    renderer overrides the methods. Called from any thread; must never raise."""

    showing = False
    """Whether anything is shown: when False, reporters skip work done only to be shown (a
    vendor's total that costs a call)."""

    def line(self, key: str, label: str, unit: str = "", total: int | None = None) -> None:
        """Start the line `key` (again: relabel it), with its total when known."""

    def grow(self, key: str, n: int) -> None:
        """`n` more to do on line `key` (its total grows as work is planned batch by batch)."""

    def total(self, key: str, total: int) -> None:
        """The total of line `key`, as now known."""

    def advance(self, key: str, n: int = 1) -> None:
        """`n` more done on line `key`."""

    def done(self, key: str) -> None:
        """Line `key` is finished: what it counted is all there was."""

    def request(self, platform: str, target: str) -> object:
        """A request to `platform` (`target`: method and URL, no query, no credentials) is being
        sent; returns a token for `answered`."""
        return None

    def answered(self, token: object) -> None:
        """The request of `token` got its answer (or failed)."""

    def waiting(self, platform: str, reason: str, seconds: float) -> None:
        """`platform`'s client sleeps `seconds` before trying again, for `reason`."""


_current: Observer = Observer()
_lock = threading.Lock()


def current() -> Observer:
    """The observer events go to now (process-wide: worker threads report to it too)."""
    return _current


@contextmanager
def observing(observer: Observer) -> Iterator[Observer]:
    """Report to `observer` inside the block (the one before it again after)."""
    global _current
    with _lock:
        before, _current = _current, observer
    try:
        yield observer
    finally:
        with _lock:
            _current = before


def reading(platform: str, records: Iterable[T], label: str = "reading") -> Iterator[T]:
    """`records` (a platform's read), counted on the line `read:<platform>`, its total taken
    from the read's own estimate, `expected()` (see `records.ChangeRead`), asked only when shown:
    it may cost a call."""
    observer = current()
    if not observer.showing:
        yield from records
        return
    key = f"read:{platform}"
    observer.line(key, f"{label} {platform}", "rec")
    estimate = getattr(records, "expected", None)
    known: int | None = None
    for record in records:
        observer.advance(key)
        if estimate is not None:
            total = estimate()
            if total is not None and total != known:
                known = total
                observer.total(key, total)
        yield record
    observer.done(key)


def counted(key: str, label: str, items: Sequence[T], unit: str = "rec") -> Iterator[T]:
    """`items`, counted on the line `key` as they are taken (its total: how many there are)."""
    observer = current()
    if not observer.showing:
        yield from items
        return
    observer.line(key, label, unit, total=len(items))
    for item in items:
        yield item
        observer.advance(key)
    observer.done(key)


def write_line(kind: str, platform: str) -> tuple[str, str]:
    """The line a write action counts on: publishes on their own (the status page's queue
    drains at its own, slow rate), every other write per platform."""
    if kind == "publish":
        return f"publish:{platform}", f"publishing {platform}"
    return f"write:{platform}", f"writing {platform}"


def planned(actions: Iterable[tuple[str, str]]) -> None:
    """Actions (kind, platform) handed to the writer: each line's total grows by its share."""
    observer = current()
    if not observer.showing:
        return
    by_line: dict[tuple[str, str], int] = {}
    for kind, platform in actions:
        line = write_line(kind, platform)
        by_line[line] = by_line.get(line, 0) + 1
    for (key, label), n in by_line.items():
        observer.line(key, label, "req")
        observer.grow(key, n)


def wrote(kind: str, platform: str) -> None:
    """One write action made (or failed) on its line."""
    observer = current()
    if observer.showing:
        observer.advance(write_line(kind, platform)[0])


@contextmanager
def step(key: str, label: str) -> Iterator[None]:
    """One thing done (a platform's check), on a line of its own."""
    observer = current()
    observer.line(key, label, total=1)
    try:
        yield
    finally:
        observer.advance(key)
        observer.done(key)
