"""The layering rules of the package, asserted on its import graph (see README "Layout").

- no import circle crosses folders: two modules in different folders never import each other,
  directly or through others;
- nothing in `sync/` names a vendor: the engine learns platforms from the registry;
- connectors import nothing from `sync/` or `mapping/`, and `mapping/` imports no connector;
- the ground floor (model, records, watermark, findings, errors, http) imports none of those.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "itsm_bridge"
UPPER = ("itsm_bridge.sync", "itsm_bridge.mapping", "itsm_bridge.connectors", "itsm_bridge.reports")
VENDORS = re.compile(r"servicenow|jira|statuspage|cachet", re.IGNORECASE)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str, modules: set[str]) -> set[str]:
    """Project modules `path` imports, at any depth of the file (lazy imports and imports for
    annotations count too: each is a dependency a reader has to follow).

    `from pkg import mod` is an edge to `pkg.mod`, not to `pkg`'s `__init__`."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    return {m for m in found if m in modules and m != name}


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: _imports(path, name, set(files)) for name, path in files.items()}


GRAPH = _graph()


def _folder(module: str) -> str:
    parts = module.split(".")
    return (
        ".".join(parts[:2]) if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) else "itsm_bridge"
    )


def _reachable(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in GRAPH.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_no_import_circle_crosses_folders() -> None:
    circles = sorted(
        f"{a} <-> {b}"
        for a in GRAPH
        for b in _reachable(a)
        if a < b and _folder(a) != _folder(b) and a in _reachable(b)
    )
    assert not circles, "import circles across folders:\n" + "\n".join(circles)


@pytest.mark.parametrize(
    "folder, forbidden",
    [
        ("itsm_bridge.connectors", ("itsm_bridge.sync", "itsm_bridge.mapping")),
        ("itsm_bridge.mapping", ("itsm_bridge.connectors",)),
        *(
            (f"itsm_bridge.{ground}", UPPER)
            for ground in ("model", "records", "watermark", "findings", "errors", "http")
        ),
    ],
)
def test_layer_imports_nothing_above_it(folder: str, forbidden: tuple[str, ...]) -> None:
    wrong = sorted(
        f"{m} imports {i}"
        for m, imports in GRAPH.items()
        if m == folder or m.startswith(folder + ".")
        for i in imports
        if i.startswith(forbidden)
    )
    assert not wrong, "\n".join(wrong)


def test_sync_names_no_vendor() -> None:
    named = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted((PACKAGE / "sync").glob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if VENDORS.search(line)
    ]
    assert not named, "sync/ names a vendor:\n" + "\n".join(named)
