"""Platform connectors, each behind the `Connector` protocol of `base.py`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from itsm_bridge.config import Config
    from itsm_bridge.connectors.base import Connector


def build(platform: str, config: Config, **kw: Any) -> Connector:
    """The connector for `platform` as configured (imported lazily: each pulls its own libraries)."""
    if platform == "servicenow":
        from itsm_bridge.connectors.servicenow import ServiceNowConnector

        return ServiceNowConnector(config, **kw)
    if platform == "jira":
        from itsm_bridge.connectors.jira import JiraConnector

        return JiraConnector(config, **kw)
    if platform == "statuspage":
        from itsm_bridge.connectors.statuspage_common import status_page_connector

        return status_page_connector(config, **kw)
    raise ValueError(f"unknown platform {platform!r}")


def build_all(config: Config) -> dict[str, Connector]:
    """Every platform the configured flows use."""
    sync = config.settings.sync
    return {p: build(p, config) for p in dict.fromkeys([sync.source, *sync.targets])}
