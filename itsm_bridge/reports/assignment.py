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


def assignment(view: View, src: Copy | None) -> list[AuditFinding]:
    """Groups and assignees a target platform states differently from the source (`src`: its copy)."""
    if src is None:
        return []
    out: list[AuditFinding] = []
    for platform, copies in view.copies.items():
        spec = platforms.get(platform)
        if platform == src.platform or spec is None:
            continue
        for copy in copies:
            for field, kind in KINDS.items():
                if field in spec.carries and getattr(copy.incident, field) != getattr(src.incident, field):
                    out += _differs(view.key, kind, field, src, copy)
    return out
