"""Read the platforms (read only) and the state store into one `View` per canonical key.

Records are grouped by the key the store links them to, else by the correlation key they carry
(the source platform's records by the key its mapper gives). So two copies carrying one key
(duplicates) and copies carrying a key the store does not link both show up in one view.
Records of a target platform that carry no key are not part of any flow and are only counted.

Only `changed_since` and `get` are called: nothing is written anywhere, not even the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import MISSING, dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from itsm_bridge import platforms, progress
from itsm_bridge.collector import gc_paused
from itsm_bridge.errors import NotFound
from itsm_bridge.findings import Finding
from itsm_bridge.history import History, HistoryReader
from itsm_bridge.mapping.translate import PlatformMapper, mapper_for
from itsm_bridge.model import TIME_FIELDS, Incident, Level, Priority, PublicStatus, RemoteRef, State, ensure_utc
from itsm_bridge.reports.timeline import Timeline, timeline
from itsm_bridge.store.base import QuarantineEntry, ShadowSides, StateStore
from itsm_bridge.watermark import Watermark

if TYPE_CHECKING:
    from itsm_bridge.config import Config
    from itsm_bridge.connectors.base import Connector
    from itsm_bridge.records import RemoteRecord


@dataclass(frozen=True)
class Copy:
    """One platform's record of an incident, mapped to the canonical model."""

    platform: str
    ref: RemoteRef
    incident: Incident
    findings: tuple[Finding, ...] = ()
    updated: datetime | None = None
    page_impact: str | None = None  # a status page's own impact, compared against the priority
    matches_flow: bool = True  # a source record that passes [sync.filters]
    history: History | None = None  # its past, where the platform's connector reads it (HistoryReader)
    public_updates: tuple[datetime, ...] | None = None  # a status page's update times, where the page lists them


@dataclass
class View:
    """Everything known about one canonical key: each platform's copies and the store's links."""

    key: str
    copies: dict[str, list[Copy]] = field(default_factory=dict)
    links: dict[str, RemoteRef] = field(default_factory=dict)
    broken: list[RemoteRef] = field(default_factory=list)  # linked, but the platform has no such record

    def copy(self, platform: str) -> Copy | None:
        """The platform's copy: the linked one when there are several."""
        found = self.copies.get(platform) or []
        if len(found) == 1:  # linked or not, the only one (the checks ask this of every view)
            return found[0]
        linked = self.links.get(platform)
        if linked is not None:
            for c in found:
                if c.ref.id == linked.id:
                    return c
        return found[0] if found else None

    def kept(self) -> dict[str, Copy]:
        """Each platform's copy (`copy`) by platform: worked out once per view by the audit, not
        once per check."""
        kept: dict[str, Copy] = {}
        for platform, found in self.copies.items():  # a loop, not a comprehension: (a call less) per view
            if len(found) == 1:
                kept[platform] = found[0]
            elif (copy := self.copy(platform)) is not None:
                kept[platform] = copy
        return kept

    def timeline(self, source: str) -> Timeline | None:
        """The incident's timeline as its system of record tells it (else as any copy does)."""
        main = self.copy(source) or next((c for copies in self.copies.values() for c in copies), None)
        return None if main is None else timeline(main.incident, main.history)

    def canonical(self, source: str) -> Incident | None:
        """The incident as its system of record (the flow's source) says, else as any copy says."""
        main = self.copy(source)
        if main is not None:
            return main.incident
        return next((c.incident for copies in self.copies.values() for c in copies), None)


@dataclass
class Snapshot:
    """What one audit read: views by key, plus the store's quarantine and the source cursor."""

    source: str
    targets: list[str]
    views: dict[str, View]
    quarantined: list[QuarantineEntry] = field(default_factory=list)
    source_cursor: datetime | None = None  # the sync has read the source up to here
    read: dict[str, int] = field(default_factory=dict)  # records read per platform
    foreign: dict[str, int] = field(default_factory=dict)  # records carrying no key (not ours)
    api_calls: dict[str, int] = field(default_factory=dict)
    origin: str = "platforms"  # "platforms", or "store" for an audit of the store alone


def collect(
    config: Config,
    store: StateStore,
    connectors: dict[str, Connector],
    since: datetime | None = None,
) -> Snapshot:
    """Read every connector and the store into a Snapshot.

    With `since`, each platform is read from that time on: every copy of an incident opened since
    then was necessarily changed since then, so nothing in scope is missed; the view filter in
    `in_scope` then keeps incidents opened since."""
    sync = config.settings.sync
    links: dict[str, dict[str, RemoteRef]] = {}
    by_id: dict[tuple[str, str], str] = {}
    for key, ref in store.all_links():
        links.setdefault(key, {})[ref.platform] = ref
        by_id[(ref.platform, ref.id)] = key
    snap = Snapshot(sync.source, list(sync.targets), {})
    watermark = Watermark(since) if since else None
    source_records: list[RemoteRecord] = []  # the system of record's: their history is read once, at the end
    for platform, connector in connectors.items():
        mapper = mapper_for(platform, config)
        snap.read[platform] = 0
        for record in progress.reading(platform, connector.changed_since(watermark)):
            snap.read[platform] += 1
            if _add(snap, platform, record, mapper, by_id, config) and platform == sync.source:
                source_records.append(record)
    for key, refs in progress.counted("links", "checking linked records", list(links.items())):
        view = snap.views.get(key)
        if view is None:
            if since is not None:
                continue  # nothing of it changed since: out of scope
            view = snap.views[key] = View(key)
        view.links = dict(refs)
        source_records += _complete(snap, view, connectors, config)
    _attach_history(snap, connectors.get(sync.source), source_records)
    snap.quarantined = store.quarantined()
    cursor = Watermark.from_cursor(store.cursor(sync.source))
    snap.source_cursor = cursor.value
    snap.api_calls = {p: c.calls for p, c in connectors.items()}
    return snap


def _add(
    snap: Snapshot,
    platform: str,
    record: RemoteRecord,
    mapper: PlatformMapper,
    by_id: dict[tuple[str, str], str],
    config: Config,
) -> bool:
    """Add the record's copy to its view; False when it carries no key (not ours)."""
    key = by_id.get((platform, record.ref.id)) or record.correlation_key
    if key is None and platform != snap.source:
        snap.foreign[platform] = snap.foreign.get(platform, 0) + 1
        return False
    incident, findings = mapper.to_canonical(record)
    key = key or incident.key
    copy = Copy(
        platform,
        record.ref,
        incident.replace(key=key),
        tuple(f.for_key(key) for f in findings),
        record.updated,
        page_impact=record.fields.get("impact") if platforms.is_publish_only(platform) else None,
        matches_flow=platform != snap.source or _matches_filter(record, config),
        public_updates=_public_updates(record) if platforms.is_publish_only(platform) else None,
    )
    snap.views.setdefault(key, View(key)).copies.setdefault(platform, []).append(copy)
    return True


def _public_updates(record: RemoteRecord) -> tuple[datetime, ...] | None:
    """When a page incident's public updates went out (None when the page does not list them)."""
    times = record.fields.get("updates")
    return None if times is None else tuple(sorted(times))


def _complete(snap: Snapshot, view: View, connectors: dict[str, Connector], config: Config) -> list[RemoteRecord]:
    """Fetch linked records not read (unchanged since `since`); a missing one is a broken link.
    Returns the system of record's records fetched."""
    fetched = []
    for platform, ref in view.links.items():
        if platform not in connectors or any(c.ref.id == ref.id for c in view.copies.get(platform, [])):
            continue
        try:
            record = connectors[platform].get(ref)
        except NotFound:
            view.broken.append(ref)
            continue
        _add(snap, platform, record, mapper_for(platform, config), {(platform, ref.id): view.key}, config)
        if platform == snap.source:
            fetched.append(record)
    return fetched


def _attach_history(snap: Snapshot, connector: Connector | None, records: list[RemoteRecord]) -> None:
    """Each system-of-record copy gets its History, where the connector reads one (read only)."""
    reader: object = connector  # a capability beyond the Connector protocol
    if not records or not isinstance(reader, HistoryReader):
        return
    found = reader.history(records)
    for view in snap.views.values():
        copies = view.copies.get(snap.source)
        if copies:
            view.copies[snap.source] = [replace(c, history=found.get(c.ref.id)) for c in copies]


def _matches_filter(record: RemoteRecord, config: Config) -> bool:
    """The same test the sync engine applies to source records ([sync.filters.<source>])."""
    wanted = config.settings.sync.filters.get(config.settings.sync.source, {})
    return all(str(record.fields.get(k, "")) == v or record.display.get(k) == v for k, v in wanted.items())


def in_scope(snap: Snapshot, since: datetime | None) -> Iterable[View]:
    """Views of incidents opened at or after `since` (every view without it)."""
    for view in snap.views.values():
        if since is None:
            yield view
            continue
        incident = view.canonical(snap.source)
        opened = incident.opened or incident.updated if incident else None
        if opened is None or opened >= since:
            yield view


def scoped(snap: Snapshot, since: datetime | None) -> Snapshot:
    """The snapshot narrowed to `in_scope` views."""
    if since is None:
        return snap
    views = {v.key: v for v in in_scope(snap, since)}
    quarantined = [q for q in snap.quarantined if q.key in views]
    return Snapshot(
        snap.source,
        snap.targets,
        views,
        quarantined,
        snap.source_cursor,
        snap.read,
        snap.foreign,
        snap.api_calls,
        snap.origin,
    )


def store_snapshot(config: Config, store: StateStore, shadows: Iterable[ShadowSides]) -> Snapshot:
    """A Snapshot of the state store alone: each linked incident as every platform last showed
    it to the sync (the shadow's per-side values). No platform is read, so this finds what was
    true at the last sync; `itsm-bridge audit` reads the platforms instead. Used by the benchmark
    and for audits of a store whose platforms are out of reach."""
    sync = config.settings.sync
    snap = Snapshot(sync.source, list(sync.targets), {}, origin="store")
    with gc_paused():  # millions of long-lived objects and no cycles: a collector pass only costs time
        _fill_from_store(snap, store, shadows)
    return snap


def _fill_from_store(snap: Snapshot, store: StateStore, shadows: Iterable[ShadowSides]) -> None:
    source = snap.source
    links: dict[str, dict[str, RemoteRef]] = {}
    for key, ref in store.all_links():
        links.setdefault(key, {})[ref.platform] = ref
    read = dict.fromkeys((source, *snap.targets), 0)
    views = snap.views
    for key, base, sides in shadows:
        refs = links.get(key)
        if refs is None:
            refs = {}
        view = views[key] = _made(View, {"key": key, "copies": {}, "links": refs, "broken": []})
        title = base.get("title") or ""
        copies = view.copies
        for platform, values in sides.items():
            ref = refs.get(platform) or RemoteRef(platform, key)
            incident = _incident(key, base if platform == source else None, values, title)
            # findings, page impact, history...: their defaults (the store keeps none of them)
            copies[platform] = [
                _made(Copy, {"platform": platform, "ref": ref, "incident": incident, "updated": incident.updated})
            ]
            if platform in read:
                read[platform] += 1
    snap.quarantined = store.quarantined()
    snap.source_cursor = Watermark.from_cursor(store.cursor(source)).value
    snap.read = read


_T = TypeVar("_T")
_new, _set = object.__new__, object.__setattr__


def _made(cls: type[_T], attrs: dict[str, Any]) -> _T:
    """An instance of the dataclass `cls` with `attrs` as its attributes, made without its
    `__init__`: a frozen dataclass sets each field through `object.__setattr__`, most of the cost
    of the store audit's several objects per incident. A field with a default may be left out of
    `attrs`: the dataclass keeps each default as a class attribute, which an instance without
    its own value reads (so equality, `repr` and `replace` see it). For values that need no
    `__post_init__`."""
    made: _T = _new(cls)
    _set(made, "__dict__", attrs)
    return made


_DEFAULTS: dict[str, Any] = {
    name: None if f.default is MISSING else f.default
    for name, f in Incident.__dataclass_fields__.items()
    if name not in ("comments", "links")
}
"""Every Incident field a shadow may give, with its default (comments and links: a shadow has
none, and an instance without them reads their default, `_made`)."""

_ENUMS: dict[str, type[Enum]] = {
    "state": State,
    "impact": Level,
    "urgency": Level,
    "priority": Priority,
    "public_status": PublicStatus,
}
_MEMBERS = {name: {m.value: m for m in enum} for name, enum in _ENUMS.items()}


_STATES, _LEVELS, _PRIORITIES, _PUBLIC = (_MEMBERS[n] for n in ("state", "impact", "priority", "public_status"))


def _incident(key: str, base: dict[str, Any] | None, values: dict[str, Any], title: str) -> Incident:
    """An Incident from shadow values: the merged fields under the side's own (`base`, for the
    system of record), the merged title where the side has none.

    The values are brought here to the form `Incident.__post_init__` gives them (members, UTC
    datetimes), so the instance is made without it: its Enum calls and zone checks per field were
    most of a 100k-incident store audit. What it refuses is refused here too (a value of no
    member, a naive time), and a key that is no field is dropped, as before."""
    # merged into a copy of the defaults, not built from the parsed dicts alone: the copy keeps
    # the defaults' own (interned) keys, which every attribute read of the audit then finds by
    # identity rather than by comparing strings
    fields = {**_DEFAULTS, **base, **values} if base else {**_DEFAULTS, **values}
    if len(fields) != len(_DEFAULTS):
        fields = {k: v for k, v in fields.items() if k in _DEFAULTS}
    fields["key"] = key
    if not fields["title"]:
        fields["title"] = title
    value = fields["state"]  # each enum field unrolled: a loop over them cost as much as the lookups
    fields["state"] = _STATES.get(value) or State(value)
    value = fields["impact"]
    fields["impact"] = _LEVELS.get(value) or Level(value)
    value = fields["urgency"]
    fields["urgency"] = _LEVELS.get(value) or Level(value)
    value = fields["priority"]
    if value is not None:
        fields["priority"] = _PRIORITIES.get(value) or Priority(value)
    value = fields["public_status"]
    if value is not None:
        fields["public_status"] = _PUBLIC.get(value) or PublicStatus(value)
    for name in TIME_FIELDS:
        value = fields[name]
        if value is not None:
            when = datetime.fromisoformat(value)
            fields[name] = when if when.tzinfo is UTC else ensure_utc(when, f"Incident.{name}")
    return _made(Incident, fields)


def iter_shadows(store: StateStore) -> Iterator[ShadowSides]:
    """Every shadow's key, merged fields and sides, read in one query."""
    return store.all_sides()
