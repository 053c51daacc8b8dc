"""`itsm-bridge sandbox --write-config FILE`: a complete config for a running sandbox.

Flows ServiceNow -> Jira and the status page, the taxonomy of the seeded data, and secrets
referenced by the environment variable names the sandbox prints under "env".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from itsm_bridge.config_view import render_toml
from itsm_bridge.sandbox.vocabulary import taxonomy_config

HEADER = """\
# itsm-bridge config for a local sandbox, written by `itsm-bridge sandbox --write-config`.
# Secrets come from the environment variables the sandbox printed under "env".
"""


def sandbox_config(info: dict[str, Any], state_path: Path, provider: str = "statuspage") -> dict[str, Any]:
    """Plain data of a config that works against the sandbox described by `info`."""
    creds = info["credentials"]
    if provider == "cachet":
        statuspage: dict[str, Any] = {
            "provider": "cachet",
            "url": info["cachet"],
            "token_env": "ITSM_SANDBOX_CACHET_TOKEN",
        }
        if info.get("cachet_timezone", "UTC") != "UTC":
            statuspage["timezone"] = info["cachet_timezone"]
    else:
        statuspage = {
            "provider": "statuspage",
            "url": info["statuspage"],
            "page_id": info["statuspage_page_id"],
            "api_key_env": "ITSM_SANDBOX_STATUSPAGE_KEY",
        }
    statuspage.update({"requests_per_second": 1.0, "min_update_interval_s": 0.0})
    return {
        "servicenow": {
            "url": info["servicenow"],
            "user": creds["servicenow"]["user"],
            "password_env": "ITSM_SANDBOX_SNOW_PASSWORD",
            "page_size": 1000,
        },
        "jira": {
            "url": info["jira"],
            "email": creds["jira"]["email"],
            "token_env": "ITSM_SANDBOX_JIRA_TOKEN",
            "project": "OPS",
            "issue_type": "[System] Incident",
            "category_field": "customfield_10050",
            "service_field": "customfield_10051",
            "group_field": "customfield_10052",
            "search_lag_s": 10.0,
        },
        "statuspage": statuspage,
        "state": {"url": f"sqlite:///{state_path}"},
        "sync": {"source": "servicenow", "targets": ["jira", "statuspage"]},
        "mapping": {"servicenow": {"unmapped": "block"}, "jira": {"unmapped": "default"}},
        "taxonomy": taxonomy_config(),
    }


def write_config(info: dict[str, Any], path: Path, provider: str = "statuspage") -> Path:
    path = path.resolve()
    data = with_serve(info, sandbox_config(info, path.with_name(path.stem + ".sqlite"), provider))
    path.write_text(HEADER + "\n" + render_toml(data), encoding="utf-8")
    return path


def with_serve(info: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """With a sandbox sending webhooks, `config` plus the [serve] settings that verify them (both
    vendors sign with the one secret, read from the variable the sandbox was given)."""
    secret_env = (info.get("webhooks") or {}).get("secret_env")
    if secret_env:
        config["serve"] = {"jira_webhook_secret_env": secret_env, "servicenow_webhook_secret_env": secret_env}
    return config
