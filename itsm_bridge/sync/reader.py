"""Reading one cycle: the targets' changes kept by key, then the source streamed record by record.

Each record is judged for identity (its link, else the key it carries) and turned into a `Side`.
Reading writes nothing to the store: a record refused for a key another record holds is kept by
the `Identity` until the cycle's seam shows it in the plan (a dry run) or records it (a real run).
Which records may move each platform's cursor is kept in its `ReadProgress`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from itsm_bridge import progress, stopping
from itsm_bridge.config import Config
from itsm_bridge.config_schema import ReadSettings
from itsm_bridge.connectors.base import Connector
from itsm_bridge.errors import Paused
from itsm_bridge.findings import Finding
from itsm_bridge.mapping.translate import PlatformMapper
from itsm_bridge.records import RemoteRecord
from itsm_bridge.stopping import Interrupted
from itsm_bridge.store.base import StateStore
from itsm_bridge.sync.cursor import ReadProgress
from itsm_bridge.sync.identity import Identity
from itsm_bridge.sync.linking import key_findings
from itsm_bridge.sync.reconcile import Side, compared
from itsm_bridge.sync.summary import RunSummary

log = logging.getLogger("itsm_bridge.sync")

Reads = dict[str, ReadProgress]
"""Per two-way platform, what its read took this cycle (its cursor moves by it)."""

SourceItem = tuple[str, RemoteRecord, Side, list[Finding]]
"""A source record read: its key, the record, what it says, and the findings on it."""


def two_way(config: Config, connectors: Mapping[str, Connector]) -> list[str]:
    """The platforms read each cycle (both directions), source first."""
    sync = config.settings.sync
    return [p for p in (sync.source, *sync.targets) if compared(p) and p in connectors]


def overlap(config: Config, platform: str) -> timedelta:
    """How far before its cursor a platform's read starts (vendors' timestamps are coarse)."""
    section = config.settings.section(platform)
    return timedelta(seconds=section.overlap_s if isinstance(section, ReadSettings) else 0)


class Reader:
    """Reads the changes of one cycle; writes nothing."""

    def __init__(
        self,
        config: Config,
        store: StateStore,
        connectors: Mapping[str, Connector],
        mappers: Mapping[str, PlatformMapper],
        identity: Identity,
        reads: Reads,
    ) -> None:
        self.config = config
        self.store = store
        self.connectors = connectors
        self.mappers = mappers
        self.identity = identity
        self.reads = reads
        self.source = config.settings.sync.source

    # --- targets: read first, kept by key
    def targets(self, summary: RunSummary, only: str | None) -> dict[str, dict[str, Side]]:
        """The targets' changes by key (edits made on a target, coming back), read before the source."""
        pending: dict[str, dict[str, Side]] = {}
        for platform in two_way(self.config, self.connectors):
            if platform == self.source:
                continue
            read = self.reads[platform]
            try:
                self._target_records(platform, read, pending, only, summary)
            except Paused as exc:
                stop_read(read, exc, summary)
                continue
            except Interrupted:
                return pending  # the cursors stay: these changes are read again next run
        return pending

    def _target_records(
        self,
        platform: str,
        read: ReadProgress,
        pending: dict[str, dict[str, Side]],
        only: str | None,
        summary: RunSummary,
    ) -> None:
        changes = self.connectors[platform].changed_since(read.watermark)
        for record in progress.reading(platform, changes):
            if stopping.requested():
                return
            read.last = record.updated or read.last
            read.count += 1
            verdict = self.identity.resolve(platform, record, record.correlation_key)
            refused = verdict.conflict or verdict.displaced
            if refused is not None and (only is None or refused.key == only):
                self.identity.refuse(refused)
                summary.quarantined += 1
            if verdict.displaced is not None:  # an earlier record of this run, less well proven
                earlier = pending.get(verdict.displaced.key, {}).pop(platform, None)
                if earlier is not None:
                    read.took(earlier.ref["id"], earlier.version, updated(earlier))
            key = verdict.key
            if key is None:
                read.took(record.ref.id, record.version, record.updated)  # not ours, or refused
                continue
            if only and key != only:
                read.unapplied.append(record.updated)  # another incident's change: for a full run
                continue
            shadow = self.store.shadow(key)
            if shadow is not None and shadow.versions.get(platform) == record.version:
                read.took(record.ref.id, record.version, record.updated)  # as we left it: nothing to keep
                continue
            incident, _ = self.mappers[platform].to_canonical(record)
            pending.setdefault(key, {})[platform] = side(platform, incident.replace(key=key), record)
        if only is None:  # read to the end: the cursor may move as far as the read is complete
            read.complete_to = changes.complete_to

    # --- the source: streamed
    def source_records(self, summary: RunSummary, only: str | None) -> Iterator[SourceItem]:
        """The source's changed records, oldest first; a read cut short ends the stream."""
        read = self.reads[self.source]
        try:
            yield from self._source_records(read, summary, only)
        except Paused as exc:
            stop_read(read, exc, summary)
        except Interrupted:
            return  # a page not fetched: the run takes no more records

    def _source_records(self, read: ReadProgress, summary: RunSummary, only: str | None) -> Iterator[SourceItem]:
        for record in progress.reading(self.source, self.connectors[self.source].changed_since(read.watermark)):
            if stopping.requested():
                return
            read.last = record.updated or read.last
            read.count += 1
            if not self._matches_filter(record):
                read.took(record.ref.id, record.version, record.updated)
                summary.filtered += 1
                continue
            incident, findings = self.identified(record, summary, only)
            if incident is None:
                if only is None:
                    read.took(record.ref.id, record.version, record.updated)  # refused: held in quarantine
                continue
            findings += key_findings(incident.key, self.source)
            if only and incident.key != only:
                continue
            yield incident.key, record, side(self.source, incident, record), findings

    def identified(
        self, record: RemoteRecord, summary: RunSummary, only: str | None = None
    ) -> tuple[Any, list[Finding]]:
        """A source record as an incident under the key it belongs to (its link, else the key it
        carries); (None, []) when another record holds that key (refused, to be quarantined)."""
        incident, findings = self.mappers[self.source].to_canonical(record)
        verdict = self.identity.resolve(self.source, record, incident.key)
        if verdict.conflict is not None:
            if only is None or verdict.conflict.key == only:
                self.identity.refuse(verdict.conflict)
                summary.quarantined += 1
            return None, []
        key = verdict.key or incident.key
        if key != incident.key:
            incident, findings = incident.replace(key=key), [f.for_key(key) for f in findings]
        return incident, findings

    def source_item(self, record: RemoteRecord, summary: RunSummary) -> SourceItem | None:
        """One source record read by its id, as the stream yields it; None when `[sync.filters]`
        leave it out or another record holds its key (refused, to be quarantined)."""
        if not self._matches_filter(record):
            summary.filtered += 1
            return None
        incident, findings = self.identified(record, summary)
        if incident is None:
            return None
        findings += key_findings(incident.key, self.source)
        return incident.key, record, side(self.source, incident, record), findings

    def _matches_filter(self, record: RemoteRecord) -> bool:
        wanted = self.config.settings.sync.filters.get(self.source, {})
        return all(str(record.fields.get(k, "")) == v or record.display.get(k) == v for k, v in wanted.items())


def account(reads: Reads, sides: Mapping[str, Side], ok: bool) -> None:
    """Let a key's records move their cursors (ok) or hold them back (not applied)."""
    for platform, s in sides.items():
        if platform not in reads:
            continue
        if ok:
            reads[platform].took(s.ref["id"], s.version, updated(s))
        else:
            reads[platform].unapplied.append(updated(s))


def stop_read(read: ReadProgress, exc: Paused, summary: RunSummary) -> None:
    """A read cut short by a long rate-limit wait: what it yielded is applied, and the cursor
    stays at or before the last record read (the rest come, in order, after it)."""
    summary.pause(exc)
    log.warning("%s: reading stopped for this run: %s", exc.platform, exc)
    if read.last is not None:
        read.unapplied.append(read.last)


def side(platform: str, incident: Any, record: RemoteRecord) -> Side:
    """What `record`, read from `platform`, says this cycle."""
    ref = {"platform": record.ref.platform, "id": record.ref.id, "display": record.ref.display}
    return Side(platform, incident, record.version, ref, record.updated, frozenset(record.copied))


def updated(s: Side) -> datetime:
    """The time a side's cursor moves by."""
    return s.updated or s.incident.updated or datetime.now(UTC)
