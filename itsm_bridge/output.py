"""Plain-text rendering for people: tables and the mapping report."""

from __future__ import annotations

from typing import Any, Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A fixed-width table; cells are str()-ed, columns sized to their widest cell."""
    cells = [[str(c) for c in headers], *[[("" if c is None else str(c)) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = ["  ".join(c.ljust(w) for c, w in zip(cells[0], widths)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells[1:]]
    return "\n".join(out)


def render_mapping(report: dict[str, Any]) -> str:
    rows = report["priority_matrix"]["rows"]
    parts = [
        "Priority matrix (impact down, urgency across; 1 high .. 3 low)",
        table(["impact \\ urgency", "1", "2", "3"], [[str(i + 1), *r] for i, r in enumerate(rows)]),
    ]
    for platform, entry in report["platforms"].items():
        values = [["category", k, v] for k, v in entry["categories"].items()]
        for cat, subs in entry["subcategories"].items():
            values += [["subcategory", f"{cat} / {k}", v] for k, v in subs.items()]
        values += [["service", k, v] for k, v in entry["services"].items()]
        values += [["resolution_code", k, v] for k, v in entry["resolution_codes"].items()]
        parts.append(f"\n{platform} (unmapped = {entry['unmapped_policy']})")
        parts.append(table(["kind", "canonical", f"{platform} value"], values) if values else "  (no values)")
    gaps = report["gaps"]
    if gaps:
        parts.append(f"\nGaps ({len(gaps)}): terms a platform has no value for")
        parts.append(table(["platform", "kind", "term", "set this key"], [[g["platform"], g["kind"], g["term"], g["missing_key"]] for g in gaps]))
    else:
        parts.append("\nNo gaps: every term has a value on every platform that needs one.")
    return "\n".join(parts)
