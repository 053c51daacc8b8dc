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


def render_status(st: dict[str, Any]) -> str:
    last = st["last_run"]
    lines = []
    if last:
        lines.append(f"Last run {last['run_id']} at {last['at'][:19]}: created {last.get('created', 0)}, "
                     f"updated {last.get('updated', 0)}, failed {last.get('failed', 0)}, "
                     f"quarantined {last.get('quarantined', 0)}")  # fmt: skip
    else:
        lines.append("No run yet.")
    lines.append(f"Linked incidents: {st['links']}; open intents: {st['open_intents']}")
    lines += [f"Cursor {p}: {v}" for p, v in st["cursors"].items()]
    if st["quarantined"]:
        lines.append(f"\nQuarantined ({len(st['quarantined'])}):")
        lines.append(table(["id", "key", "platform", "findings"],
                           [[q["id"], q["key"], q["platform"], "; ".join(q["findings"])] for q in st["quarantined"]]))  # fmt: skip
    if st["conflicts"]:
        lines.append(f"\nRecent conflicts ({len(st['conflicts'])}):")
        lines.append(table(["at", "key", "field", "values", "kept"],
                           [[c["at"][:19], c["key"], c["field"], c["values"], f"{c['winner']} ({c['rule']})"] for c in st["conflicts"]]))  # fmt: skip
    return "\n".join(lines)
