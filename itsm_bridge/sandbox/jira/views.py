"""REST v3 shapes of the Jira sandbox's issues, comments and transitions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from itsm_bridge.sandbox.jira import issue_properties
from itsm_bridge.sandbox.jira.schema import FIELDS, TEAM_FIELD, JiraConfig, Renderer, Transition, jira_time
from itsm_bridge.sandbox.jira.store import Issue, Record

EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"


def field_list(raw: list[str] | None, default: list[str]) -> list[str]:
    """A `fields`/`properties` parameter given as a list, repeated, or comma-separated."""
    names = [n.strip() for item in raw or [] for n in str(item).split(",") if n.strip()]
    return names or default


class IssueViews:
    """Renders store records; `renderer` gives the configuration objects (status, user, ...)."""

    def __init__(self, renderer: Renderer, config: JiraConfig) -> None:
        self.renderer = renderer
        self.config = config

    @staticmethod
    def time(moment: datetime | None) -> str | None:
        return None if moment is None else jira_time(moment)

    def created(self, issue: Issue) -> dict[str, Any]:
        return {"id": str(issue.id), "key": issue.key, "self": f"{self.renderer.api}/issue/{issue.id}"}

    @staticmethod
    def selected(wanted: list[str]) -> list[str]:
        """Field ids a `fields` list selects: `*all`/`*navigable`, names, `-name` to exclude."""
        chosen: list[str] = []
        for name in wanted:
            if name in ("*all", "*navigable"):
                chosen += [f for f in FIELDS if f not in chosen]
            elif name in FIELDS and name not in chosen:
                chosen.append(name)
        excluded = {n[1:] for n in wanted if n.startswith("-")}
        return [f for f in chosen if f not in excluded]

    def issue(
        self,
        issue: Issue,
        record: Record,
        wanted: list[str],
        expand: str | None = None,
        properties: list[str] | None = None,
    ) -> dict[str, Any]:
        """An IssueBean for `record` (a version of `issue`: current, or as the search index sees it)."""
        view: dict[str, Any] = {"expand": EXPAND, **self.created(issue)}
        view["fields"] = {fid: self.field(fid, record, issue) for fid in self.selected(wanted)}
        if "names" in (expand or ""):
            view["names"] = {fid: FIELDS[fid][0] for fid in view["fields"]}
        if properties:
            view["properties"] = issue_properties.select(record["properties"], properties)
        return view

    def field(self, fid: str, record: Record, issue: Issue) -> Any:
        r = self.renderer
        value: Any = record.get(fid)  # each field has its own shape
        if fid in ("created", "updated", "resolutiondate"):
            return self.time(value)
        if fid == "issuetype":
            return r.issuetype(value)
        if fid == "project":
            return r.project()
        if fid == "priority":
            return r.priority(value)
        if fid == "status":
            return r.status(value)
        if fid == "resolution":
            return r.resolution(value)
        if fid == "labels":
            return list(value)
        if fid == "components":
            return [r.component(n) for n in value]
        if fid in self.config.options:
            return r.option(fid, value)
        if fid == TEAM_FIELD:
            return r.team(value)
        if fid in ("reporter", "assignee"):
            return r.user(value)
        if fid == "comment":
            comments = [self.comment(c, False) for c in issue.comments]
            return {
                "comments": comments,
                "self": f"{r.api}/issue/{issue.id}/comment",
                "maxResults": len(comments),
                "total": len(comments),
                "startAt": 0,
            }
        return value

    def comment(self, comment: dict[str, Any], with_properties: bool) -> dict[str, Any]:
        author = self.renderer.user(comment["author"])
        internal = bool((comment["properties"].get("sd.public.comment") or {}).get("internal"))
        view: dict[str, Any] = {
            "self": f"{self.renderer.api}/comment/{comment['id']}",
            "id": comment["id"],
            "author": author,
            "body": comment["body"],
            "updateAuthor": self.renderer.user(comment.get("update_author", comment["author"])),
            "created": self.time(comment["created"]),
            "updated": self.time(comment["updated"]),
            "jsdPublic": not internal,
        }
        if with_properties:
            view["properties"] = [{"key": k, "value": v} for k, v in comment["properties"].items()]
        return view

    def transition(self, step: Transition, with_fields: bool) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": step.id,
            "name": step.name,
            "to": self.renderer.status(step.to),
            "hasScreen": bool(step.screen),
            "isGlobal": not step.sources,
            "isInitial": False,
            "isAvailable": True,
            "isConditional": False,
            "isLooped": False,
        }
        if with_fields:
            view["fields"] = {f: self.renderer.field_meta(f, f in step.required, with_id=False) for f in step.screen}
        return view
