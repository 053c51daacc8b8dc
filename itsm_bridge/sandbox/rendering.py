"""What a status page's readers see: each text in the vendor's own rendering, for tests to read.

- Statuspage: the incident name is plain text (the page escapes it); an update's body is read
  as Markdown (no vendor page says otherwise; the bridge escapes it as such).
- Cachet: the name is printed escaped (`{{ $incident->name }}`) and a message is Markdown turned
  into HTML (`{!! $incident->formatted_message !!}`, `IncidentPresenter::formattedMessage`):
  cachethq/cachet, resources/views/partials/incident.blade.php and
  app/Presenters/IncidentPresenter.php. Cachet's converter is CommonMark (league/commonmark);
  markdown-it-py's `commonmark` preset follows the same specification. Raw HTML in a message is
  shown as text here, the safer of Cachet's settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from html.parser import HTMLParser
from typing import Any

from markdown_it import MarkdownIt

_MARKDOWN = MarkdownIt("commonmark", {"html": False})


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def markdown_text(source: str) -> str:
    """The text a reader sees once `source` is rendered as CommonMark."""
    parser = _Text()
    parser.feed(_MARKDOWN.render(source))
    parser.close()
    return "".join(parser.parts).strip()


def statuspage_view(incident: dict[str, Any]) -> dict[str, Any]:
    """A Statuspage incident (as the API shows it) as its page shows it: name, and bodies newest first."""
    return {
        "name": incident.get("name") or "",
        "bodies": [markdown_text(u.get("body") or "") for u in incident.get("incident_updates") or []],
    }


def cachet_view(incident: dict[str, Any], updates: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """A Cachet incident (and its updates) as its page shows it: name, and messages newest first."""
    messages = [u.get("message") or "" for u in reversed(list(updates))] + [incident.get("message") or ""]
    return {"name": incident.get("name") or "", "bodies": [markdown_text(m) for m in messages]}
