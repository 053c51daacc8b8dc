"""Connector tests: exact request shapes (`responses`) and the shared conformance suite (sandbox)."""

from __future__ import annotations

from pathlib import Path

from itsm_bridge import config as config_mod
from itsm_bridge.config import Config

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def snow_config(url: str, auth: str = "basic", **settings: object) -> Config:
    """The example config with its [servicenow] table replaced: `url`, one auth kind, extra settings."""
    text = EXAMPLE.read_text(encoding="utf-8")
    head, rest = text.split("[servicenow]", 1)
    rest = rest[rest.index("\n[jira]") :]
    lines = [f'url = "{url}"']
    if auth == "basic":
        lines += ['user = "itsm.bridge"', 'password_env = "SNOW_TEST_PASSWORD"']
    elif auth == "token":
        lines += ['token_env = "SNOW_TEST_TOKEN"']
    else:
        lines += ['client_id_env = "SNOW_TEST_CLIENT_ID"', 'client_secret_env = "SNOW_TEST_CLIENT_SECRET"']
    for key, value in settings.items():
        lines.append(f"{key} = {value!r}".replace("'", '"'))
    return config_mod.parse(head + "[servicenow]\n" + "\n".join(lines) + "\n" + rest)
