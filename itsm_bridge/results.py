"""The typed results of the public API (`itsm_bridge.Bridge`): frozen, and each with the
`to_dict()` that `--json` prints for its command, so a script and the CLI see the same data."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from itsm_bridge.connectors.base import CheckResult
    from itsm_bridge.model import RemoteRef
    from itsm_bridge.store.base import JournalEntry, QuarantineEntry, Shadow
    from itsm_bridge.sync.plan import Plan
    from itsm_bridge.sync.summary import RunSummary

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 4


@dataclass(frozen=True)
class RunResult:
    """What a run that writes (`sync`, `apply`, `retry`) did: its counts, errors, API calls and
    the journal head after it, in `summary`."""

    summary: RunSummary

    @property
    def exit_code(self) -> int:
        """The CLI's exit code for this run: 0 ok; 1 a record failed, was quarantined or is
        still held, or a platform paused at its rate limit; 130/143 when a signal stopped it."""
        return self.summary.exit_code()

    @property
    def ok(self) -> bool:
        """Everything was applied and nothing is held back."""
        return self.exit_code == EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        """The run summary as `sync --json`, `apply --json` and `retry --json` print it."""
        return self.summary.to_dict()


@dataclass(frozen=True)
class SyncResult(RunResult):
    """One sync cycle: the run summary, and with `dry_run` the plan (what it would have written).
    A run that applies keeps no plan in memory (a large backlog would hold every action): what it
    wrote is in the journal (`Bridge.journal()`), so `plan` is None."""

    plan: Plan | None = None


@dataclass(frozen=True)
class DoctorResult:
    """Every check `doctor` made: platforms (reachable, credentials, permissions, values), the
    mapping, linked records still there, records refused for a key conflict."""

    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> frozenset[str]:
        """The names of the checks that failed (`connect`, `config`, `links`, `key_conflict`, ...)."""
        return frozenset(c.check for c in self.checks if not c.ok)

    @property
    def exit_code(self) -> int:
        """0 all fine; 1 when only linked records are gone or records are refused for their key
        (the platforms answer); 2 when only the config or environment is at fault; else 4."""
        if self.ok:
            return EXIT_OK
        if self.failed <= {"links", "key_conflict"}:
            return EXIT_FAILED
        return EXIT_USAGE if self.failed == {"config"} else EXIT_UNREACHABLE

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [asdict(c) for c in self.checks]}


@dataclass(frozen=True)
class Link:
    """One link: the remote record that stands for a canonical key on a platform."""

    key: str
    platform: str
    id: str
    display: str = ""


@dataclass(frozen=True)
class Acknowledged:
    """A quarantine entry released by `acknowledge` (journaled as an `ack` with the reason)."""

    id: int
    key: str | None
    platform: str
    reason: str


@dataclass(frozen=True)
class KeyDetails:
    """One canonical key as the store knows it: its links, its state as last synced (`shadow`,
    None before the first sync of it), what holds it back and its latest journal entries."""

    key: str
    links: tuple[RemoteRef, ...]
    shadow: Shadow | None
    quarantined: tuple[QuarantineEntry, ...]
    journal: tuple[JournalEntry, ...]

    def to_dict(self) -> dict[str, Any]:
        """As `links show --json` prints it."""
        fields = self.shadow.merged if self.shadow else {}
        return {
            "key": self.key,
            "links": [{"platform": r.platform, "id": r.id, "display": r.display} for r in self.links],
            "synced": {
                "title": fields.get("title"),
                "state": fields.get("state"),
                "versions": self.shadow.versions if self.shadow else {},
            },
            "quarantined": [
                {
                    "id": q.id,
                    "platform": q.platform,
                    "ref": q.ref,
                    "since": q.first_seen,
                    "findings": [f.get("message") for f in q.findings],
                }
                for q in self.quarantined
            ],
            "journal": [
                {
                    "seq": e.seq,
                    "at": e.at,
                    "kind": e.kind,
                    "action": e.action,
                    "platform": e.platform,
                    "ref": e.ref,
                    "result": e.payload.get("result") or e.payload.get("reason") or e.payload.get("rule"),
                }
                for e in self.journal
            ],
        }


@dataclass(frozen=True)
class Status:
    """What `status` shows: the last run that finished, the runs that ended in error since, what
    quarantine holds, recent conflicts, the read cursors, how many keys are linked and how many
    writes have an intent but no outcome yet (settled by the next run)."""

    last_run: JournalEntry | None
    quarantined: tuple[QuarantineEntry, ...]
    conflicts: tuple[JournalEntry, ...]  # the most recent, oldest first
    cursors: dict[str, str]  # platform -> watermark (ISO 8601 UTC)
    links: int
    open_intents: int
    run_errors: tuple[JournalEntry, ...]  # every run that ended in error since `last_run`

    @property
    def key_conflicts(self) -> tuple[QuarantineEntry, ...]:
        """The held records refused for carrying a key another record holds."""
        from itsm_bridge.sync.identity import is_conflict

        return tuple(q for q in self.quarantined if is_conflict(q.findings))

    def to_dict(self) -> dict[str, Any]:
        """As `status --json` prints it."""
        from itsm_bridge.links import key_conflicts

        def entry(e: JournalEntry) -> dict[str, Any]:
            return {"at": e.at, "run_id": e.run_id, **e.payload}

        run = self.last_run
        return {
            "last_run": {"run_id": run.run_id, "at": run.at, **run.payload} if run else None,
            "quarantined": [
                {
                    "id": q.id,
                    "key": q.key,
                    "platform": q.platform,
                    "ref": q.ref,
                    "attempts": q.attempts,
                    "first_seen": q.first_seen,
                    "findings": [f.get("message") for f in q.findings],
                }
                for q in self.quarantined
            ],
            "conflicts": [entry(e) for e in self.conflicts],
            "cursors": self.cursors,
            "links": self.links,
            "open_intents": self.open_intents,
            "key_conflicts": key_conflicts(self.quarantined),
            "run_errors": [entry(e) for e in self.run_errors[-5:]],  # the latest five
            "run_errors_total": len(self.run_errors),
        }
