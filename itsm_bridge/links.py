"""Links: which remote record stands for each canonical key on each platform, and their repair.

- `show` tells what the store links for a key (and what it holds back, and what was written);
- `unlink` and `relink` change a link by hand, each journaled; `retry` then re-evaluates the key
  (an unlinked target is created again, or found by its correlation key);
- a linked record that is gone (404 on a write) follows `[sync] gone_links` (in the write path,
  `itsm_bridge.sync.linking`): `quarantine` (the default) holds the key on that platform with a
  finding naming the repair command; `recreate` unlinks it, and the sync creates it again;
- `gone` lists links whose records are gone (for `doctor`);
- `key_conflicts` names the records refused for a key another record holds (for `status`,
  `doctor` and the audit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from itsm_bridge import progress
from itsm_bridge.connectors.base import Connector, FetchesInBulk, GetsMany
from itsm_bridge.errors import NotFound
from itsm_bridge.model import RemoteRef
from itsm_bridge.records import RemoteRecord
from itsm_bridge.results import KeyDetails
from itsm_bridge.store.base import QuarantineEntry, StateStore
from itsm_bridge.sync.identity import KEY_CONFLICT, is_conflict
from itsm_bridge.sync.linking import LinkError, check_platform, forget_version, repair_hint, unlink

__all__ = ["LinkError", "check_platform", "gone", "key_conflicts", "relink", "show", "unlink"]

CHECK_BATCH = 100  # links checked per bulk read where the connector offers one


def show(store: StateStore, key: str, last: int = 20) -> KeyDetails:
    """One key's links, its shadow, what holds it back and its latest journal entries."""
    links = tuple(store.links(key))
    shadow = store.shadow(key)
    held = tuple(q for q in store.quarantined() if q.key == key)
    if not links and shadow is None and not held:
        raise LinkError(f"{key}: the store knows no such key (see `itsm-bridge links list`)")
    return KeyDetails(key, links, shadow, held, tuple(store.journal(key=key, last=last)))


def relink(store: StateStore, connector: Connector, run_id: str, key: str, platform: str, ref: str) -> RemoteRef:
    """Point `key`'s link on `platform` at the record `ref` (id or display key), checked to exist
    there and to be linked to no other key (journaled)."""
    check_platform(platform)
    try:
        record = connector.get(RemoteRef(platform, ref, ref))
    except NotFound:
        raise LinkError(f"{platform} has no record {ref!r}") from None
    new = record.ref
    owner = store.key_for(platform, new.id)
    if owner is not None and owner != key:
        raise LinkError(f"{platform} {new.display or new.id} is linked to {owner}; unlink it there first")
    was = store.unlink(key, platform)
    store.link(key, new)
    forget_version(store, key, platform)
    store.append(
        run_id,
        "link",
        {"result": "relinked", "was": str(was) if was else None, "now": str(new), "now_id": new.id},
        key=key,
        platform=platform,
        ref=str(new),
        action="relink",
    )
    return new


def gone(store: StateStore, connectors: Mapping[str, Connector]) -> list[dict[str, str]]:
    """Links whose records the platforms no longer have (a read per link, or a query or two per
    100 links where the connector reads many by id: ServiceNow, Jira)."""
    by_platform: dict[str, list[tuple[str, RemoteRef]]] = {}
    for key, ref in store.all_links():
        if ref.platform in connectors:
            by_platform.setdefault(ref.platform, []).append((key, ref))
    out: list[dict[str, str]] = []
    for platform, pairs in by_platform.items():
        missing = _missing(connectors[platform], pairs, f"links:{platform}")
        out += [
            {"key": key, "platform": platform, "id": ref.id, "display": ref.display, "fix": repair_hint(key, platform)}
            for key, ref in missing
        ]
    return out


def _bulk_read(connector: Connector) -> Callable[[list[RemoteRef]], list[RemoteRecord]] | None:
    """The connector's read of many records by id (a query or two per 100), if it has one."""
    if isinstance(connector, GetsMany):
        return connector.get_many
    if isinstance(connector, FetchesInBulk):
        return connector.fetch_many
    return None


def _missing(connector: Connector, pairs: list[tuple[str, RemoteRef]], line: str) -> Iterable[tuple[str, RemoteRef]]:
    label = f"checking links to {connector.name}"
    read_many = _bulk_read(connector)
    if read_many is not None:
        shown = progress.current()
        shown.line(line, label, "rec", total=len(pairs))
        for start in range(0, len(pairs), CHECK_BATCH):
            chunk = pairs[start : start + CHECK_BATCH]
            found = {r.ref.id for r in read_many([ref for _, ref in chunk])}
            shown.advance(line, len(chunk))
            yield from ((key, ref) for key, ref in chunk if ref.id not in found)
        return
    for key, ref in progress.counted(line, label, pairs):
        try:
            connector.get(ref)
        except NotFound:
            yield key, ref


def key_conflicts(entries: Iterable[QuarantineEntry]) -> list[dict[str, Any]]:
    """The quarantined records among `entries` that carry a key another record holds, both records named."""
    out = []
    for q in entries:
        if is_conflict(q.findings):
            record, holder = q.record.get("record") or {}, q.record.get("holder") or {}
            out.append(
                {
                    "key": q.key,
                    "platform": q.platform,
                    "record": record.get("display") or record.get("id") or q.ref,
                    "holder": holder.get("display") or holder.get("id"),
                    "since": q.first_seen,
                    "message": next(str(f.get("message")) for f in q.findings if f.get("rule_id") == KEY_CONFLICT),
                }
            )
    return out
