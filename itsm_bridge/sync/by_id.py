"""The incidents a list of records names, read afresh by id and in bulk (`Engine.sync_records`).

A record named (what a webhook names) says which incident: a source record is one by itself, a
target record only when the bridge linked it. Each incident is taken once however many of its
records are named, and the records of all of them are read per platform in a few calls where
the connector reads many at once (`GetsMany`: a query or two per 100 records), instead of a read
(or two) per record. Nothing here writes, and no cursor moves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from itsm_bridge.connectors.base import Connector, GetsMany
from itsm_bridge.errors import NotFound
from itsm_bridge.model import RemoteRef
from itsm_bridge.records import RemoteRecord
from itsm_bridge.store.base import StateStore
from itsm_bridge.sync.reader import Reads


@dataclass(frozen=True)
class Named:
    """One incident named: its key when linked, its links by platform, and its source record's ref
    (None when the source record is not linked)."""

    key: str | None
    links: Mapping[str, RemoteRef]
    source: RemoteRef | None


Found = dict[str, dict[str, RemoteRecord]]
"""Per platform, the records read, by id (a gone record is absent)."""


def named_incidents(store: StateStore, source: str, refs: list[RemoteRef]) -> list[Named]:
    """The incidents `refs` name, each once, in the order first named. A target record the
    bridge did not link names none: it is not one of its incidents."""
    out: list[Named] = []
    taken: set[tuple[str, str]] = set()
    for ref in refs:
        key = store.key_for(ref.platform, ref.id)
        if key is None and ref.platform != source:
            continue
        links = {r.platform: r for r in store.links(key)} if key else {}
        own = links.get(source) or (ref if ref.platform == source else None)
        mark = ("key", key) if key is not None else ("record", ref.id)
        if mark not in taken:
            taken.add(mark)
            out.append(Named(key, links, own))
    return out


def read_named(named: list[Named], source: str, connectors: Mapping[str, Connector], reads: Reads) -> Found:
    """The records of the `named` incidents on each platform `reads` covers: the source record and
    each linked target record, read by id (counted in `reads`)."""
    found: Found = {}
    for platform, read in reads.items():
        refs = [n.source if platform == source else n.links.get(platform) for n in named]
        found[platform] = read_by_ids(connectors[platform], [r for r in refs if r is not None])
        read.count += len(found[platform])
    return found


def read_by_ids(connector: Connector, refs: list[RemoteRef]) -> dict[str, RemoteRecord]:
    """The records of `refs` by id: in bulk where the connector can, else one `get` each; a gone
    record is left out (the next full sync and `doctor` say so)."""
    if not refs:
        return {}
    if isinstance(connector, GetsMany):
        return {record.ref.id: record for record in connector.get_many(refs)}
    found: dict[str, RemoteRecord] = {}
    for ref in refs:
        try:
            found[ref.id] = connector.get(ref)
        except NotFound:
            continue
    return found
