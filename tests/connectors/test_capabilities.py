"""Each connector offers the engine exactly the capabilities its vendor allows, as protocols."""

from __future__ import annotations

import pytest

from itsm_bridge.config import load
from itsm_bridge.connectors import build
from itsm_bridge.connectors.base import (
    Connector,
    CreatesInBulk,
    FetchesInBulk,
    GetsMany,
    LearnsFacts,
    LooksUpNotes,
    NeedsPreflight,
    Publisher,
    SearchLags,
    TakesStateHints,
)

CAPABILITIES = (
    CreatesInBulk,
    FetchesInBulk,
    GetsMany,
    LooksUpNotes,
    LearnsFacts,
    TakesStateHints,
    NeedsPreflight,
    SearchLags,
    Publisher,
)
EXPECTED = {
    "servicenow": {GetsMany, LooksUpNotes, LearnsFacts},
    "jira": {CreatesInBulk, FetchesInBulk, GetsMany, LooksUpNotes, LearnsFacts, TakesStateHints, SearchLags},
    "statuspage": {Publisher},
    "cachet": {Publisher, NeedsPreflight},
}


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "ITSM_SANDBOX_SNOW_PASSWORD",
        "ITSM_SANDBOX_JIRA_TOKEN",
        "ITSM_SANDBOX_STATUSPAGE_KEY",
        "CACHET_TOKEN",
    ):
        monkeypatch.setenv(name, "not-used")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_connector_offers_exactly_its_capabilities(name: str, secrets: None) -> None:
    cfg = load("config.example.toml")
    platform = "statuspage" if name == "cachet" else name
    if name == "cachet":
        page = cfg.settings.statuspage.model_copy(
            update={"provider": "cachet", "token_env": "CACHET_TOKEN", "api_key_env": None}
        )
        cfg = type(cfg)(cfg.settings.model_copy(update={"statuspage": page}), cfg.path)
    connector = build(platform, cfg)
    assert isinstance(connector, Connector)
    assert {c for c in CAPABILITIES if isinstance(connector, c)} == EXPECTED[name]
