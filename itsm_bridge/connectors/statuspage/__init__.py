"""Public status pages: Atlassian Statuspage (`atlassian.py`) and Cachet (`cachet.py`).

Both keep one page incident's life the same way (`page.py`, with the ownership and cadence rules
of `rules.py`); `status_page_connector` picks the provider the config names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from itsm_bridge.connectors.statuspage.atlassian import StatuspageConnector
from itsm_bridge.connectors.statuspage.cachet import CachetConnector
from itsm_bridge.connectors.statuspage.page import PagePolicy, StatusPageConnector

if TYPE_CHECKING:
    from itsm_bridge.config import Config

__all__ = ["CachetConnector", "PagePolicy", "StatusPageConnector", "StatuspageConnector", "status_page_connector"]


def status_page_connector(config: Config, **kw: Any) -> StatusPageConnector:
    """The connector for the configured provider (`statuspage.provider`)."""
    settings = config.settings.statuspage
    if settings is not None and settings.provider == "cachet":
        return CachetConnector(config, **kw)
    return StatuspageConnector(config, **kw)
