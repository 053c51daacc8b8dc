"""Human hands on the sandbox: seeded incidents and random edits on every side, as people make them
(through each platform's Python API, so they get the platform's own clocks, versions and rules)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from itsm_bridge.correlation import label_for
from itsm_bridge.sandbox.app import Sandbox
from itsm_bridge.sandbox.jira.store import adf_text, text_adf

SERVICES = ("Email", "VPN", "Payments API", "Web Portal")
CATEGORIES = ("software", "network", "database", "hardware")
SNOW_STATE = {"1": "new", "2": "in_progress", "3": "on_hold", "6": "resolved", "7": "closed"}
JIRA_STATE = {
    "Open": "new",
    "Work in progress": "in_progress",
    "Pending": "on_hold",
    "Resolved": "resolved",
    "Closed": "closed",
}
JIRA_OF = {v: k for k, v in JIRA_STATE.items()}
JIRA_PRIORITY = {"1": "Highest", "2": "High", "3": "Medium", "4": "Low", "5": "Lowest"}
PUBLIC = {
    "new": "investigating",
    "in_progress": "identified",
    "on_hold": "monitoring",
    "resolved": "resolved",
    "closed": "resolved",
}
DESCRIPTION_CANARY = "CANARY-internal-description-7f3a"
NOTE_CANARY = "CANARY-work-note-91c2"


@dataclass(frozen=True)
class Edit:
    """One human change: on `side`, `field` of incident `number` became `value`, in `round`."""

    round: int
    number: str
    side: str
    field: str  # "title", "state", "impact", "urgency", "note"
    value: str


def seed_incidents(sb: Sandbox, rng: random.Random, n: int) -> list[str]:
    """n ServiceNow incidents, some P1/P2 (published), one with markup in its title."""
    cis = {s: sb.servicenow.add_reference("cmdb_ci", s) for s in SERVICES}
    ids = []
    for i in range(n):
        title = f"Incident {i}: {SERVICES[i % 4]} errors"
        if i == 0:
            title += ' <script>alert("x")</script> [click](javascript:alert(1))'
        rec = sb.servicenow.insert_incident(
            {
                "short_description": title,
                "description": f"Seen on db7.corp; {DESCRIPTION_CANARY}",
                "category": CATEGORIES[i % 4],
                "cmdb_ci": cis[SERVICES[i % 4]],
                "impact": str(rng.randint(1, 3)),
                "urgency": str(rng.randint(1, 2)),
                "state": "2",
            }
        )
        ids.append(rec["sys_id"])
    return ids


def jira_key(sb: Sandbox, number: str) -> str | None:
    mine = [i for i in sb.jira.issues() if label_for(number) in i["fields"].get("labels", [])]
    return mine[0]["key"] if mine else None


def human_round(sb: Sandbox, ids: list[str], rng: random.Random, round_no: int) -> list[Edit]:
    """Random edits on ServiceNow and Jira to some incidents; the last round may resolve in Jira."""
    made: list[Edit] = []
    for n, sys_id in enumerate(ids):
        snow = sb.servicenow.incident(sys_id)
        number = snow["number"]
        key = jira_key(sb, number)
        if snow["state"] in ("6", "7") or key is None:
            continue
        tag = f"r{round_no}-{n}-{rng.randrange(10**6)}"
        if rng.random() < 0.35:
            made.append(
                _snow(sb, sys_id, round_no, number, "title", f"{snow['short_description'].split(' ~')[0]} ~{tag}")
            )
        if rng.random() < 0.3:
            made.append(_snow(sb, sys_id, round_no, number, "state", "3" if snow["state"] == "2" else "2"))
        if rng.random() < 0.25:
            made.append(_snow(sb, sys_id, round_no, number, rng.choice(["impact", "urgency"]), str(rng.randint(1, 3))))
        if rng.random() < 0.3:
            made.append(_snow(sb, sys_id, round_no, number, "note", f"snow note {tag} {NOTE_CANARY}"))
        issue = sb.jira.issue(key)["fields"]
        if rng.random() < 0.3:
            summary = f"{issue['summary'].split(' ~')[0]} ~j{tag}"
            sb.jira.edit_issue(key, {"summary": summary})
            made.append(Edit(round_no, number, "jira", "title", summary))
        status = issue["status"]["name"]
        if rng.random() < 0.3 and status in ("Work in progress", "Pending"):
            resolve = round_no > 0 and rng.random() < 0.3
            target = "Resolved" if resolve else ("Pending" if status == "Work in progress" else "Work in progress")
            sb.jira.transition_to(key, target, resolution="Done" if resolve else None)
            made.append(Edit(round_no, number, "jira", "state", JIRA_STATE[target]))
        if rng.random() < 0.25:
            text = f"jira note {tag}"
            with sb.jira.lock:
                issue_obj = sb.jira.store.get(key)
                assert issue_obj is not None
                sb.jira.store.add_comment(issue_obj, text_adf(text), {"sd.public.comment": {"internal": True}}, "human")
            made.append(Edit(round_no, number, "jira", "note", text))
    return made


def _snow(sb: Sandbox, sys_id: str, round_no: int, number: str, field: str, value: str) -> Edit:
    column = {"title": "short_description", "note": "work_notes"}.get(field, field)
    sb.servicenow.update_incident(sys_id, {column: value})
    canonical = SNOW_STATE[value] if field == "state" else value
    return Edit(round_no, number, "servicenow", field, canonical)


def jira_comment_texts(sb: Sandbox, key: str) -> list[str]:
    return [adf_text(c["body"]) if isinstance(c["body"], dict) else str(c["body"]) for c in sb.jira.comments(key)]


def snow_note_texts(sb: Sandbox, sys_id: str) -> list[str]:
    return [j.get("value", "") for j in sb.servicenow.journal(sys_id)]


CACHET_STATUS = {1: "investigating", 2: "identified", 3: "monitoring", 4: "resolved"}


def page_incidents(sb: Sandbox, number: str, cachet_links: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The page incidents of `number`: Statuspage's by their metadata; with `cachet_links` (the
    store's links, as Cachet keeps no metadata), Cachet's, its status as a word."""
    if cachet_links is None:
        return [
            i
            for i in sb.statuspage.incidents()
            if (i.get("metadata") or {}).get("itsm_bridge", {}).get("key") == number
        ]
    return [
        {**i, "status": CACHET_STATUS.get(i["status"], str(i["status"]))}
        for i in sb.cachet.incidents()
        if str(i["id"]) == cachet_links.get(number)
    ]


def normalized(sb: Sandbox, ids: list[str], cachet_links: dict[str, str] | None = None) -> dict[str, Any]:
    """Every side's values per incident, without ids or times (see schedule.final_state)."""
    out: dict[str, Any] = {}
    for sys_id in ids:
        snow = sb.servicenow.incident(sys_id)
        number = snow["number"]
        key = jira_key(sb, number)
        jira = sb.jira.issue(key)["fields"] if key else {}
        out[number] = {
            "servicenow": {
                k: snow[k] for k in ("short_description", "state", "impact", "urgency", "priority", "close_code")
            },
            "jira": {
                "summary": jira.get("summary"),
                "status": (jira.get("status") or {}).get("name"),
                "priority": (jira.get("priority") or {}).get("name"),
                "resolution": (jira.get("resolution") or {}).get("name")
                if isinstance(jira.get("resolution"), dict)
                else jira.get("resolution"),
            },
            "notes": sorted(
                _human_notes(snow_note_texts(sb, sys_id)) + _human_notes(jira_comment_texts(sb, key) if key else [])
            ),
            "page": sorted((p["name"], p["status"]) for p in page_incidents(sb, number, cachet_links)),
        }
    return out


def _human_notes(texts: list[str]) -> list[str]:
    """The human part of each note ("snow note ..." / "jira note ..."), wherever it was copied."""
    found = []
    for text in texts:
        for marker in ("snow note ", "jira note "):
            at = text.find(marker)
            if at >= 0:
                found.append(text[at:].split("\n")[0].strip())
    return found
