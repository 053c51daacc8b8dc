"""What an applied batch leaves in the store, besides the writes' own intents and outcomes:
links found, quarantine, conflicts journaled, shadows, released holds, cursors and facts.

Only the applier calls the recorder: a dry run records nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from itsm_bridge.config import Config
from itsm_bridge.connectors.base import Connector
from itsm_bridge.mapping.translate import PlatformMapper
from itsm_bridge.model import RemoteRef
from itsm_bridge.platforms import two_way_names
from itsm_bridge.store.base import Shadow, StateStore
from itsm_bridge.sync.apply import Applied
from itsm_bridge.sync.hints import keep_facts
from itsm_bridge.sync.identity import is_conflict
from itsm_bridge.sync.planner import KeyPlan, conflict_entries, first_link_entry
from itsm_bridge.sync.readback import ours, unseen_notes, written_fields
from itsm_bridge.sync.reader import Reads, overlap
from itsm_bridge.sync.reconcile import carried
from itsm_bridge.sync.summary import RunSummary


class Recorder:
    """Writes to the store what applying a key decided (never the writes themselves)."""

    def __init__(self, store: StateStore, mappers: Mapping[str, PlatformMapper], run_id: str) -> None:
        self.store = store
        self.mappers = mappers
        self.run_id = run_id
        self._held: dict[str, list[int]] | None = None  # open quarantine entries by key, read once

    def conflicts(self, plan: KeyPlan, summary: RunSummary) -> None:
        """Journal the field conflicts reconcile settled for the key."""
        for entry in conflict_entries(plan):
            summary.conflicts += 1
            self.store.append(self.run_id, "conflict", entry, key=plan.key, platform=entry["winner"])
        first_link = first_link_entry(plan)
        if first_link is not None:
            self.store.append(self.run_id, "first_link", first_link, key=plan.key, platform=first_link["source"])

    def link_and_hold(self, plan: KeyPlan, summary: RunSummary) -> set[str]:
        """Link records found by their correlation key (never duplicate them) and quarantine
        what a blocking finding stopped; returns the platforms the key is linked on now."""
        linked = {r.platform for r in self.store.links(plan.key)}
        for platform, side in plan.sides.items():
            if platform not in linked and plan.merged is not None:
                self.store.link(plan.key, RemoteRef(platform, side.ref["id"], side.ref.get("display", "")))
                linked.add(platform)
        for platform, findings in plan.outcome.blocked.items():
            ref = plan.sides[platform].ref["id"] if platform in plan.sides else None
            record = plan.merged.to_dict() if plan.merged else {}
            self.store.quarantine(platform, [f.to_dict() for f in findings], record, key=plan.key, ref=ref)
            summary.quarantined += 1
        return linked

    def shadow(self, plan: KeyPlan, result: Applied) -> None:
        """The key as synced: its merged fields, how each platform now shows it, their versions."""
        seen = {p: s.version for p, s in plan.sides.items()}
        sides, foreign = self._side_shadows(plan, result)
        written = {p: v for p, v in result.versions.items() if p not in foreign}  # else read again next time
        versions = {**plan.versions, **seen, **written}
        self.store.put_shadow(Shadow(plan.key, plan.outcome.shadow_fields, sides, plan.outcome.comments_seen, versions))

    def _side_shadows(self, plan: KeyPlan, result: Applied) -> tuple[dict[str, dict[str, Any]], set[str]]:
        """How each platform shows the incident now: the fields our writes set as the record our
        last write returned shows them (`sync.readback`), else as read this cycle, else as before;
        and the platforms whose read-back shows someone else's edit besides ours (a field, or a
        note this cycle did not see)."""
        out = dict(plan.outcome.side_shadows)
        foreign: set[str] = set()
        for platform in two_way_names():
            record = result.records.get(platform)
            before = carried(platform, plan.sides[platform].incident) if platform in plan.sides else None
            if record is not None:
                incident = self.mappers[platform].to_canonical(record)[0]
                known = before if before is not None else out.get(platform, {})
                out[platform], edited = ours(carried(platform, incident), known, written_fields(result.done, platform))
                if edited or unseen_notes(incident, plan.outcome.comments_seen):
                    foreign.add(platform)
            elif before is not None:
                out[platform] = before
        return out, foreign

    def release_held(self, key: str) -> None:
        """A key fully synced is no longer held: its quarantine entries (from an earlier run)
        are released, so runs stop exiting 1 for it once the cause is fixed."""
        if self._held is None:
            self._held = {}
            for entry in self.store.quarantined():
                if entry.key and not is_conflict(entry.findings):  # a conflict is another record's
                    self._held.setdefault(entry.key, []).append(entry.id)
        for entry_id in self._held.pop(key, []):
            self.store.release(entry_id)

    def cursors(self, config: Config, reads: Reads, started: datetime, connectors: Mapping[str, Connector]) -> None:
        """Move each read's cursor past what was applied (never past the run's start), and keep
        what the connectors learned."""
        for platform, read in reads.items():
            moved = read.watermark.advance(
                read.applied, read.unapplied, started, overlap(config, platform), read.complete_to
            )
            self.store.put_cursor(moved.to_cursor(platform))
        keep_facts(self.store, connectors)
