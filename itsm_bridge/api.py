"""`Bridge`: itsm-bridge from Python, one object per config, one method per command.

    from itsm_bridge import Bridge

    bridge = Bridge("itsm-bridge.toml")
    plan = bridge.plan()            # read only: what a sync would write
    result = bridge.sync()          # plan, then apply, under the store's lock
    if not result.ok: ...

Every method is the CLI command of the same name without the printing (the CLI is a thin layer
over this class): the same lock, journal, exit-code rules and errors. Failures raise the
`itsm_bridge.BridgeError` tree, each error with its `exit_code`; per-record failures are not
raised but reported in the result (`result.summary.errors`, quarantine).

The library is imported when a method first needs it, so `import itsm_bridge` stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from itsm_bridge.results import Acknowledged, DoctorResult, KeyDetails, Link, RunResult, Status, SyncResult

if TYPE_CHECKING:
    from itsm_bridge.config import Config
    from itsm_bridge.model import RemoteRef
    from itsm_bridge.reports.report import Report
    from itsm_bridge.sandbox.app import Sandbox
    from itsm_bridge.store.base import JournalEntry, StateStore, VerifyResult
    from itsm_bridge.store.chain import Head
    from itsm_bridge.sync.plan import Plan


class Bridge:
    """itsm-bridge over one config: sync, plan, apply, retry, status, doctor, audit, journal, links.

    `config` is a loaded `Config`, a path to a TOML file, or None for the default
    (`$ITSM_BRIDGE_CONFIG`, else `./itsm-bridge.toml`); a path is read and validated at once
    (`ConfigError` listing every problem). Secrets come from the environment variables the
    config names, read when a platform is first used. `clock` (also settable as `bridge.clock`)
    is the time `sync` and `plan` decide by (when a scheduled public update is due, where the
    cursors may move): a test moves it; None is the system clock.
    """

    def __init__(
        self, config: Config | str | os.PathLike[str] | None = None, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        from itsm_bridge.config import Config, load

        self.config: Config = config if isinstance(config, Config) else load(config)
        self.clock = clock  # what `sync` and `plan` take as now (aware UTC); None: the system clock

    def __repr__(self) -> str:
        return f"Bridge({str(self.config.path) if self.config.path else '<config>'!r})"

    @classmethod
    def for_sandbox(
        cls, sandbox: Sandbox, workdir: str | os.PathLike[str], provider: Literal["statuspage", "cachet"] = "statuspage"
    ) -> Bridge:
        """A bridge over a running bundled sandbox (`itsm_bridge.Sandbox`): writes into `workdir`
        the config `itsm-bridge sandbox --write-config` writes (`itsm-bridge.toml`, state in
        `itsm-bridge.sqlite` beside it) and puts the sandbox's credentials in `os.environ`,
        under the variable names that config reads them from."""
        from itsm_bridge.sandbox.config_writer import write_config

        info = sandbox.info()
        os.environ.update(info["env"])
        return cls(write_config(info, Path(workdir) / "itsm-bridge.toml", provider))

    # --- runs

    def plan(self, *, only: str | None = None, limit: int | None = None) -> Plan:
        """Read only: every create, update, transition, comment and publish a sync would make,
        and what it would hold back (`plan.blocked`). Takes no lock, writes nothing."""
        plan = self.sync(dry_run=True, only=only, limit=limit).plan
        assert plan is not None  # a dry run always has its plan
        return plan

    def sync(
        self,
        *,
        dry_run: bool = False,
        only: str | None = None,
        limit: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> SyncResult:
        """One cycle: read what changed, plan, apply and record, under the store's lock.
        `dry_run` plans only; `only` takes one canonical key (unknown everywhere: `UnknownKey`,
        exit 2); `limit` caps the incidents of this run; `progress` gets the records read so far.
        Called from the main thread, SIGINT and SIGTERM stop the run after the writes in flight
        instead of raising: the result says so (`summary.interrupted`, `exit_code` 130 or 143)."""
        from itsm_bridge import runner

        summary, plan = runner.sync(
            self.config, dry_run=dry_run, only=only, limit=limit, progress=progress, now=self.clock
        )
        return SyncResult(summary, plan if dry_run else None)

    def apply(self, plan: Plan | str | os.PathLike[str]) -> RunResult:
        """Apply exactly a plan (or a plan file `plan.save` wrote; ValueError when the file is no
        plan); an action whose record changed since the plan was made is refused as stale."""
        from itsm_bridge import runner
        from itsm_bridge.sync.plan import Plan

        return RunResult(runner.apply(self.config, plan if isinstance(plan, Plan) else Plan.load(Path(plan))))

    def retry(self) -> RunResult:
        """Re-evaluate quarantined records (after a mapping fix) and re-run failed writes."""
        from itsm_bridge import runner

        return RunResult(runner.retry(self.config))

    # --- reading and checking

    def status(self) -> Status:
        """Last run, runs that ended in error since, quarantine, key conflicts, recent conflicts,
        cursors, links, open intents."""
        from itsm_bridge import runner

        return runner.status(self.config)

    def acknowledge(self, ids: list[int], reason: str) -> list[Acknowledged]:
        """Release quarantine entries (ids from `status().quarantined`) without syncing them,
        journaling the reason and the user. An id not held releases nothing (`UnknownKey`)."""
        from itsm_bridge import runner

        return runner.acknowledge(self.config, ids, reason)

    def doctor(self) -> DoctorResult:
        """Check every platform, the mapping, the linked records and key conflicts."""
        from itsm_bridge import runner

        return DoctorResult(tuple(runner.doctor(self.config)))

    def audit(self, since: datetime | None = None) -> Report:
        """Read the platforms (read only) and the store: consistency findings and ITIL metrics
        of the incidents opened on or after `since` (aware; all when None)."""
        from itsm_bridge import runner

        return runner.audit(self.config, since=since)

    def journal(self, key: str | None = None, last: int | None = None) -> list[JournalEntry]:
        """Journal entries, oldest first: all, or the `last` N; only `key`'s when given."""
        with _opened(self.config) as store:
            return list(store.journal(key, last=last))

    def verify_journal(self, head: Head | str | None = None) -> VerifyResult:
        """Check the journal's hash chain (HMACs with `state.journal_key_env`), and against a
        head kept elsewhere (`ENTRIES:HASH`, or a head file) when given. A store that cannot be
        read is a broken journal too: the result says so instead of raising."""
        from itsm_bridge import runner
        from itsm_bridge.store.chain import Head

        return runner.verify_journal(self.config, Head.parse(head) if isinstance(head, str) else head)

    # --- links

    def links(self) -> list[Link]:
        """Every link between a canonical key and a remote record."""
        with _opened(self.config) as store:
            return [Link(key, ref.platform, ref.id, ref.display) for key, ref in store.all_links()]

    def unlink(self, key: str, platform: str) -> RemoteRef:
        """Forget `key`'s record on `platform` (journaled, under the lock); `retry` then creates
        it again or finds it by its correlation key. Returns the record it was linked to."""
        from itsm_bridge.links import unlink

        with _opened(self.config, "links") as store:
            return unlink(store, _run_id(), key, platform, reason="by hand")

    def relink(self, key: str, platform: str, ref: str) -> RemoteRef:
        """Link `key` on `platform` to the existing record `ref`, checked to exist and to be
        linked to no other key (journaled, under the lock); `retry` then aligns it."""
        from itsm_bridge.connectors import build
        from itsm_bridge.links import check_platform, relink

        check_platform(platform)
        with _opened(self.config, "links") as store:
            return relink(store, build(platform, self.config), _run_id(), key, platform, ref)

    def key(self, key: str) -> KeyDetails:
        """One key: its links, its state as last synced, what holds it back and its latest
        journal entries (`links show`); a key the store does not know raises `LinkError` (exit 2)."""
        from itsm_bridge.links import show

        with _opened(self.config) as store:
            return show(store, key)


@contextmanager
def _opened(config: Config, lock: str | None = None) -> Iterator[StateStore]:
    """The config's state store, open for one `with` block (locked when `lock` names the holder)."""
    from itsm_bridge.store import open_from_config

    store = open_from_config(config)
    try:
        if lock is None:
            yield store
        else:
            with store.lock(lock):
                yield store
    finally:
        store.close()


def _run_id() -> str:
    import uuid

    return uuid.uuid4().hex[:12]
