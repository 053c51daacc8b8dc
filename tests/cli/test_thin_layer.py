"""The CLI is a thin layer over the public API: its commands reach the runs, the store, the
connectors and the links through `itsm_bridge.Bridge`, never around it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "itsm_bridge"
# What the CLI must not import: the work behind the Bridge. (store.chain parses `--head` values.)
BEHIND_THE_BRIDGE = (
    "itsm_bridge.runner",
    "itsm_bridge.store",
    "itsm_bridge.sync.engine",
    "itsm_bridge.connectors",
    "itsm_bridge.links",
)
ALLOWED = ("itsm_bridge.store.chain",)


def imported_modules(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)  # `from itsm_bridge import runner`
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_the_cli_modules_reach_the_work_only_through_the_bridge():
    offending = {}
    for path in sorted(PACKAGE.glob("cli*.py")):
        bad = sorted(m for m in imported_modules(path) if within(m, BEHIND_THE_BRIDGE) and not within(m, ALLOWED))
        if bad:
            offending[path.name] = bad
    assert not offending, f"CLI modules importing what the Bridge wraps: {offending}"
    assert "itsm_bridge.api.Bridge" in imported_modules(PACKAGE / "cli.py")
