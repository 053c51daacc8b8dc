"""`config show`: the effective config as plain data, with secrets reduced to set / not set."""

from __future__ import annotations

import json
import os
from typing import Any

from itsm_bridge.config import Config


def effective_config(config: Config) -> dict[str, Any]:
    data = config.settings.model_dump(mode="json", exclude_none=True)
    _mask(data)
    data["state"]["url"] = _hide_url_password(config.state_url)
    return data


def _mask(node: Any) -> None:
    """Next to each `*_env` key, say whether that variable is set; the value is never read out."""
    if isinstance(node, dict):
        for key in list(node):
            value = node[key]
            if key.endswith("_env") and isinstance(value, str):
                node[key[: -len("_env")] + "_status"] = "set" if os.environ.get(value) else "not set"
            else:
                _mask(value)
    elif isinstance(node, list):
        for item in node:
            _mask(item)


def _hide_url_password(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.split("@", 1)
    return f"{scheme}://{creds.split(':')[0]}@{host}"


def render_toml(data: dict[str, Any]) -> str:
    """A readable TOML rendering of nested plain data."""
    lines: list[str] = []
    _render_table(data, [], lines)
    return "\n".join(lines).strip() + "\n"


def _render_table(table: dict[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict) and not _is_table_list(v)}
    if path and (scalars or not table):
        lines.append(f"\n[{'.'.join(_key(p) for p in path)}]")
    for k, v in scalars.items():
        lines.append(f"{_key(k)} = {json.dumps(v, ensure_ascii=False)}")
    for k, v in table.items():
        if isinstance(v, dict):
            _render_table(v, [*path, k], lines)
        elif _is_table_list(v):
            for item in v:
                lines.append(f"\n[[{'.'.join(_key(p) for p in [*path, k])}]]")
                for ik, iv in item.items():
                    lines.append(f"{_key(ik)} = {json.dumps(iv, ensure_ascii=False)}")


def _is_table_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(i, dict) for i in v)


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else json.dumps(k, ensure_ascii=False)
