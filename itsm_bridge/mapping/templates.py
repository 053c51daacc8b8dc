"""Public status-page text, rendered from templates that can see an allow-list of fields only.

A status page is public. Its text comes from `publish.name_template` and `publish.body_template`,
rendered in jinja2's `SandboxedEnvironment` with a context built from ALLOWED_FIELDS only:
description, comments, work notes, assignee, reporter and group are not in the context, so no
template (however written) can reach them.

Each text is written in its vendor's own rendering, so a customer reads what the incident says:

- a **plain-text** field (incident names on Statuspage and on Cachet: the page HTML-escapes them
  itself) gets the values as they are: escaping there would show `can&#39;t` and `\\{\\{` to readers;
- a **markup** field (the body: Cachet renders it as Markdown to HTML) gets every value escaped twice
  over: markdown (characters that start emphasis, links, images, code, tables or headings are
  backslash-escaped, as CommonMark allows for any ASCII punctuation, and the colon of a
  script-capable URL scheme is escaped so no link forms), then HTML (autoescape turns `<`, `>`,
  `&` and quotes into entities, which Markdown shows as the characters).

The rendered text then goes through `mapping.guard` before anything is sent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from itsm_bridge.model import Incident

ALLOWED_FIELDS: tuple[str, ...] = ("title", "public_status", "public_message", "service", "started", "resolved")
"""The only names a public template can use. `started` is the incident's `opened` time."""

UPDATE_FIELDS: tuple[str, ...] = (*ALLOWED_FIELDS, "next_update_at")
"""What the scheduled-update template (`communication.update_template`) can use: the public
fields and `next_update_at`, the time of day the next update is due (`14:30 UTC`)."""

TIME_FORMAT = "%Y-%m-%d %H:%M UTC"
NEXT_UPDATE_FORMAT = "%H:%M UTC"  # a cadence is at most a day: the time of day says when

# Inline markdown that changes meaning anywhere in a line.
# `<`, `>` and `&` are left to HTML autoescape: a backslash before an entity would show it raw.
_MD_INLINE = re.compile(r"([\\`*_\[\]{}|~])")
# Block markdown that only matters at the start of a line: lists, quotes, headings, rules.
# (`>` is left to HTML autoescape: `&gt;` never opens a quote, and `\&gt;` would show the entity.)
_MD_LINE_START = re.compile(r"^(\s*)([-+=#])", re.MULTILINE)
# An ordered-list marker: its `.` or `)` is escaped (a backslash before a digit is no escape).
_MD_ORDERED = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)
_SCRIPT_SCHEME = re.compile(r"\b(javascript|vbscript|livescript|data(?=\s*:\s*\w+/))(\s*):", re.IGNORECASE)


class TemplateProblem(ValueError):
    """A publish template that cannot be rendered (syntax error, unknown field)."""


def escape_markdown(text: str) -> str:
    """`text` with markdown syntax neutralised; it still reads the same once rendered."""
    text = _MD_INLINE.sub(r"\\\1", text)
    text = _MD_LINE_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text)
    text = _MD_ORDERED.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text)
    return _SCRIPT_SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}\\:", text)


def _public_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime(TIME_FORMAT)
    return escape_markdown(str(getattr(value, "value", value)))


def _plain_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime(TIME_FORMAT)
    return str(getattr(value, "value", value))


def public_context(incident: Incident, markup: bool = True) -> dict[str, str | None]:
    """The template context: the allow-listed fields of `incident`, markdown-escaped for a markup
    field (`markup`), as they are for a plain-text one.

    Built field by field from ALLOWED_FIELDS; nothing else of the incident is looked at.
    """
    raw: dict[str, Any] = {
        "title": incident.title,
        "public_status": incident.public_status,
        "public_message": incident.public_message,
        "service": incident.service,
        "started": incident.opened,
        "resolved": incident.resolved,
    }
    convert = _public_value if markup else _plain_value
    return {name: convert(raw[name]) for name in ALLOWED_FIELDS}


def _environment(markup: bool) -> SandboxedEnvironment:
    # autoescape (markup): every substituted value is HTML-escaped; StrictUndefined: a template
    # that names a field outside the allow-list fails loudly instead of rendering an empty string.
    # Values are data, never template source: a title holding `{{ config }}` is only text.
    env = SandboxedEnvironment(autoescape=markup, undefined=StrictUndefined, keep_trailing_newline=False)
    env.globals.clear()  # no range(), dict(), lipsum(), cycler(): templates get data, not tools
    return env


_ENVS = {True: _environment(True), False: _environment(False)}


def render_public(
    template: str, incident: Incident, markup: bool = True, next_update_at: datetime | None = None
) -> str:
    """Render `template` for `incident` with the allow-listed context, escaped for a markup field
    (`markup`), plain for a plain-text one; `next_update_at`, when given (a scheduled update),
    is in the context too (UPDATE_FIELDS).

    Raises TemplateProblem for a template that does not parse or uses an unknown name.
    """
    context: dict[str, str | None] = public_context(incident, markup)
    if next_update_at is not None:
        context["next_update_at"] = next_update_at.astimezone(UTC).strftime(NEXT_UPDATE_FORMAT)
    try:
        compiled = _ENVS[markup].from_string(template)
        return compiled.render(**context).strip()
    except TemplateError as exc:
        raise TemplateProblem(f"publish template cannot be rendered: {exc}") from None


def template_problems(template: str, scheduled: bool = False) -> list[str]:
    """What is wrong with a template, checked against a sample incident (for `config validate`);
    `scheduled`: the scheduled-update template, which also has `next_update_at`."""
    sample = Incident(key="sample", title="Sample", service="Sample", public_message="Sample")
    try:
        render_public(template, sample, next_update_at=datetime.now(UTC) if scheduled else None)
    except TemplateProblem as exc:
        return [str(exc)]
    return []
