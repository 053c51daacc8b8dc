"""The checks run after every schedule. Each returns a list of problems (empty when it holds), so
the tests assert emptiness and the bench counts them for its table."""

from __future__ import annotations

import base64
import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from itsm_bridge.correlation import label_for
from itsm_bridge.store import open_from_config
from tests.reliability import edits as e

if TYPE_CHECKING:
    from tests.reliability.schedule import Result, World


def duplicates(world: World) -> list[str]:
    """Invariant 1: one Jira issue and at most one page incident per ServiceNow incident, no note twice."""
    sb = world.sandbox
    problems = []
    issues = sb.jira.issues()
    numbers = [sb.servicenow.incident(i)["number"] for i in world.incidents]
    links = world.page_links()
    for number in numbers:
        mine = [i for i in issues if label_for(number) in i["fields"].get("labels", [])]
        if len(mine) != 1:
            problems.append(f"{number}: {len(mine)} Jira issues")
        pages = e.page_incidents(sb, number, links)
        if len(pages) > 1:
            problems.append(f"{number}: {len(pages)} page incidents")
    if len(issues) != len(numbers):
        problems.append(f"{len(issues)} Jira issues for {len(numbers)} incidents")
    if links is not None:  # a Cachet incident linked to no key is a second copy of one
        stray = [i["id"] for i in sb.cachet.incidents() if str(i["id"]) not in set(links.values())]
        if stray:
            problems.append(f"Cachet incidents {stray} belong to no incident (duplicates)")
    for number, state in e.normalized(sb, world.incidents, links).items():
        for note, count in Counter(state["notes"]).items():
            if count > 2:  # the original and one copy
                problems.append(f"{number}: note {note!r} shows {count} times")
    return problems


def divergence(world: World) -> list[str]:
    """Invariant 2 (the sides agree): title, state, priority, notes, and the page where published."""
    problems = []
    for number, s in e.normalized(world.sandbox, world.incidents, world.page_links()).items():
        snow, jira = s["servicenow"], s["jira"]
        if snow["short_description"] != jira["summary"]:
            problems.append(f"{number}: title {snow['short_description']!r} vs {jira['summary']!r}")
        state = e.SNOW_STATE.get(snow["state"])
        if state != e.JIRA_STATE.get(jira["status"]):
            problems.append(f"{number}: state {snow['state']} vs {jira['status']}")
        if e.JIRA_PRIORITY[snow["priority"]] != jira["priority"]:
            problems.append(f"{number}: priority {snow['priority']} vs {jira['priority']}")
        for note, count in Counter(s["notes"]).items():
            if count < 2:
                problems.append(f"{number}: note {note!r} on one side only")
        if snow["priority"] in ("1", "2") and state not in ("resolved", "closed"):
            if [status for _, status in s["page"]] != [e.PUBLIC[state]]:
                problems.append(f"{number}: page {s['page']} for state {state}")
    return problems


def lost_updates(world: World, result: Result) -> list[str]:
    """Invariant 2 (to what): each field ends as its last human edit, or as the journaled outcome
    of a conflict when both sides edited it in the same round."""
    final = e.normalized(world.sandbox, world.incidents, world.page_links())
    conflicts = _conflicts(world)
    problems = []
    last: dict[tuple[str, str], list[e.Edit]] = {}
    for edit in result.edits:
        if edit.field == "note":
            continue
        group = last.setdefault((edit.number, edit.field), [])
        if group and group[0].round != edit.round:
            group.clear()
        group.append(edit)
    for (number, name), group in last.items():
        snow = final[number]["servicenow"]
        value = {"title": snow["short_description"], "state": e.SNOW_STATE.get(snow["state"])}.get(name, snow.get(name))
        wanted = {g.value for g in group}
        if value not in wanted:
            problems.append(f"{number}: {name} is {value!r}, the last edit(s) said {sorted(wanted)}")
        elif len(wanted) > 1 and (number, name) not in conflicts:
            problems.append(f"{number}: {name} edited on both sides to {sorted(wanted)}, no conflict journaled")
    return problems


def _conflicts(world: World) -> set[tuple[str, str]]:
    store = open_from_config(world.config)
    try:
        return {(j.payload.get("key"), j.payload.get("field")) for j in store.journal() if j.kind == "conflict"}
    finally:
        store.close()


def secrets_of(world: World) -> list[str]:
    """The sandbox's credentials as they could leak: raw and in Basic-auth base64."""
    creds = world.sandbox.info()["credentials"]
    snow, jira = creds["servicenow"], creds["jira"]
    return [
        snow["password"],
        jira["token"],
        creds["statuspage"]["api_key"],
        creds["cachet"]["token"],
        base64.b64encode(f"{snow['user']}:{snow['password']}".encode()).decode(),
        base64.b64encode(f"{jira['email']}:{jira['token']}".encode()).decode(),
    ]


def journal_text(world: World) -> str:
    store = open_from_config(world.config)
    try:
        return "\n".join(json.dumps(j.payload, default=str) for j in store.journal())
    finally:
        store.close()


PUBLIC_CANARIES = (e.DESCRIPTION_CANARY, e.NOTE_CANARY, "db7.corp")
MARKUP_CANARIES = ("<script", "](javascript:")  # live only where the page renders markup: bodies, not names


def leaks(world: World, result: Result) -> list[str]:
    """Secrets never in logs or the journal; internal text and live markup never on the page."""
    problems = []
    texts = {"logs": result.log_text, "journal": journal_text(world)}
    for where, text in texts.items():
        for secret in secrets_of(world):
            if secret in text:
                problems.append(f"a secret ({secret[:3]}...) is in the {where}")
    for page in public_texts(world):
        for canary in PUBLIC_CANARIES:
            if canary in page:
                problems.append(f"{canary!r} reached the status page: {page[:120]!r}")
    for markup in markup_texts(world):
        for canary in MARKUP_CANARIES:
            if canary in markup.lower():
                problems.append(f"{canary!r} reached the status page as markup: {markup[:120]!r}")
    return problems


def markup_texts(world: World) -> list[str]:
    """The page texts the vendors render as Markdown: Statuspage bodies, Cachet messages."""
    sb = world.sandbox
    out = [u.get("body") or "" for i in sb.statuspage.incidents() for u in i.get("incident_updates") or []]
    for incident in sb.cachet.incidents():
        out += [incident.get("message") or "", *(u.get("message") or "" for u in sb.cachet.updates(incident["id"]))]
    return out


def public_texts(world: World) -> list[str]:
    """What the public sees of every page incident (both providers)."""
    sb = world.sandbox
    out = []
    for incident in sb.statuspage.incidents():
        shown: dict[str, Any] = {k: v for k, v in incident.items() if k != "metadata"}
        out.append(json.dumps(shown, ensure_ascii=False))
    for incident in sb.cachet.incidents():
        updates = sb.cachet.updates(incident["id"])
        out.append(json.dumps({"incident": incident, "updates": updates}, ensure_ascii=False))
    return out


def problems(world: World, result: Result) -> dict[str, list[str]]:
    """Every check by name, for the tests and the bench table."""
    echo = [] if result.quiet_writes == 0 else [f"{result.quiet_writes} write(s) in a quiet cycle"]
    converged = [] if result.quiet_cycles_needed <= 2 else [f"not converged in 2 quiet cycles: {divergence(world)}"]
    return {
        "duplicates": duplicates(world),
        "convergence": converged,
        "lost_updates": lost_updates(world, result),
        "echo_writes": echo,
        "leaks": leaks(world, result),
    }
