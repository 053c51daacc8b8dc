"""Plain-text rendering for people: tables and the mapping report.

Text from vendors reaches a terminal only through `printable`: an ESC or OSC sequence in an
incident title could otherwise clear the screen, retitle the window or plant a hyperlink.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

# Bidirectional overrides, embeddings, isolates and marks: they reorder what a reader sees.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_control(ch: str) -> bool:
    """A C0, DEL or C1 control character, or a bidi control: never shown to a reader as is."""
    return unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, keep: str = "\n\t") -> str:
    """`text` with control characters (C0, DEL, C1) and bidi controls shown as `\\xNN` /
    `\\uNNNN` escapes, so vendor data cannot drive the terminal; characters in `keep` stay."""
    return "".join(_escape(ch) if ch not in keep and is_control(ch) else ch for ch in text)


# A run's counts in the order a reader wants them; zero counts are left out.
RUN_COUNTS = (
    "created",
    "updated",
    "transitioned",
    "commented",
    "published",
    "skipped",
    "quarantined",
    "conflicts",
    "failed",
    "deferred",
)


def counts(by_name: Mapping[str, Any]) -> str:
    """Counts by name as people write them: "servicenow 50, jira 2" ("none" when empty)."""
    return ", ".join(f"{name} {n}" for name, n in by_name.items()) or "none"


def run_counts(run: Mapping[str, Any]) -> str:
    """A run's summary (a `RunResult.to_dict()` or a journaled run): what it read and wrote."""
    wrote = ", ".join(f"{k} {run[k]}" for k in RUN_COUNTS if run.get(k)) or "nothing to write"
    return f"read {counts(run.get('read') or {})}; {wrote}"


def one_line(value: Any, limit: int = 70) -> str:
    """A value on one line: whitespace (newlines included) folded, long text cut with an ellipsis."""
    text = "(empty)" if value in (None, "") else " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def conflict_lines(conflict: Mapping[str, Any], indent: str = "    ") -> list[str]:
    """Each platform's value of a conflicting field on its own line, names aligned."""
    values = conflict["values"]
    if not isinstance(values, Mapping):
        return [f"{indent}{one_line(values)}"]
    width = max((len(str(p)) for p in values), default=0)
    return [f"{indent}{str(p).ljust(width)}  {one_line(v)}" for p, v in values.items()]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A fixed-width table; cells are str()-ed (control characters escaped, so a cell stays on
    its line), columns sized to their widest cell."""
    cells = [[str(c) for c in headers], *[[("" if c is None else printable(str(c), keep="")) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = ["  ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells[1:]]
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
        parts.append(
            table(
                ["platform", "kind", "term", "set this key"],
                [[g["platform"], g["kind"], g["term"], g["missing_key"]] for g in gaps],
            )
        )
    else:
        parts.append("\nNo gaps: every term has a value on every platform that needs one.")
    return "\n".join(parts)


def render_status(st: dict[str, Any]) -> str:
    """Top down: the last run, then what needs attention (runs in error, records held in
    quarantine, recent conflicts), then the state (links, cursors)."""
    last = st["last_run"]
    lines = []
    if last:
        if last.get("interrupted"):  # its counts follow: what it did before it stopped
            lines.append(
                f"Last run INTERRUPTED by {last['interrupted']} ({last.get('unfinished', 0)} incident(s) "
                f"unfinished, {st['open_intents']} open intent(s)): the next sync carries on"
            )
        lines.append(
            f"Last run {last['run_id']} at {last['at'][:19]}: created {last.get('created', 0)}, "
            f"updated {last.get('updated', 0)}, failed {last.get('failed', 0)}, "
            f"newly quarantined {last.get('quarantined', 0)}"
        )
    else:
        lines.append("No run yet.")
    attention = bool(st.get("run_errors") or st["quarantined"] or st["conflicts"])
    lines.append("\nNeeds attention:" if attention else "Nothing needs attention.")
    if st.get("run_errors"):
        lines.append(f"{st['run_errors_total']} run(s) ended in error{' since then' if last else ''} (latest last):")
        lines += [f"  {e['at'][:19]} {e['command']}: {e['error']}: {e['message']}" for e in st["run_errors"]]
    if st["quarantined"]:
        lines.append(f"Held in quarantine ({len(st['quarantined'])}, from any run until released):")
        lines.append(
            table(
                ["id", "key", "platform", "findings"],
                [[q["id"], q["key"], q["platform"], "; ".join(q["findings"])] for q in st["quarantined"]],
            )
        )
    if st["conflicts"]:
        lines.append(f"Recent conflicts ({len(st['conflicts'])}):")
        for c in st["conflicts"]:
            lines.append(f"  {c['at'][:19]}  {c['key']}  {c['field']}: kept {c['winner']} ({c['rule']})")
            lines += conflict_lines(c)
    lines.append(f"\nLinked incidents: {st['links']}; open intents: {st['open_intents']}")
    lines += [f"Cursor {p}: {v}" for p, v in st["cursors"].items()]
    return "\n".join(lines)
