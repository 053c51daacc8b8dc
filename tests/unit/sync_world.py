"""A sync world in memory: a config, a SQLite store, and fake ServiceNow and Jira connectors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from itsm_bridge import config as config_module
from itsm_bridge.config import Config
from itsm_bridge.model import Incident
from itsm_bridge.store import open_store
from itsm_bridge.store.base import StateStore
from itsm_bridge.sync.engine import Engine
from itsm_bridge.testing import FakeConnector, FakeMapper, FakePage, incident_fields

CONFIG = """
[servicenow]
url = "https://acme.service-now.com"
user = "bridge"
password_env = "SNOW_PASSWORD"
overlap_s = 0

[jira]
url = "https://acme.atlassian.net"
email = "bridge@acme.example"
token_env = "JIRA_TOKEN"
project = "OPS"
overlap_s = 0
search_lag_s = 0

[sync]
targets = ["jira"]
"""

PAGE = """
[statuspage]
url = "https://api.statuspage.io"
page_id = "page1"
api_key_env = "STATUSPAGE_KEY"

[publish]
priorities = ["P1"]

[taxonomy.services.Email]
servicenow = "Email"
jira = "Email"
statuspage = "Email"
"""

WRITES = ("put_shadow", "put_cursor", "put_facts", "forget_facts", "link", "unlink", "append", "quarantine", "release")


class Clock:
    """A clock that moves a second each time it is read (records change in a clear order)."""

    def __init__(self) -> None:
        self.at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.at += timedelta(seconds=1)
        return self.at


class ReadOnly:
    """A store that refuses every write: proves a step writes nothing."""

    def __init__(self, store: StateStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        if name in WRITES:
            raise AssertionError(f"store.{name} called where nothing may be written")
        return getattr(self._store, name)


@dataclass
class World:
    config: Config
    store: StateStore
    snow: FakeConnector
    jira: FakeConnector
    clock: Clock
    page: FakePage | None = None

    @property
    def connectors(self) -> dict[str, FakeConnector]:
        pages = {"statuspage": self.page} if self.page is not None else {}
        return {"servicenow": self.snow, "jira": self.jira, **pages}

    def engine(self, store: Any = None) -> Engine:
        mappers: dict[str, Any] = {p: FakeMapper(p) for p in self.connectors}
        return Engine(self.config, store or self.store, dict(self.connectors), mappers=mappers, now=self.clock)

    def incident(self, key: str, **values: Any) -> str:
        """A new incident on the source; returns its record id."""
        fields = incident_fields(Incident(key, title=values.pop("title", f"{key} is down"), **values))
        return self.snow.add(fields, key=key).id

    def journal(self, key: str) -> list[tuple[str, str | None, str | None]]:
        return [(e.kind, e.platform, e.action) for e in self.store.journal(key=key)]

    def state(self) -> dict[str, Any]:
        """Everything the store holds, to compare before and after."""
        return {
            "journal": len(list(self.store.journal())),
            "links": list(self.store.all_links()),
            "shadows": list(self.store.all_shadows()),
            "quarantine": self.store.quarantined(),
            "cursors": [self.store.cursor(p) for p in ("servicenow", "jira")],
        }


def make_world(tmp_path: Path, *, page: bool = False) -> World:
    """Fake ServiceNow (the source) and Jira; with `page`, a fake status page publishing P1s."""
    clock = Clock()
    file = tmp_path / "config.toml"
    text = CONFIG.replace('targets = ["jira"]', 'targets = ["jira", "statuspage"]') + PAGE if page else CONFIG
    file.write_text(text, encoding="utf-8")
    cfg = config_module.load(file)
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    snow, jira = FakeConnector("servicenow", clock=clock), FakeConnector("jira", clock=clock)
    return World(cfg, store, snow, jira, clock, FakePage(clock=clock) if page else None)
