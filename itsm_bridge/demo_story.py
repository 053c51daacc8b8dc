"""What `demo` tells a person: why its seed is not clean, and what to do after it.

The seed carries a few deliberate inconsistencies (`sandbox/seed.py` lists them by key) so the
demo shows how the bridge meets real data: a record it cannot map is held in quarantine, never
half-written; a record already on both sides that disagrees is a conflict the field owners decide.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from itsm_bridge.demo import DemoResult

# Seed kind -> what the bridge does with it, and why it is there.
WHY = {
    "unmapped_category": "a ServiceNow category the taxonomy does not know: held in quarantine, not guessed",
    "unmapped_service": "a configuration item no taxonomy service names: held in quarantine, not guessed",
    "priority_off_matrix": "already on Jira with a priority the matrix does not give: a conflict, its rule journaled",
    "status_disagree": "resolved in ServiceNow, still open in Jira: a conflict, its rule journaled",
    "page_stale": "still 'investigating' on the status page though resolved: the sync brings the page up to date",
}


def seed_explanation(deliberate: dict[str, list[str]]) -> list[str]:
    """Lines saying which seeded incidents are wrong on purpose, and what the bridge does with them."""
    kinds = [kind for kind, keys in deliberate.items() if keys]
    if not kinds:
        return []
    width = max(len(", ".join(deliberate[k])) for k in kinds)
    return [
        "The seed is realistic, so it is not clean: a few incidents are wrong on purpose, to show how",
        "the bridge meets real data. Expect quarantines and conflicts below; they are the point, not a fault.",
        *(f"  {', '.join(deliberate[kind]):<{width}}  {WHY.get(kind, kind)}" for kind in kinds),
    ]


def next_steps(result: DemoResult) -> list[str]:
    """Where to go after the demo: its report and journal, then a sandbox that stays up."""
    config = shlex.quote(str(result.config_path))
    sandbox_config = shlex.quote(str(result.workdir / "sandbox.toml"))
    lines = ["", "Next steps:"]
    if result.report_path:
        lines.append(f"  Open {shlex.quote(str(result.report_path))} in a browser: the audit, with the held records.")
    lines += [
        f"  itsm-bridge --config {config} quarantine list   why each record was held",
        "  The demo's platforms lived only while it ran. To keep some up, start the sandbox in another shell:",
        f"    itsm-bridge sandbox --seed 50 --write-config {sandbox_config}",
        "  paste the `export ...` lines it prints (its credentials), then try:",
        f"    itsm-bridge --config {sandbox_config} plan   what a sync would do, writing nothing",
        "  For your own platforms, `itsm-bridge init` writes a commented config to start from.",
    ]
    return lines
