"""The typed results of the public API (`itsm_bridge.Bridge`): frozen, and each with the
`to_dict()` that `--json` prints for its command, so a script and the CLI see the same data."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from itsm_bridge.connectors.base import CheckResult
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
