"""What the commands do, between the public API (api.Bridge) and the engine: open the store,
take the lock, build connectors, run, and record the run. Internal: `Bridge` is the interface;
errors propagate as BridgeErrors with exit codes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from itsm_bridge import platforms, progress, stopping
from itsm_bridge.config import Config
from itsm_bridge.connectors import build_all
from itsm_bridge.connectors.base import CheckResult, Connector
from itsm_bridge.errors import BridgeError, StoreError
from itsm_bridge.links import key_conflicts
from itsm_bridge.results import Acknowledged, Status
from itsm_bridge.run_log import recorded
from itsm_bridge.store import open_from_config
from itsm_bridge.store.base import StateStore, VerifyResult
from itsm_bridge.sync.engine import Engine
from itsm_bridge.sync.plan import Plan
from itsm_bridge.sync.summary import RunSummary

if TYPE_CHECKING:
    from itsm_bridge.reports.report import Report
    from itsm_bridge.store.chain import Head

log = logging.getLogger("itsm_bridge.run")


def sync(
    config: Config,
    *,
    dry_run: bool = False,
    only: str | None = None,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
    now: Callable[[], datetime] | None = None,
) -> tuple[RunSummary, Plan]:
    """One cycle under the store lock (a dry run reads only and takes no lock); `now`: the
    engine's clock (default the system's)."""
    store = open_from_config(config)
    try:
        if dry_run:
            engine = _engine(config, store, only, progress, now)
            summary, plan = engine.sync(dry_run=True, only=only, limit=limit)
            summary.held = len(store.quarantined())
            summary.journal_head = store.head().to_dict()
            return summary, plan
        with store.lock("sync"), recorded(store, "sync"), stopping.handling():
            engine = _engine(config, store, only, progress, now)
            log.info("sync %s started", engine.run_id, extra={"fields": {"run_id": engine.run_id, "store": store.url}})
            summary, plan = engine.sync(only=only, limit=limit)
            _record(config, store, summary)
            log.info(
                "sync %s finished: %d write(s), %d failed, %d quarantined",
                engine.run_id,
                summary.writes,
                summary.failed,
                summary.quarantined,
                extra={"fields": summary.to_dict()},
            )
            return summary, plan
    finally:
        store.close()


def _record(config: Config, store: StateStore, summary: RunSummary, **extra: Any) -> None:
    """Journal the run with its counts (every worker has stopped by now); an interrupted run
    says so, with what it did, in the entry's result."""
    summary.held = len(store.quarantined())
    if summary.interrupted:
        d = summary.to_dict()
        counts = ", ".join(
            f"{k} {d[k]}"
            for k in ("created", "updated", "transitioned", "commented", "published", "failed", "unfinished")
            if d[k]
        )
        extra["result"] = f"interrupted by {summary.interrupted}" + (f": {counts}" if counts else "")
        log.warning("run %s %s; the next run finishes it", summary.run_id, extra["result"])
    record_run(config, store, summary, **extra)


def _engine(
    config: Config,
    store: StateStore,
    only: str | None,
    progress: Callable[[int], None] | None,
    now: Callable[[], datetime] | None = None,
) -> Engine:
    """The sync's engine over every platform, once `--only KEY` (when given) is known to exist."""
    connectors = build_all(config)
    if only is not None:
        _require_known(store, connectors, config.settings.sync.source, only)
    return Engine(config, store, connectors, progress=progress, now=now or (lambda: datetime.now(UTC)))


class UnknownKey(BridgeError):
    """`--only KEY` names an incident that exists nowhere: a usage error, not an empty run."""

    exit_code = 2


def _require_known(store: StateStore, connectors: dict[str, Any], source: str, key: str) -> None:
    """Refuse a key neither the store nor the system of record knows (one lookup on the source)."""
    if store.links(key) or store.shadow(key) is not None:
        return
    try:
        found = connectors[source].find(key)
    except BridgeError as exc:
        if exc.disposition == "abort":
            raise
        found = None  # a key the source cannot even be asked about is not one of its incidents
    if found is None:
        raise UnknownKey(f"--only {key}: no incident {key} on {source} nor in the state store")


def apply(config: Config, plan: Plan) -> RunSummary:
    store = open_from_config(config)
    try:
        with store.lock("apply"), recorded(store, "apply"), stopping.handling():
            engine = Engine(config, store, build_all(config))
            summary = engine.apply_plan(plan)
            _record(config, store, summary, plan=plan.run_id)
            return summary
    finally:
        store.close()


def retry(config: Config) -> RunSummary:
    """Re-evaluate quarantined records (after a mapping fix) and re-run failed ones."""
    store = open_from_config(config)
    try:
        with store.lock("retry"), recorded(store, "retry"), stopping.handling():
            engine = Engine(config, store, build_all(config))
            summary = engine.retry()
            _record(config, store, summary, retry=True)
            return summary
    finally:
        store.close()


def record_run(config: Config, store: StateStore, summary: RunSummary, **extra: Any) -> None:
    """Journal the run, then put the journal's head (which now covers it) in the summary, the
    log and, when configured, the head file: copies outside the database to verify against."""
    payload = {k: v for k, v in summary.to_dict().items() if k != "journal_head"}
    store.append(summary.run_id, "run", {**payload, **extra})
    head = store.head()
    summary.journal_head = head.to_dict()
    log.info("journal head %s", head, extra={"fields": {"run_id": summary.run_id, "journal_head": str(head)}})
    path = config.settings.state.journal_head_file
    if path:
        target = config.base_dir / path
        line = f"{datetime.now(UTC).isoformat(timespec='seconds')} {summary.run_id} {head}\n"
        try:
            with target.open("a", encoding="utf-8") as out:
                out.write(line)
        except OSError as exc:
            raise StoreError(f"cannot append the journal head to {target}: {exc.strerror}") from None


def acknowledge(config: Config, ids: list[int], reason: str) -> list[Acknowledged]:
    """Release quarantine entries by id under the lock, each with an `ack` journal entry naming
    the reason and the user; an id that is not held is a usage error, and nothing is released."""
    import getpass
    import uuid

    store = open_from_config(config)
    try:
        with store.lock("quarantine ack"):
            held = {q.id: q for q in store.quarantined()}
            unknown = [str(i) for i in ids if i not in held]
            if unknown:
                raise UnknownKey(f"not in quarantine: {', '.join(unknown)} (see `itsm-bridge quarantine list`)")
            run_id = uuid.uuid4().hex[:12]
            out = []
            for entry_id in dict.fromkeys(ids):
                q = held[entry_id]
                store.append(
                    run_id,
                    "ack",
                    {
                        "quarantine_id": q.id,
                        "reason": reason,
                        "by": getpass.getuser(),
                        "findings": [f.get("message") for f in q.findings],
                    },
                    key=q.key,
                    platform=q.platform,
                    ref=q.ref,
                )
                store.release(q.id)
                out.append(Acknowledged(q.id, q.key, q.platform, reason))
            return out
    finally:
        store.close()


def doctor(config: Config) -> list[CheckResult]:
    """Every connector's check() plus the mapping check; a connector that cannot even be built
    (a missing secret, say) is reported as a failed check, not raised."""
    from itsm_bridge.connectors import build
    from itsm_bridge.mapping.check import mapping_report

    results: list[CheckResult] = []
    built: dict[str, Connector] = {}
    sync_settings = config.settings.sync
    for platform in dict.fromkeys([sync_settings.source, *sync_settings.targets]):
        try:
            with progress.step(f"check:{platform}", f"checking {platform}"):
                built[platform] = connector = build(platform, config)
                results += connector.check()
        except BridgeError as exc:
            check = "config" if exc.exit_code == 2 else "connect"
            results.append(CheckResult(platform, check, False, str(exc), _fix_for(exc)))
    report = mapping_report(config)
    gaps = report["gaps"]
    results.append(
        CheckResult(
            "mapping",
            "taxonomy",
            not gaps,
            f"{len(gaps)} gap(s)" if gaps else "every term mapped",
            "run `itsm-bridge mapping check` and set the keys it names" if gaps else "",
        )
    )
    if all(r.ok for r in results):  # links are read only from platforms that answer
        results.append(_links_check(config, built))
    return results + _identity_checks(config)


def _identity_checks(config: Config) -> list[CheckResult]:
    """One failed line per record refused for carrying a key another record holds (none when the
    store does not exist yet: doctor never creates it)."""
    if config.state_url.startswith("sqlite:///") and not Path(config.state_url[len("sqlite:///") :]).exists():
        return []
    try:
        store = open_from_config(config)
        try:
            conflicts = key_conflicts(store.quarantined())
        finally:
            store.close()
    except StoreError as exc:
        return [CheckResult("store", "state", False, str(exc), "check [state] url and the database it names")]
    return [
        CheckResult(
            c["platform"],
            "key_conflict",
            False,
            c["message"],
            "remove the copied key from that record, then run `itsm-bridge retry`",
        )
        for c in conflicts
    ]


def _links_check(config: Config, connectors: Mapping[str, Connector]) -> CheckResult:
    """Links whose records the platforms no longer have."""
    from itsm_bridge.links import gone

    store = open_from_config(config)
    try:
        missing = gone(store, connectors)
    finally:
        store.close()
    detail = "; ".join(
        f"{m['key']} -> {m['platform']} {m['display'] or m['id']} (id {m['id']}) is gone" for m in missing[:10]
    )
    more = f" (and {len(missing) - 10} more)" if len(missing) > 10 else ""
    fix = f"see `itsm-bridge links show KEY`; {missing[0]['fix']}" if missing else ""
    return CheckResult(
        "store", "links", not missing, (detail + more) if missing else "every linked record is there", fix
    )


def _fix_for(exc: BridgeError) -> str:
    if exc.exit_code == 2:
        return "fix the config or export the environment variable it names"
    if exc.exit_code == 4:
        return "check the URL, network and credentials"
    return ""


def status(config: Config, conflicts_shown: int = 20) -> Status:
    store = open_from_config(config)
    try:
        return _status(store, config, conflicts_shown)
    finally:
        store.close()


def _status(store: StateStore, config: Config, conflicts_shown: int) -> Status:
    run = store.last_run()
    errors = store.journal(kinds=("run_error",), after=run.seq if run else None)  # since the last that finished
    cursors = {}
    for platform in platforms.two_way_names():
        cursor = store.cursor(platform)
        if cursor is not None:
            cursors[platform] = cursor.value
    return Status(
        last_run=run,
        quarantined=tuple(store.quarantined()),
        conflicts=tuple(store.journal(kinds=("conflict",), last=conflicts_shown)),
        cursors=cursors,
        links=len({k for k, _ in store.all_links()}),
        open_intents=len(store.open_intents()),
        run_errors=tuple(errors),
    )


def audit(config: Config, since: datetime | None = None) -> Report:
    """Read the platforms (read only) and the store; check consistency and compute metrics."""
    from itsm_bridge.reports.run import audit as run_audit

    return run_audit(config, since)


def verify_journal(config: Config, head: Head | None) -> VerifyResult:
    """The journal's chain checked (against `head` when given); a store that cannot even be read
    is a broken journal too, told in the result."""
    from itsm_bridge.cli_errors import ordinary

    try:
        store = open_from_config(config)
    except StoreError as exc:
        return VerifyResult(False, 0, [str(exc)])
    try:
        return store.verify_journal(head)
    except Exception as exc:  # noqa: BLE001  (a database error is the verdict; anything else propagates)
        error = ordinary(exc)
        if not isinstance(error, StoreError):
            raise
        return VerifyResult(False, 0, [str(error)])
    finally:
        store.close()
