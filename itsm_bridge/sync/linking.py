"""Links as the write path keeps them: a create's record linked to its key (or reported where
another run linked one first), a gone record held or unlinked by `[sync] gone_links`, and the
findings that hold a key back on one platform until a repair or `retry`.

The operator's link commands (`links show`, `relink`, `gone`) are in `itsm_bridge.links`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from itsm_bridge import correlation, platforms
from itsm_bridge.errors import BridgeError, LinkConflict, NotFound
from itsm_bridge.findings import Finding
from itsm_bridge.model import RemoteRef
from itsm_bridge.store.base import StateStore

if TYPE_CHECKING:
    from itsm_bridge.sync.apply import Applied

log = logging.getLogger("itsm_bridge.sync")


GONE_RULE = "link.gone"


UNSETTLED_RULE = "intent.unsettled"


HOLDING = (GONE_RULE, UNSETTLED_RULE)  # findings that stop every write of the key on that platform


class LinkError(BridgeError):
    """A link command that cannot be carried out as asked (nothing linked, no such record)."""

    exit_code = 2


def repair_hint(key: str, platform: str) -> str:
    return (
        f"repair with `itsm-bridge links relink {key} {platform} REF` (the record that replaced it) or "
        f"`itsm-bridge links unlink {key} {platform}` then `itsm-bridge retry` (created again)"
    )


def gone_finding(key: str, ref: RemoteRef, why: str = "404") -> dict[str, Any]:
    message = (
        f"{ref.platform} {ref.display or ref.id} linked to {key} is gone ({why}); {repair_hint(key, ref.platform)}"
    )
    return Finding(GONE_RULE, ref.platform, "link", "block", message, key, ref.id).to_dict()


def unlink(store: StateStore, run_id: str, key: str, platform: str, reason: str) -> RemoteRef:
    """Drop a link (journaled); the key's next evaluation creates or finds the record afresh."""
    check_platform(platform)
    was = store.unlink(key, platform)
    if was is None:
        raise LinkError(f"{key} is linked to nothing on {platform}")
    forget_version(store, key, platform)
    store.append(
        run_id,
        "link",
        {"result": "unlinked", "was": str(was), "was_id": was.id, "reason": reason},
        key=key,
        platform=platform,
        ref=str(was),
        action="unlink",
    )
    return was


def settle_gone(
    store: StateStore, run_id: str, policy: str, key: str, applied: Applied, record: Mapping[str, Any]
) -> dict[str, str]:
    """Take the writes of `applied` that failed because a linked record is gone (404) out of its
    failures: quarantined with a finding naming the repair (policy `quarantine`), or unlinked for
    a fresh create (policy `recreate`). Returns platform -> "quarantined" | "unlinked"."""
    linked = {r.platform: r for r in store.links(key)} if applied.failed else {}
    handled: dict[str, str] = {}
    for action, exc in list(applied.failed):
        ref = linked.get(action.platform)
        if not (isinstance(exc, NotFound) and exc.status == 404 and action.kind != "create" and ref is not None):
            continue
        applied.failed.remove((action, exc))
        if policy == "recreate":
            unlink(store, run_id, key, action.platform, reason=f"gone: {exc}")
            handled[action.platform] = "unlinked"
            continue
        finding = gone_finding(key, ref)
        store.quarantine(action.platform, [finding], dict(record), key=key, ref=ref.id)
        store.append(
            run_id,
            "finding",
            {"result": "quarantined", "findings": [finding]},
            key=key,
            platform=action.platform,
            ref=str(ref),
            action=action.kind,
        )
        applied.blocked += 1
        handled[action.platform] = "quarantined"
    return handled


def holds(store: StateStore) -> dict[str, dict[str, Finding]]:
    """Key -> platform -> the finding that stops its writes there until a repair or `retry`
    (a gone record; an open intent that could not be settled)."""
    out: dict[str, dict[str, Finding]] = {}
    for q in store.quarantined():
        for f in q.findings:
            if q.key and f.get("rule_id") in HOLDING:
                out.setdefault(q.key, {})[q.platform] = Finding(**f)
    return out


def unsettled_finding(key: str, platform: str, action: str, exc: BridgeError) -> dict[str, Any]:
    message = (
        f"a {action} of {key} on {platform} was open when a run stopped and cannot be looked up ({exc}); "
        f"if it landed, `itsm-bridge links relink {key} {platform} REF`, else `itsm-bridge retry`"
    )
    return Finding(UNSETTLED_RULE, platform, "key", "block", message, key, key).to_dict()


def unreadable_finding(key: str, platform: str, exc: BridgeError) -> dict[str, Any]:
    return Finding(
        "key.unreadable", platform, "key", "block", f"{key} cannot be read from {platform}: {exc}", key, key
    ).to_dict()


def key_findings(key: str, platform: str) -> list[Finding]:
    """A key that cannot link records (it goes into labels, queries and URLs) holds its record."""
    if correlation.valid_key(key):
        return []
    return [
        Finding(
            "key.unusable",
            platform,
            "key",
            "block",
            f"key {key!r} cannot link records (1-100 letters, digits and . _ : -); fix it on {platform}",
            key,
            key,
        )
    ]


def link_or_report(store: StateStore, run_id: str, key: str, ref: RemoteRef) -> RemoteRef:
    """Link `ref`, or where the key is already linked to another record there (two runs that
    overlapped each made one), keep the linked one and report `ref` (journaled, logged). Where
    `ref`'s id is linked to another key (a platform reset hands out its ids again), that link is
    stale: it is dropped and its key held until `retry` creates its record again."""
    owner = store.key_for(ref.platform, ref.id)
    if owner is not None and owner != key:
        _evict(store, run_id, owner, ref, key)
    try:
        store.link(key, ref)
        return ref
    except LinkConflict as exc:
        kept = exc.existing
    message = (
        f"{key} is linked to {kept.platform} {kept.display or kept.id}; {ref.display or ref.id} was also made "
        f"for it and is left alone (remove it on {ref.platform} by hand)"
    )
    log.warning("%s", message)
    store.append(
        run_id,
        "finding",
        {"result": "duplicate", "kept": str(kept), "duplicate": str(ref), "duplicate_id": ref.id, "message": message},
        key=key,
        platform=ref.platform,
        ref=str(ref),
    )
    return kept


def _evict(store: StateStore, run_id: str, owner: str, ref: RemoteRef, key: str) -> None:
    was = unlink(store, run_id, owner, ref.platform, reason=f"its id {ref.id} now names the record made for {key}")
    message = (
        f"{ref.platform} {was.display or was.id} linked to {owner} is gone: its id now names the record made "
        f"for {key} (the platform was reset); `itsm-bridge retry` creates it again, or "
        f"`itsm-bridge links relink {owner} {ref.platform} REF`"
    )
    finding = Finding(GONE_RULE, ref.platform, "link", "block", message, owner, was.id).to_dict()
    store.quarantine(ref.platform, [finding], {}, key=owner, ref=None)
    log.warning("%s", message)


def forget_version(store: StateStore, key: str, platform: str) -> None:
    """The shadow's version of the old record means nothing for the new one."""
    shadow = store.shadow(key)
    if shadow is not None and platform in shadow.versions:
        versions = {p: v for p, v in shadow.versions.items() if p != platform}
        store.put_shadow(replace(shadow, versions=versions))


def check_platform(platform: str) -> None:
    if platforms.get(platform) is None:
        raise LinkError(f"PLATFORM {platform!r} is not one of {', '.join(platforms.names())}")
