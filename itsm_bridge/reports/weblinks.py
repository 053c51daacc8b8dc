"""Where a person opens a record in a browser: one web URL per platform and record.

The base is `[audit.web_url]` for the platform, else the platform's own `url` where the vendor
serves its web UI there too (ServiceNow, Jira, Cachet). Statuspage's API host is not the page,
so a Statuspage record gets a link only when `[audit.web_url] statuspage` names the public page.

The paths are the vendors' own record addresses:
- ServiceNow: `nav_to.do?uri=incident.do%3Fsys_id%3D<sys_id>`, the record in the full UI frame,
  the inner URI percent-encoded (docs.servicenow.com "URL schema"; ServiceNow community,
  "Getting your ServiceNow URLs right": an unencoded inner query breaks on `&`);
- Jira: `/browse/<KEY>` (the issue view of Jira Cloud and Data Center);
- Statuspage and Cachet: `/incidents/<id>`, the incident's page on the public status page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import quote

from itsm_bridge.model import RemoteRef

if TYPE_CHECKING:
    from itsm_bridge.config import Config


def _servicenow(base: str, ref: RemoteRef) -> str:
    return f"{base}/nav_to.do?uri={quote('incident.do?sys_id=' + ref.id, safe='')}"


def _jira(base: str, ref: RemoteRef) -> str:
    return f"{base}/browse/{quote(ref.display or ref.id, safe='')}"


def _page(base: str, ref: RemoteRef) -> str:
    return f"{base}/incidents/{quote(ref.id, safe='')}"


PATHS: dict[str, Callable[[str, RemoteRef], str]] = {"servicenow": _servicenow, "jira": _jira, "statuspage": _page}


def bases(config: Config) -> dict[str, str]:
    """Platform -> web base URL, for the platforms whose records can be linked."""
    out: dict[str, str] = {}
    settings = config.settings
    for platform in PATHS:
        section = settings.section(platform)
        configured = settings.audit.web_url.get(platform)
        if configured:
            out[platform] = configured
        elif section is not None and (platform != "statuspage" or getattr(section, "provider", "") == "cachet"):
            out[platform] = section.url
    return out


def url(platform: str, ref: RemoteRef, web: dict[str, str]) -> str | None:
    """The record's web address, or None when the platform has no known base."""
    base, path = web.get(platform), PATHS.get(platform)
    if base is None or path is None or not ref.id:
        return None
    return path(base.rstrip("/"), ref)
