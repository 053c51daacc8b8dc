"""Assignment checks: the group and the assignee a platform states against the system of record.

Only platforms that carry the field are compared (their `PlatformSpec`), and a platform that
states none is a completeness question (the required-field rules), not a mismatch. A person
compares by canonical value: an e-mail address, or `platform:id` for someone only one platform
knows (a Jira account that hides its address and is not in the people map).
"""

from __future__ import annotations

from itsm_bridge import platforms
from itsm_bridge.reports.checks import _differs
from itsm_bridge.reports.collect import Copy, View
from itsm_bridge.reports.findings import AuditFinding

KINDS = {"assignment_group": "group_mismatch", "assignee": "assignee_mismatch"}

Compared = dict[str, tuple[tuple[str, str], ...]]
"""Per registered platform, the (field, kind) pairs of KINDS whose field it carries."""


def assignment_fields() -> Compared:
    """What `assignment` compares on each platform, worked out once per audit from the registry."""
    return {s.name: tuple((f, kind) for f, kind in KINDS.items() if f in s.carries) for s in platforms.specs()}


def assignment(view: View, src: Copy | None, compared: Compared) -> list[AuditFinding]:
    """Groups and assignees a target platform states differently from the source (`src`: its
    copy), on the fields it carries (`compared`: `assignment_fields`)."""
    if src is None:
        return []
    out: list[AuditFinding] = []
    ours = src.incident
    for platform, copies in view.copies.items():
        fields = compared.get(platform)
        if platform == src.platform or not fields:
            continue
        for copy in copies:
            theirs = copy.incident
            for field, kind in fields:
                value = getattr(theirs, field)
                # (a value the platform does not state is no mismatch: `_differs` would say so, later)
                if value is not None and value != getattr(ours, field):
                    out += _differs(view.key, kind, field, src, copy)
    return out
