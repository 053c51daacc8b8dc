"""Link health: duplicates, records a flow should have linked, broken links, quarantine.

"Should have linked" needs the sync to have had its chance: the source cursor has moved past
the source record (or the store already links the incident elsewhere). Before the first sync
nothing is due, so an audit of fresh platforms does not report every incident as unlinked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from itsm_bridge import platforms
from itsm_bridge.mapping.publish import should_publish
from itsm_bridge.model import OPEN_STATES
from itsm_bridge.reports.collect import Copy, Snapshot, View
from itsm_bridge.reports.findings import AuditFinding
from itsm_bridge.sync.identity import is_conflict

if TYPE_CHECKING:
    from itsm_bridge.config import Config


def _display(copy: Copy) -> str:
    return copy.ref.display or copy.ref.id


def duplicates(view: View) -> list[AuditFinding]:
    """Every copy beyond the one kept (the linked one, else the first read) on a platform."""
    out = []
    for platform, copies in view.copies.items():
        if len(copies) < 2:
            continue
        kept = view.copy(platform)
        assert kept is not None
        for copy in copies:
            if copy is kept:
                continue
            message = f"{platform} has {len(copies)} records carrying {view.key}; {_display(kept)} is the one kept"
            out.append(
                AuditFinding(
                    "duplicate", "block", view.key, platform, "key", view.key, _display(kept), _display(copy), message
                )
            )
    return out


def broken(view: View) -> list[AuditFinding]:
    return [
        AuditFinding(
            "link_broken",
            "block",
            view.key,
            ref.platform,
            "link",
            ref.id,
            "",
            ref.display or ref.id,
            f"the store links {ref.platform} {ref.display or ref.id}, which is not there",
        )
        for ref in view.broken
    ]


def unlinked(
    view: View, src: Copy | None, kept: dict[str, Copy], snap: Snapshot, config: Config, held: set[str]
) -> list[AuditFinding]:
    """Targets a flow should link this incident to but the store does not (`src`: the system of
    record's copy; `kept`: `View.kept`)."""
    if view.key in held or (src is not None and not src.matches_flow):
        return []
    read_past = (
        src is not None
        and snap.source_cursor is not None
        and src.updated is not None
        and src.updated <= snap.source_cursor
    )
    if not (read_past or view.links):
        return []
    out = []
    for target in snap.targets:
        if target in view.links:
            continue
        copy = kept.get(target)
        if copy is None and not _due(target, src, config):
            continue
        where = copy or src
        if where is None:
            continue
        if copy is not None:
            message = f"{target} {_display(copy)} carries {view.key} but the store does not link it"
        else:
            message = f"{view.key} matches the flow {snap.source} -> {target} and was read by the sync, but is linked to nothing on {target}"
        out.append(AuditFinding("unlinked", "warn", view.key, target, "link", "", "", _display(where), message))
    return out


def _due(target: str, src: Copy | None, config: Config) -> bool:
    """Whether the sync would have created a copy on `target` for this source record."""
    if src is None:
        return False
    if platforms.is_publish_only(target):
        return src.incident.state in OPEN_STATES and should_publish(src.incident, config)
    return True


def quarantine(snap: Snapshot) -> list[AuditFinding]:
    out = []
    for q in snap.quarantined:
        if is_conflict(q.findings):
            continue  # reported as key_conflict, both records named
        reasons = "; ".join(str(f.get("message") or f.get("rule_id")) for f in q.findings)
        out.append(
            AuditFinding(
                "quarantined",
                "block",
                q.key or "",
                q.platform,
                "",
                "",
                "",
                q.ref or "",
                f"held back since {q.first_seen[:19]} ({q.attempts} attempt(s)): {reasons}",
            )
        )
    return out
