"""Which incident a record read from a platform belongs to: its link, never a marker it carries.

- A linked record is recognised by its remote id: the store's key for it, whatever key it
  carries. A carried key that differs from the link (a `correlation_id` edited, an entity
  property rewritten) is refused: the record stays with its link, and the change is journaled as
  an `identity.key_changed` finding (once per new value).
- An unlinked record carrying a key (a label, a `correlation_id`, an entity property) is a search
  aid, not proof: it is taken as that key's record only while no other record on its platform
  holds the key, by a link or as taken earlier in this run. Otherwise it is a `key_conflict`:
  quarantined with both records named, never merged or written anywhere.
- Among unlinked records of one run, one whose key is proven (`RemoteRecord.proven_key`: kept
  where a copy of the record does not take it along) displaces one that only carries a label.
  An unlinked record taken is kept (its ref, whether its key is proven) only until the store links
  it (`linked`): from then on the store proves it, so the run's memory does not grow with the
  records it reads.

Judging writes nothing: refusals, released refusals and changed-key findings wait until the
cycle's seam shows them in the plan (`show`, a dry run) or stores them (`record`, a real run).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from itsm_bridge.connectors.base import Connector
from itsm_bridge.errors import NotFound
from itsm_bridge.findings import Finding
from itsm_bridge.mapping.translate import PlatformMapper
from itsm_bridge.model import RemoteRef
from itsm_bridge.records import RemoteRecord
from itsm_bridge.store.base import StateStore
from itsm_bridge.sync.plan import Plan

log = logging.getLogger("itsm_bridge.sync")

KEY_CONFLICT = "identity.key_conflict"
KEY_CHANGED = "identity.key_changed"


@dataclass(frozen=True)
class Conflict:
    """A record refused because another record holds the key it carries."""

    platform: str
    key: str
    record: RemoteRef
    holder: RemoteRef

    @property
    def finding(self) -> Finding:
        message = (
            f"{self.platform} {_name(self.record)} carries key {self.key}, which belongs to "
            f"{self.platform} {_name(self.holder)} (linked first): it is not merged or written "
            f"anywhere; remove the key from it (a copied label or correlation_id), then run "
            f"`itsm-bridge retry`"
        )
        return Finding(KEY_CONFLICT, self.platform, "key", "block", message, self.key, _name(self.record))

    def quarantine_record(self) -> dict[str, Any]:
        """What the quarantine keeps: both records, by id and by name."""
        return {
            "key": self.key,
            "record": {"id": self.record.id, "display": self.record.display},
            "holder": {"id": self.holder.id, "display": self.holder.display},
        }


@dataclass(frozen=True)
class Taken:
    """An unlinked record taken as its key's this run: what judging a later one needs of it."""

    ref: RemoteRef
    proven_key: bool


@dataclass(frozen=True)
class Verdict:
    """The key a record belongs to (None: not ours), or the conflict that refuses it; `displaced`
    is an earlier record of this run that this one, better proven, takes the key from."""

    key: str | None
    conflict: Conflict | None = None
    displaced: Conflict | None = None


class Identity:
    """Decides, record by record, which key a record read this run belongs to."""

    def __init__(self, store: StateStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self._taken: dict[tuple[str, str], Taken] = {}  # (platform, key) -> unlinked record taken, not yet linked
        self._refused: dict[tuple[str, str], int] | None = None  # (platform, ref) -> open key_conflict entry
        self._noted: set[tuple[str, str, str]] = set()  # (key, platform, carried) changed-key findings this run
        self.refusals: list[Conflict] = []  # waiting for the seam: records refused
        self.released: list[int] = []  # waiting for the seam: key_conflict entries that no longer conflict
        self.findings: list[tuple[Finding, str]] = []  # waiting for the seam: changed-key findings, with the record

    def resolve(self, platform: str, record: RemoteRecord, carried: str | None) -> Verdict:
        """The verdict on `record`, read from `platform`, carrying the key `carried`. A record
        refused earlier that no longer conflicts (its copied key removed) is released."""
        verdict = self._judge(platform, record, carried)
        if verdict.conflict is None:
            if self._refused is None:
                self._refused = {
                    (q.platform, q.ref or ""): q.id for q in self.store.quarantined() if is_conflict(q.findings)
                }
            entry = self._refused.pop((platform, record.ref.id), None)
            if entry is not None:
                self.released.append(entry)
        return verdict

    def _judge(self, platform: str, record: RemoteRecord, carried: str | None) -> Verdict:
        linked = self.store.key_for(platform, record.ref.id)
        if linked is not None:
            if carried is not None and carried != linked:
                self._key_changed(platform, record, linked, carried)
            return Verdict(linked)
        if carried is None:
            return Verdict(None)
        holder = next((r for r in self.store.links(carried) if r.platform == platform), None)
        if holder is not None and holder.id != record.ref.id:
            return Verdict(None, Conflict(platform, carried, record.ref, holder))
        earlier = self._taken.get((platform, carried))
        if earlier is not None and earlier.ref.id != record.ref.id:
            if record.proven_key and not earlier.proven_key:
                self._taken[(platform, carried)] = Taken(record.ref, record.proven_key)
                return Verdict(carried, displaced=Conflict(platform, carried, earlier.ref, record.ref))
            return Verdict(None, Conflict(platform, carried, record.ref, earlier.ref))
        self._taken[(platform, carried)] = Taken(record.ref, record.proven_key)
        return Verdict(carried)

    def linked(self, key: str, platforms: Iterable[str]) -> None:
        """The store now links `key`'s records on `platforms`: it proves them (a record carrying
        the key is judged against the link first), so the run forgets them."""
        for platform in platforms:
            self._taken.pop((platform, key), None)

    def unlinked(self) -> list[tuple[str, str]]:
        """(platform, key) of the records taken this run that the store does not link (yet)."""
        return list(self._taken)

    def refuse(self, conflict: Conflict) -> None:
        """Refuse a record (quarantined, naming both records, when the seam records it)."""
        log.warning("%s", conflict.finding.message)
        self.refusals.append(conflict)

    def show(self, plan: Plan) -> None:
        """A dry run: the refusals waiting are shown blocked in the plan; nothing is stored."""
        for conflict in self.refusals:
            plan.block(conflict.key, conflict.platform, [conflict.finding], ref=conflict.record.id)
        self._clear()

    def record(self) -> None:
        """A real run: quarantine the refusals waiting, release the refusals that no longer
        conflict, and journal the changed-key findings."""
        for conflict in self.refusals:
            self.store.quarantine(
                conflict.platform,
                [conflict.finding.to_dict()],
                conflict.quarantine_record(),
                key=conflict.key,
                ref=conflict.record.id,
            )
        for entry_id in self.released:
            self.store.release(entry_id)
        for finding, ref in self.findings:
            self.store.append(
                self.run_id, "finding", finding.to_dict(), key=finding.key, platform=finding.platform, ref=ref
            )
        self._clear()

    def _clear(self) -> None:
        self.refusals, self.released, self.findings = [], [], []

    def reread(
        self, connector: Connector | None, platform: str, ref: str, source_mapper: PlatformMapper | None
    ) -> Verdict:
        """A record refused earlier, read afresh and judged again (`retry`). The source's key is
        the one its mapper gives; a target's, the one it carries. A record gone is nobody's."""
        if connector is None:
            return Verdict(None)
        try:
            record = connector.get(RemoteRef(platform, ref))
        except NotFound:
            return Verdict(None)
        carried = source_mapper.to_canonical(record)[0].key if source_mapper is not None else record.correlation_key
        return self.resolve(platform, record, carried)

    def _key_changed(self, platform: str, record: RemoteRecord, linked: str, carried: str) -> None:
        """Journal, once per new value, that a linked record now carries another key."""
        if (linked, platform, carried) in self._noted:
            return
        self._noted.add((linked, platform, carried))
        for entry in self.store.journal(key=linked, kinds=("finding",)):
            if (
                entry.kind == "finding"
                and entry.payload.get("rule_id") == KEY_CHANGED
                and entry.platform == platform
                and entry.payload.get("value") == carried
            ):
                return
        message = (
            f"{platform} {_name(record.ref)} now carries key {carried}, but it is linked to "
            f"{linked}: it stays with {linked} (a record is its link, not the key it carries)"
        )
        log.warning("%s", message)
        self.findings.append((Finding(KEY_CHANGED, platform, "key", "warn", message, linked, carried), str(record.ref)))


def is_conflict(findings: list[dict[str, Any]]) -> bool:
    """Whether a quarantine entry's findings are a key conflict."""
    return any(f.get("rule_id") == KEY_CONFLICT for f in findings)


def _name(ref: RemoteRef) -> str:
    return ref.display or ref.id
