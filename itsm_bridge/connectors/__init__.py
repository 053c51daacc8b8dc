"""Platform connectors, each behind the `Connector` protocol of `base.py`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from itsm_bridge import platforms

if TYPE_CHECKING:
    from itsm_bridge.config import Config
    from itsm_bridge.connectors.base import Connector


def build(platform: str, config: Config, **kw: Any) -> Connector:
    """The connector for `platform` as configured, made by the factory its `PlatformSpec` names
    (imported lazily: each pulls its own libraries)."""
    connector: Connector = platforms.spec(platform).connector_factory()(config, **kw)
    return connector


def build_all(config: Config) -> dict[str, Connector]:
    """Every platform the configured flows use."""
    sync = config.settings.sync
    return {p: build(p, config) for p in dict.fromkeys([sync.source, *sync.targets])}
