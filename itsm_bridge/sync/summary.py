"""What one run did, in the shape of `sync --json` (a contract scripts rely on)."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from itsm_bridge.errors import Paused

if TYPE_CHECKING:
    from itsm_bridge.sync.apply import Applied

COUNTED = {
    "create": "created",
    "update": "updated",
    "transition": "transitioned",
    "comment": "commented",
    "publish": "published",
}


@dataclass
class RunSummary:
    run_id: str
    dry_run: bool = False
    read: dict[str, int] = field(default_factory=dict)
    created: int = 0
    updated: int = 0
    transitioned: int = 0
    commented: int = 0
    published: int = 0
    skipped: int = 0
    filtered: int = 0
    quarantined: int = 0
    conflicts: int = 0
    failed: int = 0
    deferred: int = 0
    api_calls: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    settled: list[dict[str, Any]] = field(default_factory=list)
    journal_head: dict[str, Any] | None = None  # the journal's head after the run: {entries, hash, head}
    interrupted: str | None = None  # SIGINT or SIGTERM when the run was stopped by one
    unfinished: int = 0  # keys whose actions a stop cut short (the next run finishes them)
    held: int = 0  # records in quarantine after the run (this run's and earlier ones'): exit 1 while any
    paused: dict[str, str] = field(default_factory=dict)  # platform -> when its rate limit resets (ISO UTC)

    def pause(self, exc: Paused) -> None:
        """A platform's work stopped for this run at a rate limit; note when it resets."""
        until = exc.until.isoformat(timespec="seconds")
        self.paused[exc.platform] = max(self.paused.get(exc.platform, until), until)

    def count(self, applied: Applied) -> None:
        for action in applied.done:
            name = COUNTED[action.kind]
            setattr(self, name, getattr(self, name) + 1)
        self.deferred += applied.deferred
        self.unfinished += applied.interrupted
        self.quarantined += applied.blocked
        for action, exc in applied.failed:
            if isinstance(exc, Paused):  # not the record's fault: it goes in the next run
                self.deferred += 1
                self.pause(exc)
                continue
            self.failed += 1
            self.errors.append(
                {
                    "key": action.key,
                    "platform": action.platform,
                    "action": action.kind,
                    "error": type(exc).__name__,
                    "message": str(exc),
                }
            )

    @property
    def writes(self) -> int:
        return self.created + self.updated + self.transitioned + self.commented + self.published

    def exit_code(self) -> int:
        if self.interrupted:
            return 128 + (
                signal.Signals[self.interrupted].value if self.interrupted.startswith("SIG") else signal.SIGINT
            )
        return 1 if self.failed or self.quarantined or self.held or self.paused else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "read": self.read,
            "created": self.created,
            "updated": self.updated,
            "transitioned": self.transitioned,
            "commented": self.commented,
            "published": self.published,
            "skipped": self.skipped,
            "filtered": self.filtered,
            "quarantined": self.quarantined,
            "conflicts": self.conflicts,
            "failed": self.failed,
            "deferred": self.deferred,
            "api_calls": self.api_calls,
            "errors": self.errors,
            "settled": self.settled,
            "paused": self.paused,
            "journal_head": self.journal_head,
            "held_in_quarantine": self.held,
            "interrupted": self.interrupted,
            "unfinished": self.unfinished,
        }
