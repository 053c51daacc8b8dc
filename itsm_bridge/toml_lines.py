"""Line numbers of keys in a TOML text, so config errors can say where to look.

tomllib gives values but no positions. This scanner understands what config files use: table
headers, arrays of tables, bare / quoted / dotted keys. It never fails: a line it cannot read is
passed over, and the caller falls back to the nearest enclosing table's line.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*(.+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*=""")
_PART = re.compile(r"""\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*\.?""")


def _parts(dotted: str) -> list[str]:
    return [p.strip("\"'") for p in _PART.findall(dotted)]


def key_lines(text: str) -> dict[str, int]:
    """Map each key path ("a.b.c", arrays as "a.b[0].c") to its 1-based line number."""
    lines: dict[str, int] = {}
    table: list[str] = []
    array_counts: dict[str, int] = {}
    in_multiline = False
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
                in_multiline = False
            continue
        header = _HEADER.match(line)
        if header and not _KEY.match(line):
            parts = _parts(header.group(2))
            name = ".".join(parts)
            if header.group(1) == "[[":
                index = array_counts.get(name, -1) + 1
                array_counts[name] = index
                parts = [*parts[:-1], f"{parts[-1]}[{index}]"]
            table = _resolve_arrays(parts, array_counts)
            lines.setdefault(_join(table), number)
            continue
        key = _KEY.match(line)
        if key:
            path = _join([*table, *_parts(key.group(1))])
            lines.setdefault(path, number)
            if line.count('"""') == 1 or line.count("'''") == 1:
                in_multiline = True
    return lines


def _resolve_arrays(parts: list[str], counts: dict[str, int]) -> list[str]:
    """In `[a.b.c]` under `[[a.b]]`, the `a.b` means the latest element: `a.b[N]`."""
    out: list[str] = []
    for i, part in enumerate(parts):
        plain = ".".join(p.split("[")[0] for p in parts[: i + 1])
        if "[" not in part and plain in counts and i < len(parts) - 1:
            part = f"{part}[{counts[plain]}]"
        out.append(part)
    return out


def _join(parts: list[str]) -> str:
    out = ""
    for p in parts:
        out += ("." if out and not p.startswith("[") else "") + p
    return out
