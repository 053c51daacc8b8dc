"""Where the tests find a vendor API description: in this folder when its licence lets the
repository carry it (see README.md here), else under `$ITSM_BRIDGE_SPECS` or `../shared/specs`
beside the clone; a test whose file is in none of them is skipped with a reason saying where to
get it, so a fresh clone passes. `.ci/run` sets `ITSM_BRIDGE_REQUIRE_SPECS`, which turns that skip
into a failure: CI always runs them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

BUNDLED = Path(__file__).resolve().parent
SHARED = BUNDLED.parents[1].parent / "shared" / "specs"
# Files that state no licence: not in the repository, looked up outside it.
ELSEWHERE = {
    "jira-servicedesk.openapi.json": "https://dac-static.atlassian.com/cloud/jira/service-desk/swagger.v3.json",
    "statuspage-v1.openapi.json": "the Statuspage API description behind https://developer.statuspage.io/",
}


def spec_path(name: str) -> Path:
    """The path of spec file (or folder) `name`; skips the calling test when it is nowhere."""
    bundled = BUNDLED / name
    if bundled.exists():
        return bundled
    if name not in ELSEWHERE:
        raise FileNotFoundError(f"{name} is neither in tests/specs nor a known outside spec")
    for folder in _outside():
        if (folder / name).exists():
            return folder / name
    reason = (
        f"{name} (no licence stated, so not in the repository) is not under $ITSM_BRIDGE_SPECS "
        f"or ../shared/specs; get it from {ELSEWHERE[name]} and set ITSM_BRIDGE_SPECS to its folder"
    )
    if os.environ.get("ITSM_BRIDGE_REQUIRE_SPECS"):  # CI: these tests must run, never skip
        pytest.fail(reason)
    pytest.skip(reason)


def _outside() -> list[Path]:
    env = os.environ.get("ITSM_BRIDGE_SPECS")
    return [*([Path(env)] if env else []), SHARED]
