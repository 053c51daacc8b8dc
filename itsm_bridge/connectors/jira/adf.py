"""Atlassian Document Format (ADF) <-> plain text, for Jira descriptions and comments.

Writing: user text stays text. Paragraphs are separated by blank lines, single line breaks become
`hardBreak` nodes, and only http, https and mailto URLs become `link` marks. Nothing else is
interpreted: no wiki markup, no Markdown, no mentions (`@name` is just text), so text copied from
another platform can never ping people or change formatting.

Reading: every node's text is collected in document order; mentions, emoji, cards and dates
contribute their visible text. `adf_to_text(text_to_adf(t)) == t` for any text without `\\r`.
"""

from __future__ import annotations

import json
import re
from typing import Any

ADF = dict[str, Any]

# Jira refuses a description or comment over 32,767 characters ("The entered text is too long. It
# exceeds the allowed limit of 32,767 characters."): https://jira.atlassian.com/browse/JRACLOUD-59124.
# What Jira counts is its stored form, not the plain text, so a document is measured here as its
# JSON with every non-ASCII character escaped: never shorter than what Jira counts.
TEXT_LIMIT = 32767

# A URL runs to the next whitespace or bracket; trailing sentence punctuation is not part of it.
_URL = re.compile(r"(?:https?://|mailto:)[^\s<>\"'\[\]{}|\\^`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)"
_LINKABLE = re.compile(r"(?:https?://|mailto:)[^.,;:!?)]", re.IGNORECASE)
_BLOCKS = {
    "paragraph",
    "heading",
    "blockquote",
    "codeBlock",
    "panel",
    "rule",
    "mediaSingle",
    "mediaGroup",
    "bulletList",
    "orderedList",
    "table",
    "expand",
    "nestedExpand",
    "decisionList",
    "taskList",
}


def empty_doc() -> ADF:
    return {"type": "doc", "version": 1, "content": []}


def text_to_adf(text: str | None) -> ADF:
    """An ADF document holding `text` as plain text nodes (links only for http/https/mailto)."""
    doc = empty_doc()
    if not text:
        return doc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for block in text.split("\n\n"):
        content: list[ADF] = []
        for i, line in enumerate(block.split("\n")):
            if i:
                content.append({"type": "hardBreak"})
            content += _inline(line)
        doc["content"].append({"type": "paragraph", "content": content})
    return doc


def _inline(line: str) -> list[ADF]:
    nodes: list[ADF] = []
    pos = 0
    for match in _URL.finditer(line):
        url = match.group(0).rstrip(_TRAILING)
        if not _LINKABLE.match(url):  # nothing left after the scheme once punctuation is trimmed
            continue
        start, end = match.start(), match.start() + len(url)
        if start > pos:
            nodes.append(_text(line[pos:start]))
        nodes.append({**_text(url), "marks": [{"type": "link", "attrs": {"href": url}}]})
        pos = end
    if pos < len(line):
        nodes.append(_text(line[pos:]))
    return nodes


def _text(value: str) -> ADF:
    return {"type": "text", "text": value}


def adf_to_text(doc: Any) -> str:
    """The plain text of an ADF document (a str is returned as is: v2 and older payloads)."""
    if doc is None:
        return ""
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, dict):
        return str(doc)
    if doc.get("type") == "doc":
        return "\n\n".join(_block_text(node) for node in doc.get("content") or [])
    return _block_text(doc)


def _block_text(node: ADF) -> str:
    kind = node.get("type")
    children = node.get("content") or []
    if kind in ("bulletList", "orderedList", "taskList", "decisionList"):
        return "\n".join(_block_text(item) for item in children)
    if kind in ("table", "tableRow"):
        sep = "\n" if kind == "table" else " | "
        return sep.join(_block_text(child) for child in children)
    if any(isinstance(c, dict) and c.get("type") in _BLOCKS for c in children):
        return "\n\n".join(_block_text(c) if c.get("type") in _BLOCKS else _inline_text(c) for c in children)
    return "".join(_inline_text(c) for c in children) if children else _inline_text(node)


def _inline_text(node: ADF) -> str:
    kind = node.get("type")
    attrs = node.get("attrs") or {}
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        return str(attrs.get("text") or "")
    if kind == "emoji":
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if kind in ("inlineCard", "blockCard", "embedCard"):
        return str(attrs.get("url") or "")
    if kind == "date":
        return str(attrs.get("timestamp") or "")
    if kind == "status":
        return str(attrs.get("text") or "")
    children = node.get("content") or []
    if children:
        return _block_text(node)
    return ""


def adf_size(doc: ADF) -> int:
    """The length a document is measured by against TEXT_LIMIT."""
    return len(json.dumps(doc, separators=(",", ":")))


def text_to_adf_within(text: str | None, limit: int = TEXT_LIMIT) -> ADF:
    """`text_to_adf(text)`, cut where it would pass `limit`, ending with a visible note of how
    much was left out (a long description or note is shortened, never refused)."""
    doc = text_to_adf(text)
    if not text or adf_size(doc) <= limit:
        return doc
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    low, high = 0, len(body)
    while low < high:  # the longest prefix that fits with its note
        mid = (low + high + 1) // 2
        if adf_size(text_to_adf(_cut(body, mid))) <= limit:
            low = mid
        else:
            high = mid - 1
    return text_to_adf(_cut(body, low))


def _cut(text: str, keep: int) -> str:
    return f"{text[:keep].rstrip()}\n\n[cut by itsm-bridge: {len(text) - keep:,} more characters are in the source record; Jira keeps at most {TEXT_LIMIT:,}]"
