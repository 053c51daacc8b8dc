"""itsm-bridge: one canonical ITIL incident model synced across ServiceNow, Jira SM and status pages.

The public API is what `__all__` names: `Bridge` (one method per command), the config, the
typed results and the error tree's base classes. Everything else is internal. Names are
imported on first use, so `import itsm_bridge` (and `itsm-bridge --help`) stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "Bridge": "itsm_bridge.api",
    "Config": "itsm_bridge.config",
    "load_config": "itsm_bridge.config",
    "RunResult": "itsm_bridge.results",
    "SyncResult": "itsm_bridge.results",
    "DoctorResult": "itsm_bridge.results",
    "Link": "itsm_bridge.results",
    "KeyDetails": "itsm_bridge.results",
    "Acknowledged": "itsm_bridge.results",
    "Status": "itsm_bridge.results",
    "RunSummary": "itsm_bridge.sync.summary",
    "Plan": "itsm_bridge.sync.plan",
    "Action": "itsm_bridge.sync.plan",
    "AuditReport": "itsm_bridge.reports.report",
    "CheckResult": "itsm_bridge.connectors.base",
    "JournalEntry": "itsm_bridge.store.base",
    "VerifyResult": "itsm_bridge.store.base",
    "RemoteRef": "itsm_bridge.model",
    "Sandbox": "itsm_bridge.sandbox.app",
    "BridgeError": "itsm_bridge.errors",
    "ConfigError": "itsm_bridge.errors",
    "ConfigProblem": "itsm_bridge.errors",
    "MappingError": "itsm_bridge.errors",
    "ConnectorError": "itsm_bridge.errors",
    "SyncError": "itsm_bridge.errors",
    "StoreError": "itsm_bridge.errors",
    "Locked": "itsm_bridge.errors",
}
_RENAMED = {"load_config": "load", "AuditReport": "Report"}  # public name -> name in its module

# Spelled out (not derived from _EXPORTS) so type checkers see what the package exports.
__all__ = [
    "__version__",
    "Bridge",
    "Config",
    "load_config",
    "RunResult",
    "SyncResult",
    "DoctorResult",
    "Link",
    "KeyDetails",
    "Acknowledged",
    "Status",
    "RunSummary",
    "Plan",
    "Action",
    "AuditReport",
    "CheckResult",
    "JournalEntry",
    "VerifyResult",
    "RemoteRef",
    "Sandbox",
    "BridgeError",
    "ConfigError",
    "ConfigProblem",
    "MappingError",
    "ConnectorError",
    "SyncError",
    "StoreError",
    "Locked",
]

if TYPE_CHECKING:
    from itsm_bridge.api import Bridge
    from itsm_bridge.config import Config
    from itsm_bridge.config import load as load_config
    from itsm_bridge.connectors.base import CheckResult
    from itsm_bridge.errors import (
        BridgeError,
        ConfigError,
        ConfigProblem,
        ConnectorError,
        Locked,
        MappingError,
        StoreError,
        SyncError,
    )
    from itsm_bridge.model import RemoteRef
    from itsm_bridge.reports.report import Report as AuditReport
    from itsm_bridge.results import Acknowledged, DoctorResult, KeyDetails, Link, RunResult, Status, SyncResult
    from itsm_bridge.sandbox.app import Sandbox
    from itsm_bridge.store.base import JournalEntry, VerifyResult
    from itsm_bridge.sync.plan import Action, Plan
    from itsm_bridge.sync.summary import RunSummary


def __getattr__(name: str) -> object:
    """Import a public name from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'itsm_bridge' has no attribute {name!r}")
    value = getattr(import_module(module), _RENAMED.get(name, name))
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
