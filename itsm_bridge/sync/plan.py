"""Actions and plans: what a cycle intends to write, printable, saveable and re-applicable.

A plan is data. `itsm-bridge plan` prints it like a diff; `--out plan.json` saves it;
`itsm-bridge apply plan.json` applies exactly it, refusing any action whose record changed
since the plan was made (its version no longer matches).

A plan keeps one merged incident per key (`Plan.incidents`), which every action of the key is
written from. The saved file is a contract: each action there carries its key's incident (as
files written by earlier versions do), and both shapes load.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from itsm_bridge.findings import Finding
from itsm_bridge.model import Comment, Incident, RemoteRef

ActionKind = Literal["create", "update", "transition", "comment", "publish"]
PLAN_FORMAT = 1


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    platform: str
    key: str  # the key whose merged incident (in its plan or batch) the write is made from
    changes: dict[str, list[Any]] = field(default_factory=dict)  # canonical field -> [old, new]
    rule: str = ""  # why this action: which side changed, which owner won, which rule published
    ref: dict[str, str] | None = None  # the target record (RemoteRef as data); None for a create
    expected_version: str | None = None  # the target's version when planned, for the stale check
    comment: dict[str, Any] | None = None  # for kind "comment"

    @property
    def remote_ref(self) -> RemoteRef | None:
        return RemoteRef(**self.ref) if self.ref else None

    def comment_obj(self) -> Comment | None:
        if not self.comment:
            return None
        return Comment(**{**self.comment, "created": datetime.fromisoformat(self.comment["created"])})

    def describe(self) -> str:
        target = self.ref["display"] or self.ref["id"] if self.ref else "(new)"
        head = {"create": "+", "update": "~", "transition": "~", "comment": "+", "publish": "~"}[self.kind]
        lines = [f"{head} {self.kind} {self.platform} {target}" + (f"  # {self.rule}" if self.rule else "")]
        for name, (old, new) in self.changes.items():
            lines.append(f"    {name}: {_show(old)} -> {_show(new)}")
        if self.comment:
            lines.append(
                f"    {self.comment['visibility']} note by {self.comment['author']}: {_short(self.comment['body'])}"
            )
        return "\n".join(lines)


@dataclass
class Plan:
    run_id: str
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    actions: list[Action] = field(default_factory=list)
    blocked: list[dict[str, Any]] = field(default_factory=list)  # quarantined records and their findings
    warnings: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    read: dict[str, int] = field(default_factory=dict)  # platform -> records read
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> merged incident (plain data)

    def add(self, merged: Incident | None, actions: list[Action]) -> None:
        """One key's actions, with the merged incident they are written from."""
        if merged is not None and actions:
            self.incidents[merged.key] = merged.to_dict()
        self.actions += actions

    def incident(self, key: str) -> Incident:
        """The merged incident `key`'s actions are written from."""
        return Incident.from_dict(self.incidents[key])

    def block(self, key: str | None, platform: str, findings: list[Finding], ref: str | None = None) -> None:
        self.blocked.append({"key": key, "platform": platform, "ref": ref, "findings": [f.to_dict() for f in findings]})

    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in ("create", "update", "transition", "comment", "publish")}
        for a in self.actions:
            out[a.kind] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "run_id": self.run_id,
            "created_at": self.created_at,
            "actions": [self._action_data(a) for a in self.actions],
            "blocked": self.blocked,
            "warnings": self.warnings,
            "conflicts": self.conflicts,
            "read": self.read,
            "counts": self.counts(),
        }

    def _action_data(self, action: Action) -> dict[str, Any]:
        data = asdict(action)
        return {
            "kind": data.pop("kind"),
            "platform": data.pop("platform"),
            "key": data.pop("key"),
            "incident": self.incidents.get(action.key),
            **data,
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Plan:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != PLAN_FORMAT:
            raise ValueError(f"{path}: not an itsm-bridge plan (format {data.get('format')!r})")
        actions: list[Action] = []
        incidents: dict[str, dict[str, Any]] = {}
        for raw in data["actions"]:
            fields = dict(raw)
            incident = fields.pop("incident", None)
            if incident is not None:  # one per key: every action of a key carries the same
                incidents[fields["key"]] = incident
            actions.append(Action(**fields))
        for key in dict.fromkeys(action.key for action in actions):
            if key not in incidents:
                raise ValueError(f"{path}: the actions of {key} carry no incident to write from")
            Incident.from_dict(incidents[key])  # unreadable: refused before any write
        return cls(
            run_id=data["run_id"],
            created_at=data["created_at"],
            actions=actions,
            incidents=incidents,
            blocked=data.get("blocked", []),
            warnings=data.get("warnings", []),
            conflicts=data.get("conflicts", []),
            read=data.get("read", {}),
        )

    def render(self) -> str:
        """Terraform-like text for people: one section per key in key order, each action with the
        fields it sets, then a closing line of counts that `apply` of this plan matches."""
        sections: dict[str, list[str]] = {}
        for a in self.actions:
            sections.setdefault(a.key, []).append(self._describe(a))
        for b in self.blocked:
            for f in b["findings"]:
                sections.setdefault(b["key"] or b["ref"] or "", []).append(
                    f"  ! blocked {b['platform']}: {f['message']}"
                )
        for c in self.conflicts:
            values = ", ".join(f"{side} {_show(v)}" for side, v in c["values"].items())
            sections.setdefault(c["key"], []).append(
                f"  ! conflict {c['field']}: {values}; kept {c['winner']} ({c['rule']})"
            )
        lines: list[str] = []
        for key in sorted(sections):
            title = (self.incidents.get(key) or {}).get("title")
            lines += [f"{key}" + (f"  {_short(title, 60)}" if title else ""), *sections[key], ""]
        counts = self.counts()
        lines.append("Plan: " + ", ".join(f"{n} to {kind}" for kind, n in counts.items()) + ".")
        read = ", ".join(f"{platform} {n}" for platform, n in sorted(self.read.items())) or "nothing"
        lines.append(f"{len(self.blocked)} blocked; read {read}.")
        return "\n".join(lines)

    def _describe(self, action: Action) -> str:
        """One action, indented under its key; a create lists the fields it will set."""
        text = "\n".join("  " + line for line in action.describe().splitlines())
        if action.kind != "create" or action.changes:
            return text
        from itsm_bridge.sync.reconcile import compared  # reconcile builds Actions: import late

        incident = self.incidents.get(action.key) or {}
        sets = [f"      {name}: {_show(incident[name])}" for name in compared(action.platform) if incident.get(name)]
        return "\n".join([text, *sets])


def _show(value: Any) -> str:
    return "(empty)" if value in (None, "") else _short(str(value))


def _short(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
